// SPDX-License-Identifier: GPL-3.0-or-later
// lethed on a folder of photos: stills give their hits, huge or corrupt files are skipped by name.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <regex>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support/byte_scan.h"
#include "support/lethed_fixture.h"
#include "support/mosquitto_fixture.h"
#include "support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;
using Device = lethe::test::LethedDevice;
using Lethed = lethe::test::LethedProcess;

// us-front.jpg reads 7ABC123 (on the hot list); the other two photos are non-hits.
const std::string kListed = "7ABC123";
const std::vector<std::string> kNonHits = {"KLM4829", "PAG5219"};

/// A folder of photos copied from the bundled samples.
fs::path photos(const fs::path &dir, const std::vector<std::string> &samples)
{
	fs::create_directories(dir);
	for (const auto &s : samples)
		fs::copy_file(lethe::test::sample_image(s), dir / s);
	return dir;
}

/// The hit events received on the test topic, parsed.
std::vector<json> hits(const lethe::test::MqttSubscriber &sub)
{
	std::vector<json> out;
	for (const auto &m : sub.messages())
		if (m.topic == lethe::test::kLethedTopic)
			out.push_back(json::parse(m.payload, nullptr, false));
	return out;
}

/// No non-hit plate in anything published, in the log or under the state directory.
void expect_no_nonhit_trace(const lethe::test::MqttSubscriber &sub, const Device &d,
			    const std::string &log)
{
	lethe::test::ByteScanner scanner;
	for (std::size_t i = 0; i < kNonHits.size(); ++i) {
		scanner.add_text(kNonHits[i], static_cast<int>(i));
		EXPECT_EQ(log.find(kNonHits[i]), std::string::npos) << kNonHits[i] << " in the log";
		for (const auto &m : sub.messages())
			EXPECT_EQ(m.payload.find(kNonHits[i]), std::string::npos) << m.topic;
	}
	const auto found = scanner.scan_tree(d.state);
	EXPECT_TRUE(found.empty()) << kNonHits[static_cast<std::size_t>(found.front().id)] << " in "
				   << found.front().file;
}

TEST(LethedStills, FolderOfThreePhotosGivesTheListedHit)
{
	lethe::test::MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	lethe::test::MqttSubscriber sub(broker, "lethe/#");
	ASSERT_TRUE(sub.connected());

	Device d(broker);
	d.install_hotlist({kListed}, 1);
	const auto folder = photos(d.dir / "photos", {"us-angle.jpg", "us-front.jpg", "br-front.jpg"});
	d.write_config(broker, folder, "stills = true\nlocation = \"North gate, lane 2\"\n");

	Lethed lethed(d, true);
	ASSERT_EQ(lethed.wait(240s), 0) << lethe::test::read_file(d.log);
	const std::string log = lethe::test::read_file(d.log);
	ASSERT_TRUE(lethe::test::wait_until([&] { return !hits(sub).empty(); }, 10s)) << log;
	const auto got = hits(sub);
	ASSERT_EQ(got.size(), 1u) << log;
	const json &e = got.front();
	ASSERT_FALSE(e.is_discarded());
	EXPECT_EQ(e.value("plate", ""), kListed);
	EXPECT_EQ(e.value("camera_id", ""), "cam-a");
	// region: the reader's configured plate syntax; a free-text location as written.
	EXPECT_EQ(e.value("region", "?"), "us");
	EXPECT_EQ(e.value("location_text", ""), "North gate, lane 2");
	EXPECT_FALSE(e.contains("location"));
	EXPECT_EQ(log.find("set stills = true"), std::string::npos) << log;
	expect_no_nonhit_trace(sub, d, log);
}

TEST(LethedStills, PhotosWithoutStillsSayWhyThereIsNoEvent)
{
	// The same folder read as video frames: nothing is an event (each plate is in one
	// image), and the log says what to set instead of staying silent.
	lethe::test::MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	Device d(broker);
	d.install_hotlist({kListed}, 1);
	const auto folder = photos(d.dir / "photos", {"us-angle.jpg", "us-front.jpg", "br-front.jpg"});
	d.write_config(broker, folder);
	Lethed lethed(d, true);
	ASSERT_EQ(lethed.wait(240s), 0) << lethe::test::read_file(d.log);
	const std::string log = lethe::test::read_file(d.log);
	EXPECT_NE(log.find("cam-a: a plate seen in fewer than 2 frames (tracker.min_frames) gave no "
			   "event; if this replay is a directory of photos, set stills = true"),
		  std::string::npos)
		<< log;
}

TEST(LethedStills, HugeAndCorruptImagesAreSkippedByNameInBoundedMemory)
{
	lethe::test::MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	lethe::test::MqttSubscriber sub(broker, lethe::test::kLethedTopic);
	ASSERT_TRUE(sub.connected());

	Device d(broker);
	d.install_hotlist({kListed}, 1);
	const auto folder = photos(d.dir / "photos", {"us-front.jpg", "us-angle.jpg"});
	{
		// A real, decodable 20000 x 20000 PNG (1.2 GB as BGR, a few hundred kB on disk).
		std::vector<std::uint8_t> png;
		ASSERT_TRUE(cv::imencode(".png", cv::Mat::zeros(20000, 20000, CV_8UC1), png,
					 {cv::IMWRITE_PNG_COMPRESSION, 9}));
		ASSERT_LT(png.size(), 4u << 20);
		lethe::test::write_file(folder / "big.png", std::string(png.begin(), png.end()));
		// A JPEG cut in half.
		const std::string jpeg = lethe::test::read_file(folder / "us-angle.jpg");
		lethe::test::write_file(folder / "cut.jpg", jpeg.substr(0, jpeg.size() / 2));
	}
	d.write_config(broker, folder, "stills = true\n");

	// Under ASan (the debug preset) freed memory is held in a quarantine (256 MB by default)
	// that would count as lethed's own; keep it small so that the figure means what it does
	// in a release build. (Without ASan the variable is ignored.)
	const char *asan = std::getenv("ASAN_OPTIONS");
	Lethed lethed(d, true,
		      {{"ASAN_OPTIONS", std::string(asan ? asan : "") +
					       (asan && *asan ? ":" : "") +
					       "quarantine_size_mb=16:thread_local_quarantine_size_kb=256"}});
	ASSERT_EQ(lethed.wait(240s), 0) << lethe::test::read_file(d.log);
	const std::string log = lethe::test::read_file(d.log);
	// lethed's own peak RSS, as it reports it when it is done (VmHWM: since its exec, so not
	// the pages of the test process that forked it).
	std::smatch m;
	ASSERT_TRUE(std::regex_search(log, m, std::regex("lethed: peak memory: ([0-9]+) MB\n")))
		<< log;
	const long peak_mb = std::stol(m[1]);

	EXPECT_NE(log.find("cam-a: skipped big.png: image too large: 20000x20000"), std::string::npos)
		<< log;
	EXPECT_NE(log.find("cam-a: skipped cut.jpg: truncated or corrupt JPEG data"),
		  std::string::npos)
		<< log;
	// The other images were read: the listed one gives its hit.
	ASSERT_TRUE(lethe::test::wait_until([&] { return !hits(sub).empty(); }, 10s)) << log;
	EXPECT_EQ(hits(sub).front().value("plate", ""), kListed);
	// Decoding big.png would take lethed past 1.2 GB. With ASan (the debug preset) lethed's
	// own baseline is higher than on a release build; 400 MB holds either way.
	EXPECT_LT(peak_mb, 400) << "lethed peak RSS " << peak_mb << " MB";
	RecordProperty("lethed_peak_rss_mb", std::to_string(peak_mb));
	std::printf("lethed peak RSS: %ld MB\n", peak_mb);
}

} // namespace
