// SPDX-License-Identifier: GPL-3.0-or-later
// lethed's memory after a purge holds none of the run's non-hit plates (issue 15.4).
#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "lethe/common/memory_wipe.h"
#include "support/byte_scan.h"
#include "support/lethed_fixture.h"
#include "support/mosquitto_fixture.h"
#include "support/process_memory.h"
#include "support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;
using Device = lethe::test::LethedDevice;
using Lethed = lethe::test::LethedProcess;
using lethe::test::read_file;
using lethe::test::wait_until;

const std::string kCli = LETHE_CLI_PATH;
// us-front.jpg reads 7ABC123 (listed); us-angle.jpg and br-front.jpg are non-hits.
const std::string kListed = "7ABC123";

/// Every text (best reads and candidates, 5 characters or more) that the reader finds in
/// these sample images, as `lethe read` prints them: what lethed will have read, and more.
std::vector<std::string> texts_read_in(const std::vector<std::string> &samples)
{
	std::set<std::string> texts;
	for (const auto &s : samples) {
		const auto r = lethe::test::run_command(kCli + " read --json " +
		                                        lethe::test::sample_image(s).string());
		EXPECT_EQ(r.status, 0) << r.output;
		std::istringstream lines(r.output);
		std::string line;
		while (std::getline(lines, line)) {
			const json j = json::parse(line, nullptr, false);
			if (j.is_discarded() || !j.contains("plates"))
				continue;
			for (const auto &p : j["plates"]) {
				texts.insert(p.value("text", ""));
				for (const auto &c : p["candidates"])
					texts.insert(c.value("text", ""));
			}
		}
	}
	std::vector<std::string> out;
	for (const auto &t : texts)
		if (t.size() >= 5 && kListed.find(t) == std::string::npos &&
		    t.find(kListed) == std::string::npos)
			out.push_back(t);
	return out;
}

/// Rows in the retention database's non-hit digest table (-1 if it cannot be read).
long nonhit_rows(const Device &d)
{
	sqlite3 *db = nullptr;
	long rows = -1;
	const std::string path = (d.state / "retention.db").string();
	if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
		sqlite3_busy_timeout(db, 2000);
		sqlite3_stmt *st = nullptr;
		if (sqlite3_prepare_v2(db, "SELECT count(*) FROM nonhit_digest", -1, &st,
		                       nullptr) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			rows = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return rows;
}

// Wrong before (issue 15.4): a core of lethed taken after the purge held 7 non-hit plates,
// several copies each. Now freed memory is wiped (memory_wipe.h), pooled frames are blanked
// and the threads that read plates wipe their stacks: after the purge, the process itself
// has forgotten them too. The listed plate is the control: lethed keeps its hot list in
// memory, so the scan must find that one (a scan that finds nothing proves nothing).
TEST(LethedMemory, AfterThePurgeNoNonHitPlateIsInLethedsMemory)
{
	lethe::test::MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	std::string retention = lethe::test::kLethedTestRetention;
	retention.replace(retention.find("nonhit_digest = \"1h\""), 20, "nonhit_digest = \"2s\"");
	Device d(broker, retention);
	d.install_hotlist({kListed}, 1);
	const auto replay = lethe::test::make_replay(
	    d.dir / "replay", {"us-angle.jpg", "us-front.jpg", "br-front.jpg"}, 3, 3);
	d.write_config(broker, replay);
	Lethed lethed(d, false);
	ASSERT_TRUE(wait_until([&] { return fs::exists(d.control_socket()); }, 120s))
	    << read_file(d.log);

	// Every frame read, every vehicle's event decided (two non-hits digested, one hit).
	ASSERT_TRUE(wait_until(
	    [&] {
		    int st = -1;
		    const json s = lethe::test::control(d, "status", &st);
		    return s.contains("pipeline") && s["pipeline"].value("finished", false) &&
		           s.value("nonhits", 0) >= 2 && s.value("hits", 0) >= 1;
	    },
	    240s))
	    << read_file(d.log);
	// What lethed says about it is true: images were wiped, and something wipes freed blocks.
	const json status = lethe::test::control(d, "status");
	ASSERT_TRUE(status.contains("memory_wipe")) << status.dump();
	EXPECT_GT(status["memory_wipe"].value("image_bytes_wiped", 0ULL), 0ULL) << status.dump();
	EXPECT_NE(status["memory_wipe"].value("freed_blocks", "none"), "none") << status.dump();
	// The digests live 2 s; the purge runs every 250 ms.
	ASSERT_TRUE(wait_until([&] { return nonhit_rows(d) == 0; }, 60s)) << read_file(d.log);

	const auto nonhits = texts_read_in({"us-angle.jpg", "br-front.jpg"});
	ASSERT_GE(nonhits.size(), 2U) << "the two non-hit photos read as plates";
	lethe::test::ByteScanner scanner;
	for (std::size_t i = 0; i < nonhits.size(); ++i)
		scanner.add_text(nonhits[i], static_cast<int>(i));
	const int control_id = 100;
	scanner.add_text(kListed, control_id);
	// Everything a core would hold, and the frame-sized mappings kept out of dumps (root
	// could read those live); not ASan's shadow, terabytes of reserved address space.
	const auto scan = lethe::test::scan_process_memory(lethed.pid(), scanner, 64u << 20);
	ASSERT_TRUE(scan.error.empty()) << scan.error;
	std::size_t control_found = 0;
	for (const auto &f : scan.found) {
		if (f.id == control_id) {
			++control_found;
			continue;
		}
		ADD_FAILURE() << "non-hit " << nonhits[static_cast<std::size_t>(f.id)] << " ("
		              << f.encoding << ") in " << f.file << " +" << f.offset;
	}
	EXPECT_GT(control_found, 0U) << "the listed plate is in memory: the scan reads it";
	std::printf("scanned %zu mappings, %zu MB (%zu huge MADV_DONTDUMP ones skipped), for %zu "
	            "non-hit texts; listed plate found %zu time(s)\n",
	            scan.mappings, scan.bytes >> 20, scan.dont_dump, nonhits.size(), control_found);

	lethed.signal(SIGTERM);
	EXPECT_EQ(lethed.wait(60s), 0) << read_file(d.log);
}

// The wiping allocators in this process: a released matrix is zeroed and counted; a freed
// C++ block is zeroed (release builds: under a sanitizer its allocator owns delete).
TEST(MemoryWipe, ReleasedMatricesAreWipedAndLargeOnesKeptOutOfDumps)
{
	lethe::memory::install_wiping_allocators();
	const std::size_t before = lethe::memory::mat_bytes_wiped();
	{
		cv::Mat big(1080, 1920, CV_8UC3, cv::Scalar::all(0x5A)); // 6 MB: its own mapping
		cv::Mat small(30, 100, CV_8UC3, cv::Scalar::all(0x5A));
		// The big one is out of dumps: its mapping carries the dd flag.
		const auto addr = reinterpret_cast<std::uintptr_t>(big.data);
		bool dd = false;
		std::ifstream smaps("/proc/self/smaps");
		std::string line;
		bool inside = false;
		while (std::getline(smaps, line)) {
			unsigned long lo = 0, hi = 0;
			if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 &&
			    line.find(' ') > line.find('-')) {
				inside = addr >= lo && addr < hi;
				continue;
			}
			if (inside && line.rfind("VmFlags:", 0) == 0)
				dd = line.find(" dd") != std::string::npos;
		}
		EXPECT_TRUE(dd) << "a frame-sized matrix is mapped MADV_DONTDUMP";
	}
	EXPECT_GE(lethe::memory::mat_bytes_wiped() - before, 1080u * 1920 * 3 + 30 * 100 * 3);
	lethe::memory::wipe_stack(); // must not crash at its default depth
}

} // namespace
