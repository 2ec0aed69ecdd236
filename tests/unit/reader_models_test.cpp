// SPDX-License-Identifier: GPL-3.0-or-later
// The shipped plate model, region model defaults and the second model that verifies reads.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "lethe/ocr/plate_reader.h"
#include "lethe/ocr/reader_models.h"
#include "lethe/ocr/tesseract_recognizer.h"
#include "support/samples.h"

namespace lethe::ocr {
namespace {

test::LabelledSample us_front()
{
	for (const auto &l : test::labelled_samples())
		if (l.file == "us-front.jpg")
			return l;
	ADD_FAILURE() << "no us-front.jpg sample";
	return {};
}

cv::Mat load(const test::LabelledSample &s)
{
	return test::load_sample(s.file);
}

std::vector<std::string> texts(const std::vector<PlateRead> &reads)
{
	std::vector<std::string> out;
	for (const auto &r : reads)
		out.push_back(r.text);
	return out;
}

/// Read the us-front sample with `options` (a fresh reader each time).
std::vector<PlateRead> read_us_front(const ReaderOptions &options)
{
	auto reader = PlateReader::create(options);
	EXPECT_TRUE(reader.ok()) << (reader.ok() ? "" : reader.error().message);
	if (!reader.ok())
		return {};
	auto reads = (*reader)->read(load(us_front()));
	EXPECT_TRUE(reads.ok());
	return reads.ok() ? *reads : std::vector<PlateRead>{};
}

/// Settings with some fields given ("" = default), as `lethe read` options would.
ModelSettings settings(std::string ocr_model, std::string verify_model = {},
                       std::string calibration = {}, std::string models_dir = {})
{
	ModelSettings s;
	s.ocr_model = std::move(ocr_model);
	s.verify_model = std::move(verify_model);
	s.calibration = std::move(calibration);
	s.models_dir = std::move(models_dir);
	return s;
}

ReaderOptions defaults_for(Region region, const ModelSettings &settings = {})
{
	ReaderOptions o;
	o.region = region;
	auto st = apply_model_settings(o, settings);
	EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
	return o;
}

TEST(TextsAgree, SharingACharacterInPlaceIsAgreement)
{
	EXPECT_TRUE(texts_agree("7ABC123", "7ABC123"));
	EXPECT_TRUE(texts_agree("7ABC123", "TABC1Z3"));  // a plate font misread by a general model
	EXPECT_TRUE(texts_agree("FC497", "FAR2X2Z"));    // one character in common is enough
	EXPECT_FALSE(texts_agree("PP000000", "ITALIA")); // a grate and a word: nothing in common
	EXPECT_FALSE(texts_agree("21157", "7EPCFF"));    // '7' in both, but not in place
	EXPECT_FALSE(texts_agree("12", "21"));
	EXPECT_FALSE(texts_agree("ABC", ""));
	EXPECT_FALSE(texts_agree("", ""));
}

TEST(ReaderModels, UsReadsWithThePlateModelAndEngVerifiesIt)
{
	const ReaderOptions us = defaults_for(Region::Us);
	EXPECT_EQ(default_ocr_model(Region::Us), "plates");
	EXPECT_EQ(model_name(us.recognizer_options), "plates");
	EXPECT_EQ(us.verifier, "tesseract");
	EXPECT_EQ(model_name(us.verifier_options), "eng");
	// Each model's reads are reported on its own calibration: eng's is shipped.
	EXPECT_FALSE(us.verifier_calibration.identity());
	for (const Region r : {Region::Eu, Region::Br}) {
		const ReaderOptions o = defaults_for(r);
		EXPECT_EQ(model_name(o.recognizer_options), "eng") << region_name(r);
		EXPECT_TRUE(o.verifier.empty()) << region_name(r);
		EXPECT_FALSE(o.calibration.identity()) << region_name(r);
	}
}

TEST(ReaderModels, SettingsOverrideTheDefaults)
{
	const ReaderOptions none = defaults_for(Region::Us, settings("", "none"));
	EXPECT_EQ(model_name(none.recognizer_options), "plates");
	EXPECT_TRUE(none.verifier.empty());

	const ReaderOptions eng = defaults_for(Region::Us, settings("eng"));
	EXPECT_EQ(model_name(eng.recognizer_options), "eng");
	EXPECT_TRUE(eng.verifier.empty()); // eng is not verified by itself

	const ReaderOptions br = defaults_for(Region::Br, settings("plates"));
	EXPECT_EQ(model_name(br.recognizer_options), "plates");
	EXPECT_EQ(model_name(br.verifier_options), "eng");

	const ReaderOptions raw = defaults_for(Region::Us, settings("", "", "none"));
	EXPECT_TRUE(raw.calibration.identity());
	EXPECT_TRUE(raw.verifier_calibration.identity());

	// A NAME is looked up in models_dir/ocr when that is set; eng stays Debian's.
	const ReaderOptions dir =
	    defaults_for(Region::Us, settings("", "", "none", "/opt/lethe-models"));
	EXPECT_EQ(dir.recognizer_options.model, "/opt/lethe-models/ocr/plates.traineddata");
	EXPECT_TRUE(dir.verifier_options.model.empty());
	EXPECT_EQ(dir.verifier_options.language, "eng");

	// --tessdata holding eng only: the plate model is still the shipped one, eng is read there.
	auto eng_dir = find_tessdata("", "eng");
	ASSERT_TRUE(eng_dir.ok()) << "tesseract-ocr-eng is not installed";
	ModelSettings with_tessdata = settings("", "", "none");
	with_tessdata.tessdata = *eng_dir;
	const ReaderOptions td = defaults_for(Region::Us, with_tessdata);
	EXPECT_EQ(td.recognizer_options.model, "plates");
	EXPECT_TRUE(td.recognizer_options.data_dir.empty());
	EXPECT_EQ(td.verifier_options.data_dir, *eng_dir);
	EXPECT_TRUE(PlateReader::create(td).ok());

	ReaderOptions bad;
	EXPECT_FALSE(
	    apply_model_settings(bad, settings("", "", "/nonexistent/calibration.tsv")).ok());
}

TEST(ReaderModels, VerifiedReadOfTheDefaultsFindsThePlate)
{
	const auto reads = read_us_front(defaults_for(Region::Us));
	ASSERT_FALSE(reads.empty());
	EXPECT_EQ(reads.front().text, us_front().plate);
	EXPECT_GE(reads.front().confidence, 0.0F);
	EXPECT_LE(reads.front().confidence, 1.0F);
}

TEST(ReaderModels, AVerifierThatDoesNotVouchVetoesTheRead)
{
	ReaderOptions o = defaults_for(Region::Us, settings("", "", "none"));
	ASSERT_FALSE(read_us_front(o).empty());
	// No read of the verifier reaches its floor.
	ReaderOptions strict = o;
	strict.verifier_min_confidence = 1.01F;
	EXPECT_TRUE(read_us_front(strict).empty());
}

TEST(ReaderModels, AGrateThePlateModelReadsIsNotReported)
{
	// A slotted cover (a storm-drain grate: nine dark slots in a lighter frame) on a grey
	// frame: the plate model, which has only ever seen plates, reads a plate into it; eng
	// sees no text there, so with it verifying nothing is reported.
	cv::Mat frame(360, 640, CV_8UC3, cv::Scalar::all(170));
	cv::rectangle(frame, cv::Point(188, 150), cv::Point(348, 196), cv::Scalar::all(120),
	              cv::FILLED);
	for (int i = 0; i < 9; ++i)
		cv::rectangle(frame, cv::Rect(200 + i * 16, 160, 7, 27), cv::Scalar::all(25),
		              cv::FILLED);
	cv::GaussianBlur(frame, frame, cv::Size(3, 3), 0);
	auto read = [&](ReaderOptions o) {
		o.detector = "both"; // as lethe read and lethed
		auto reader = PlateReader::create(o);
		EXPECT_TRUE(reader.ok());
		auto reads = (*reader)->read(frame);
		EXPECT_TRUE(reads.ok());
		return reads.ok() ? texts(*reads) : std::vector<std::string>{};
	};
	EXPECT_FALSE(read(defaults_for(Region::Us, settings("", "none"))).empty())
	    << "the plate model alone no longer reads this grate: make the test image one it does";
	EXPECT_EQ(read(defaults_for(Region::Us)), std::vector<std::string>{});
}

TEST(ReaderModels, WhereThePlateModelStandsByNothingTheVerifiersReadIsReported)
{
	ReaderOptions eng_alone = defaults_for(Region::Us, settings("eng", "", "none"));
	const auto expected = texts(read_us_front(eng_alone));
	ASSERT_FALSE(expected.empty());
	ReaderOptions o = defaults_for(Region::Us, settings("", "", "none"));
	o.min_confidence = 1.01F; // the plate model's reads never reach its floor
	o.verifier_min_confidence = eng_alone.min_confidence;
	EXPECT_EQ(texts(read_us_front(o)), expected);
}

} // namespace
} // namespace lethe::ocr
