// SPDX-License-Identifier: GPL-3.0-or-later
// ConfidenceCalibration: file format errors with FILE:LINE, the map, the shipped file, the reader.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "lethe/ocr/confidence_calibration.h"
#include "lethe/capture/image_file.h"
#include "lethe/ocr/plate_reader.h"
#include "support/temp_dir.h"

namespace lethe::ocr {
namespace {

std::string error_of(std::string_view text)
{
	auto r = ConfidenceCalibration::parse(text, "c.tsv");
	EXPECT_FALSE(r.ok()) << "expected an error for:\n" << text;
	return r.ok() ? std::string() : r.error().message;
}

TEST(ConfidenceCalibration, ParsesCommentsHeaderAndRows)
{
	auto r = ConfidenceCalibration::parse(
	    "# fitted by calibrate.py\n# on crops\nraw\tcalibrated\n0\t0.05\n0.5\t0.2\r\n1\t0.9\n",
	    "c.tsv");
	ASSERT_TRUE(r.ok()) << r.error().message;
	ASSERT_EQ(r->knots().size(), 3U);
	EXPECT_FLOAT_EQ(r->knots()[1].first, 0.5F);
	EXPECT_FLOAT_EQ(r->knots()[1].second, 0.2F);
	EXPECT_FALSE(r->identity());
	EXPECT_EQ(r->source(), "c.tsv");
}

TEST(ConfidenceCalibration, MalformedFilesNameTheLine)
{
	EXPECT_EQ(error_of("# only a comment\n"), "c.tsv:1: no header 'raw<TAB>calibrated'");
	EXPECT_EQ(error_of("raw calibrated\n0\t0\n1\t1\n"),
	          "c.tsv:1: expected the header 'raw<TAB>calibrated'");
	EXPECT_EQ(error_of("# x\nraw\tcalibrated\n0\t0\n0.5 0.5\n"),
	          "c.tsv:4: expected two tab-separated numbers 'raw<TAB>calibrated'");
	EXPECT_EQ(error_of("raw\tcalibrated\n0\t0\t0\n"),
	          "c.tsv:2: expected two tab-separated numbers 'raw<TAB>calibrated'");
	EXPECT_EQ(error_of("raw\tcalibrated\nx\t0\n"), "c.tsv:2: raw: must be a number 0..1");
	EXPECT_EQ(error_of("raw\tcalibrated\n0\t0.5x\n"),
	          "c.tsv:2: calibrated: must be a number 0..1");
	EXPECT_EQ(error_of("raw\tcalibrated\n-0.1\t0\n"), "c.tsv:2: raw: must be a number 0..1");
	EXPECT_EQ(error_of("raw\tcalibrated\n0\t1.5\n"),
	          "c.tsv:2: calibrated: must be a number 0..1");
	EXPECT_EQ(error_of("raw\tcalibrated\n0\tnan\n"),
	          "c.tsv:2: calibrated: must be a number 0..1");
	EXPECT_EQ(error_of("raw\tcalibrated\n0.5\t0\n0.5\t0.1\n"),
	          "c.tsv:3: raw: must be greater than the previous row's");
	EXPECT_EQ(error_of("raw\tcalibrated\n0.5\t0\n0.4\t0.1\n"),
	          "c.tsv:3: raw: must be greater than the previous row's");
	EXPECT_EQ(
	    error_of("raw\tcalibrated\n0\t0.5\n1\t0.4\n"),
	    "c.tsv:3: calibrated: must not be less than the previous row's (the map is monotone)");
	EXPECT_EQ(error_of("raw\tcalibrated\n0\t0.5\n"), "c.tsv:2: at least two rows are needed");
}

TEST(ConfidenceCalibration, InterpolatesAndClamps)
{
	auto r = ConfidenceCalibration::parse("raw\tcalibrated\n0.2\t0.1\n0.6\t0.3\n0.8\t0.9\n",
	                                      "c.tsv");
	ASSERT_TRUE(r.ok()) << r.error().message;
	const auto &c = *r;
	EXPECT_FLOAT_EQ(c.apply(0.0F), 0.1F); // below the first knot: its value
	EXPECT_FLOAT_EQ(c.apply(0.2F), 0.1F);
	EXPECT_FLOAT_EQ(c.apply(0.4F), 0.2F); // halfway
	EXPECT_FLOAT_EQ(c.apply(0.7F), 0.6F);
	EXPECT_FLOAT_EQ(c.apply(0.8F), 0.9F);
	EXPECT_FLOAT_EQ(c.apply(1.0F), 0.9F); // above the last: its value
	EXPECT_FLOAT_EQ(c.apply(7.0F), 0.9F); // out of range is clamped first
	EXPECT_FLOAT_EQ(c.apply(-1.0F), 0.1F);
	EXPECT_FLOAT_EQ(c.apply(std::nanf("")), 0.0F);
	for (float x = 0.0F; x < 1.0F; x += 0.01F)
		EXPECT_LE(c.apply(x), c.apply(x + 0.01F)) << x; // monotone

	const ConfidenceCalibration none;
	EXPECT_TRUE(none.identity());
	EXPECT_FLOAT_EQ(none.apply(0.37F), 0.37F);
	EXPECT_FLOAT_EQ(none.apply(1.2F), 1.0F);
}

TEST(ConfidenceCalibration, FilesAndSettings)
{
	test::TempDir dir;
	auto missing = ConfidenceCalibration::create((dir / "nope.tsv").string());
	ASSERT_FALSE(missing.ok());
	EXPECT_NE(missing.error().message.find("nope.tsv: no such calibration file"),
	          std::string::npos);
	test::write_file(dir / "bad.tsv", "raw\tcalibrated\n0\t0\n0\t1\n");
	auto bad = ConfidenceCalibration::create((dir / "bad.tsv").string());
	ASSERT_FALSE(bad.ok());
	EXPECT_EQ(bad.error().message,
	          (dir / "bad.tsv").string() + ":3: raw: must be greater than the previous row's");
	test::write_file(dir / "big.tsv", std::string(70000, '#'));
	EXPECT_FALSE(ConfidenceCalibration::create((dir / "big.tsv").string()).ok());

	// A models folder: ocr/calibration-NAME.tsv per recogniser model.
	std::filesystem::create_directories(dir / "ocr");
	test::write_file(dir / "ocr" / "calibration-plates.tsv", "raw\tcalibrated\n0\t0\n1\t0.5\n");
	const std::string models = dir.path().string();
	EXPECT_EQ(ConfidenceCalibration::default_path("plates", models),
	          (dir / "ocr" / "calibration-plates.tsv").string());
	EXPECT_EQ(ConfidenceCalibration::default_path("other", models), "");

	auto by_model = load_calibration("", "plates", models);
	ASSERT_TRUE(by_model.ok()) << by_model.error().message;
	EXPECT_FLOAT_EQ(by_model->apply(1.0F), 0.5F);
	auto none = load_calibration("none", "plates", models);
	ASSERT_TRUE(none.ok());
	EXPECT_TRUE(none->identity());
	auto unshipped = load_calibration("", "other", models); // a model without one: raw scores
	ASSERT_TRUE(unshipped.ok());
	EXPECT_TRUE(unshipped->identity());
	auto path = load_calibration((dir / "ocr" / "calibration-plates.tsv").string(), "eng");
	ASSERT_TRUE(path.ok());
	EXPECT_FALSE(path->identity());
	EXPECT_FALSE(load_calibration((dir / "bad.tsv").string(), "eng").ok());
}

TEST(ConfidenceCalibration, KeyedByRecogniserModelName)
{
	RecognizerOptions o;
	EXPECT_EQ(model_name(o), "eng");
	o.model = "lethe-plates";
	EXPECT_EQ(model_name(o), "lethe-plates");
	o.model = "/usr/share/lethe/models/ocr/lethe-plates.traineddata";
	EXPECT_EQ(model_name(o), "lethe-plates");
}

TEST(ConfidenceCalibration, ShippedFileForEngLoads)
{
	const std::string path = ConfidenceCalibration::default_path("eng");
	ASSERT_FALSE(path.empty()) << "models/ocr/calibration-eng.tsv is not shipped";
	auto c = ConfidenceCalibration::create(path);
	ASSERT_TRUE(c.ok()) << c.error().message;
	EXPECT_GE(c->knots().size(), 2U);
}

TEST(ConfidenceCalibration, ReaderReportsCalibratedConfidencesAndVerifiesOnRaw)
{
	auto img = capture::load_image_file(std::string(LETHE_TEST_DATA_DIR) + "/samples/us-front.jpg");
	ASSERT_TRUE(img.ok());
	ReaderOptions o;
	o.region = Region::Us;
	auto raw_reader = PlateReader::create(o);
	ASSERT_TRUE(raw_reader.ok());
	auto raw = (*raw_reader)->read(*img);
	ASSERT_TRUE(raw.ok());
	ASSERT_FALSE(raw->empty());
	const PlateRead &r0 = raw->front();
	EXPECT_FLOAT_EQ(r0.confidence, r0.raw_confidence); // identity by default

	// A map that halves everything: the same plates (verification is on the raw score, even
	// with a floor above every calibrated value), every confidence halved.
	auto half = ConfidenceCalibration::parse("raw\tcalibrated\n0\t0\n1\t0.5\n", "half");
	ASSERT_TRUE(half.ok());
	o.calibration = *half;
	o.min_confidence = std::min(0.6F, r0.raw_confidence);
	auto cal_reader = PlateReader::create(o);
	ASSERT_TRUE(cal_reader.ok());
	auto cal = (*cal_reader)->read(*img);
	ASSERT_TRUE(cal.ok());
	ASSERT_FALSE(cal->empty());
	const PlateRead &c0 = cal->front();
	EXPECT_EQ(c0.text, r0.text);
	EXPECT_EQ(c0.box, r0.box);
	EXPECT_FLOAT_EQ(c0.raw_confidence, r0.raw_confidence);
	EXPECT_NEAR(c0.confidence, r0.confidence / 2.0F, 1e-6);
	ASSERT_EQ(c0.candidates.size(), r0.candidates.size());
	for (std::size_t i = 0; i < c0.candidates.size(); ++i) {
		EXPECT_EQ(c0.candidates[i].text, r0.candidates[i].text);
		EXPECT_NEAR(c0.candidates[i].confidence, r0.candidates[i].confidence / 2.0F, 1e-6);
	}
	EXPECT_FLOAT_EQ(c0.candidates.front().confidence, c0.confidence);
}

} // namespace
} // namespace lethe::ocr
