// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe read`: the JSON-lines contract, input order, threads, and per-file errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace lethe::test {
namespace {

const std::string kCli = LETHE_CLI_PATH;
const std::string kSamples = std::string(LETHE_TEST_DATA_DIR) + "/samples";

std::vector<nlohmann::json> lines(const std::string &out)
{
	std::vector<nlohmann::json> v;
	std::istringstream in(out);
	std::string l;
	while (std::getline(in, l))
		if (!l.empty())
			v.push_back(nlohmann::json::parse(l));
	return v;
}

/// Words joined by spaces (a shell command line).
std::string join(std::initializer_list<std::string> words)
{
	std::string s;
	for (const auto &w : words) {
		if (!s.empty())
			s += ' ';
		s += w;
	}
	return s;
}

std::string q(const std::filesystem::path &p)
{
	std::string s = "'";
	s += p.string();
	s += '\'';
	return s;
}

void check_plate(const nlohmann::json &p)
{
	ASSERT_TRUE(p.at("text").is_string());
	const std::string t = p.at("text");
	EXPECT_GE(t.size(), 5U);
	for (char c : t)
		EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) << t;
	const double conf = p.at("confidence");
	EXPECT_GE(conf, 0.0);
	EXPECT_LE(conf, 1.0);
	const auto &box = p.at("box");
	ASSERT_TRUE(box.is_array());
	ASSERT_EQ(box.size(), 4U);
	for (const auto &v : box)
		EXPECT_TRUE(v.is_number_integer());
	EXPECT_GT(box[2].get<int>(), 0);
	EXPECT_GT(box[3].get<int>(), 0);
	const auto &cands = p.at("candidates");
	ASSERT_TRUE(cands.is_array());
	ASSERT_FALSE(cands.empty());
	EXPECT_EQ(cands[0].at("text"), p.at("text"));
	double prev = 2.0;
	for (const auto &c : cands) {
		const double cc = c.at("confidence");
		EXPECT_LE(cc, prev);
		prev = cc;
	}
}

TEST(ReadCli, HelpDescribesOptions)
{
	auto r = run_command(join({kCli, "read", "--help"}));
	EXPECT_EQ(r.status, 0);
	for (const char *opt : {"--region", "--top", "--threads", "--json", "--detector",
				"--detector-model", "--detector-threshold", "--ocr-model",
				"--calibration"})
		EXPECT_NE(r.output.find(opt), std::string::npos) << opt;
}

TEST(ReadCli, UsageErrors)
{
	EXPECT_EQ(run_command(join({kCli, "read"}), true).status, 2);
	EXPECT_EQ(run_command(join({kCli, "read", "--region", "xx", q(kSamples)}), true).status, 2);
	EXPECT_EQ(run_command(join({kCli, "read", "--top", "0", q(kSamples)}), true).status, 2);
	EXPECT_EQ(run_command(join({kCli, "read", "--detector", "xx", q(kSamples)}), true).status, 2);
	EXPECT_EQ(run_command(join({kCli, "read", "--detector-threshold", "1.5", q(kSamples)}), true)
			  .status,
		  2);
}

TEST(ReadCli, DetectorChoice)
{
	// The trained detector reads the samples too; a missing model is a clear failure.
	auto r = run_command(join({kCli, "read", "--json", "--detector", "dnn", "--region", "us",
				   q(kSamples + "/us-front.jpg")}));
	ASSERT_EQ(r.status, 0) << r.output;
	const auto v = lines(r.output);
	ASSERT_EQ(v.size(), 1U);
	ASSERT_EQ(v[0].at("plates").size(), 1U) << r.output;
	EXPECT_EQ(v[0].at("plates")[0].at("text"), "7ABC123");
	// The threshold reaches the CNN: no heat peak reaches 1.0, so nothing is proposed.
	auto strict = run_command(join({kCli, "read", "--json", "--detector", "dnn", "--region", "us",
					"--detector-threshold", "1", q(kSamples + "/us-front.jpg")}));
	ASSERT_EQ(strict.status, 0) << strict.output;
	const auto sv = lines(strict.output);
	ASSERT_EQ(sv.size(), 1U);
	EXPECT_EQ(sv[0].at("plates").size(), 0U) << strict.output;
	TempDir dir;
	auto bad = run_command(join({kCli, "read", "--detector", "both", "--detector-model",
				     q(dir / "missing.onnx"), q(kSamples)}),
			       true);
	EXPECT_EQ(bad.status, 1);
	EXPECT_NE(bad.output.find("missing.onnx"), std::string::npos) << bad.output;
}

/// Debian's eng model (package tesseract-ocr-eng), which the reader uses by default.
std::filesystem::path eng_model()
{
	for (const char *d : {"/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
			      "/usr/share/tessdata"})
		if (std::filesystem::exists(std::filesystem::path(d) / "eng.traineddata"))
			return std::filesystem::path(d) / "eng.traineddata";
	return {};
}

TEST(ReadCli, OcrModelChoice)
{
	// A model by path or by name (in --tessdata) under any file name loads and reads: a
	// copy of eng reads the sample as the default does.
	const auto eng = eng_model();
	ASSERT_FALSE(eng.empty()) << "tesseract-ocr-eng is not installed";
	TempDir dir;
	std::filesystem::copy_file(eng, dir / "plates-copy.traineddata");
	const std::string sample = q(kSamples + "/us-front.jpg");
	for (const auto &args : {join({"--ocr-model", q(dir / "plates-copy.traineddata")}),
				 join({"--ocr-model", "plates-copy", "--tessdata", q(dir.path())})}) {
		auto r = run_command(join({kCli, "read", "--json", "--region", "us", args, sample}));
		ASSERT_EQ(r.status, 0) << args << "\n" << r.output;
		const auto v = lines(r.output);
		ASSERT_EQ(v.size(), 1U);
		ASSERT_GE(v[0].at("plates").size(), 1U) << r.output;
		EXPECT_EQ(v[0].at("plates")[0].at("text"), "7ABC123") << args;
	}
	// Missing, corrupt, truncated, a bad name: clear errors before any file is read (exit 1).
	{
		std::ofstream junk(dir / "junk.traineddata", std::ios::binary);
		junk << std::string(4096, 'x');
		std::ifstream in(eng, std::ios::binary);
		std::string head(20000, '\0');
		in.read(head.data(), static_cast<std::streamsize>(head.size()));
		std::ofstream cut(dir / "cut.traineddata", std::ios::binary);
		cut.write(head.data(), in.gcount());
	}
	const std::pair<std::string, std::string> bad[] = {
		{q(dir / "missing.traineddata"), "no OCR model file"},
		{"no-such-model", "no OCR model no-such-model.traineddata"},
		{q(dir / "junk.traineddata"), "failed to load OCR model junk"},
		{q(dir / "cut.traineddata"), "failed to load OCR model cut"},
		{"'eng+osd'", "bad OCR model name"},
		{q(dir / "plates.onnx"), "does not end in .traineddata"},
	};
	for (const auto &[arg, message] : bad) {
		auto r = run_command(join({kCli, "read", "--ocr-model", arg, sample}), true);
		EXPECT_EQ(r.status, 1) << arg << "\n" << r.output;
		EXPECT_NE(r.output.find(message), std::string::npos) << arg << "\n" << r.output;
		EXPECT_EQ(r.output.find("us-front"), std::string::npos) << r.output; // nothing read
	}
}

TEST(ReadCli, CalibrationFileNoneOrShipped)
{
	// A given map is applied to every reported confidence; none reports the raw scores; a
	// malformed file is an error naming its line before any image is read.
	TempDir dir;
	write_file(dir / "half.tsv", "# test\nraw\tcalibrated\n0\t0\n1\t0.5\n");
	write_file(dir / "bad.tsv", "raw\tcalibrated\n0.5\t0\n0.2\t0.1\n");
	const std::string img = q(kSamples + "/us-front.jpg");
	auto raw = run_command(join({kCli, "read", "--json", "--calibration", "none", img}));
	auto half = run_command(join({kCli, "read", "--json", "--calibration", q(dir / "half.tsv"), img}));
	auto shipped = run_command(join({kCli, "read", "--json", img}));
	ASSERT_EQ(raw.status, 0) << raw.output;
	ASSERT_EQ(half.status, 0) << half.output;
	ASSERT_EQ(shipped.status, 0) << shipped.output;
	const auto r = lines(raw.output), h = lines(half.output), s = lines(shipped.output);
	ASSERT_EQ(r.size(), 1U);
	ASSERT_EQ(h.size(), 1U);
	ASSERT_EQ(s.size(), 1U);
	ASSERT_FALSE(r[0].at("plates").empty()) << raw.output;
	ASSERT_EQ(h[0].at("plates").size(), r[0].at("plates").size());
	ASSERT_EQ(s[0].at("plates").size(), r[0].at("plates").size());
	const auto &rp = r[0].at("plates")[0], &hp = h[0].at("plates")[0], &sp = s[0].at("plates")[0];
	EXPECT_EQ(hp.at("text"), rp.at("text"));
	EXPECT_NEAR(hp.at("confidence").get<double>(), rp.at("confidence").get<double>() / 2, 0.0015);
	for (std::size_t i = 0; i < hp.at("candidates").size(); ++i)
		EXPECT_NEAR(hp.at("candidates")[i].at("confidence").get<double>(),
			    rp.at("candidates")[i].at("confidence").get<double>() / 2, 0.0015);
	// The default is the shipped map for eng, not the raw score.
	EXPECT_EQ(sp.at("text"), rp.at("text"));
	EXPECT_NE(sp.at("confidence").get<double>(), rp.at("confidence").get<double>()) << shipped.output;

	auto bad = run_command(join({kCli, "read", "--calibration", q(dir / "bad.tsv"), img}), true);
	EXPECT_EQ(bad.status, 1);
	EXPECT_NE(bad.output.find("bad.tsv:3: raw: must be greater"), std::string::npos) << bad.output;
	auto missing = run_command(join({kCli, "read", "--calibration", q(dir / "no.tsv"), img}), true);
	EXPECT_EQ(missing.status, 1);
	EXPECT_NE(missing.output.find("no.tsv: no such calibration file"), std::string::npos)
		<< missing.output;
}

TEST(ReadCli, JsonLinesOnTheSamples)
{
	auto r = run_command(join({kCli, "read", "--json", "--top", "3", q(kSamples)}));
	ASSERT_EQ(r.status, 0) << r.output;
	const auto v = lines(r.output);
	ASSERT_EQ(v.size(), 6U);
	std::vector<std::string> files;
	int plates = 0;
	for (const auto &j : v) {
		ASSERT_TRUE(j.at("file").is_string());
		ASSERT_TRUE(j.at("ms").is_number());
		EXPECT_GT(j.at("ms").get<double>(), 0.0);
		EXPECT_FALSE(j.contains("error"));
		ASSERT_TRUE(j.at("plates").is_array());
		for (const auto &p : j.at("plates")) {
			check_plate(p);
			EXPECT_LE(p.at("candidates").size(), 3U);
			++plates;
		}
		files.push_back(j.at("file"));
	}
	EXPECT_GE(plates, 4);
	EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));
}

TEST(ReadCli, JsonFiguresWithoutFloatNoiseAndASummaryOnStderr)
{
	TempDir dir;
	const auto err = dir / "stderr.txt";
	auto r = run_command(join({kCli, "read", "--json", "--top", "3", q(kSamples),
				   "/nonexistent.jpg", "2>" + q(err)}));
	EXPECT_EQ(r.status, 1) << r.output;
	// The numbers as printed (parsing would hide it: 70.96000000000001 reads back as 70.96):
	// ms with at most 2 decimals, confidences with at most 3, no exponent.
	const std::regex figure(R"re("(ms|confidence)":(-?[0-9]+(\.([0-9]+))?([eE][-+]?[0-9]+)?))re");
	std::size_t ms_figures = 0;
	for (auto it = std::sregex_iterator(r.output.begin(), r.output.end(), figure);
	     it != std::sregex_iterator(); ++it) {
		const auto &m = *it;
		EXPECT_LE(m[4].length(), m[1] == "ms" ? 2 : 3) << m[0];
		EXPECT_FALSE(m[5].matched) << m[0];
		ms_figures += m[1] == "ms";
	}
	EXPECT_EQ(ms_figures, 7U) << r.output;

	// The last line on stderr sums up: images read, plates found, failures, time. No plate.
	std::size_t plates = 0;
	std::vector<std::string> texts;
	for (const auto &j : lines(r.output))
		for (const auto &p : j.value("plates", nlohmann::json::array())) {
			++plates;
			texts.push_back(p.at("text"));
		}
	const std::string summary = read_file(err);
	const std::regex line(R"(lethe read: 6 image\(s\) read, ([0-9]+) plate\(s\) found, 1 failed, [0-9]+\.[0-9]{2} s\n$)");
	std::smatch m;
	ASSERT_TRUE(std::regex_search(summary, m, line)) << summary;
	EXPECT_EQ(std::stoul(m[1]), plates);
	EXPECT_GE(plates, 4U);
	for (const auto &t : texts)
		EXPECT_EQ(summary.find(t), std::string::npos) << t;
}

TEST(ReadCli, ThreadsKeepInputOrderAndResults)
{
	auto r1 = run_command(join({kCli, "read", "--json", "--threads", "1", q(kSamples), q(kSamples)}));
	auto r3 = run_command(join({kCli, "read", "--json", "--threads", "3", q(kSamples), q(kSamples)}));
	ASSERT_EQ(r1.status, 0);
	ASSERT_EQ(r3.status, 0);
	const auto a = lines(r1.output), b = lines(r3.output);
	ASSERT_EQ(a.size(), 12U);
	ASSERT_EQ(a.size(), b.size());
	for (std::size_t i = 0; i < a.size(); ++i) {
		EXPECT_EQ(a[i].at("file"), b[i].at("file"));
		EXPECT_EQ(a[i].at("plates"), b[i].at("plates")) << a[i].at("file");
	}
}

TEST(ReadCli, BadFilesGetErrorLinesAndOthersAreStillRead)
{
	TempDir dir;
	write_file(dir / "empty.jpg", "");
	write_file(dir / "text.jpg", "hello, not an image\n");
	const std::string jpg = read_file(kSamples + "/us-front.jpg");
	write_file(dir / "truncated.jpg", jpg.substr(0, jpg.size() / 2));
	// A PNG header claiming 20000x20000.
	auto be = [](std::uint32_t v) {
		return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
				   static_cast<char>(v >> 8), static_cast<char>(v)};
	};
	std::string huge = "\x89PNG\r\n\x1a\n";
	huge += be(13);
	huge += "IHDR";
	huge += be(20000);
	huge += be(20000);
	huge.append("\x08\x02\x00\x00\x00", 5);
	huge += be(0);
	huge += be(0);
	huge += "IEND";
	huge += be(0);
	write_file(dir / "huge.png", huge);
	const std::string good = kSamples + "/us-front.jpg";
	const std::string cmd = join({kCli, "read", "--json", q(dir / "missing.jpg"),
				      q(dir / "empty.jpg"), q(good), q(dir / "text.jpg"),
				      q(dir / "truncated.jpg"), q(dir / "huge.png")});
	auto r = run_command(cmd);
	EXPECT_EQ(r.status, 1);
	const auto v = lines(r.output);
	ASSERT_EQ(v.size(), 6U);
	const char *expect[] = {"no such file", "empty", nullptr, "not a JPEG", "truncated",
				"too large"};
	for (std::size_t i = 0; i < v.size(); ++i) {
		if (!expect[i]) {
			EXPECT_FALSE(v[i].contains("error"));
			EXPECT_TRUE(v[i].at("plates").is_array());
			continue;
		}
		ASSERT_TRUE(v[i].contains("error")) << v[i].dump();
		EXPECT_FALSE(v[i].contains("plates"));
		const std::string e = v[i].at("error");
		EXPECT_NE(e.find(expect[i]), std::string::npos) << e;
	}
	// Only good files: exit 0.
	EXPECT_EQ(run_command(join({kCli, "read", "--json", q(good)})).status, 0);
}

TEST(ReadCli, TableWithoutJson)
{
	auto r = run_command(join({kCli, "read", q(kSamples + "/us-front.jpg"), "/nonexistent.jpg"}));
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find("us-front.jpg"), std::string::npos);
	EXPECT_NE(r.output.find("error: no such file"), std::string::npos);
	EXPECT_NE(r.output.find(" ms"), std::string::npos);
}

} // namespace
} // namespace lethe::test
