// SPDX-License-Identifier: GPL-3.0-or-later
// Which recogniser models a plate reader uses: region defaults and the settings that override them.
#include "lethe/ocr/reader_models.h"

#include <filesystem>

#include "lethe/common/model_files.h"

namespace lethe::ocr {

namespace {

constexpr const char *kEng = "eng";

/// Recogniser options for a model setting: `eng` is Debian's model (found by find_tessdata(),
/// in --tessdata if given); a NAME is looked up in models_dir/ocr when that is set, in
/// --tessdata when that holds it, else where find_tesseract_model() looks (the shipped
/// models first); a PATH is passed on.
RecognizerOptions recognizer_for(const std::string &model, const ModelSettings &s)
{
	RecognizerOptions o;
	if (model == kEng) {
		o.data_dir = s.tessdata;
		return o;
	}
	o.model = model;
	const bool name = model.find('/') == std::string::npos && !model.ends_with(".traineddata");
	if (!name)
		return o;
	if (!s.models_dir.empty())
		o.model = (std::filesystem::path(s.models_dir) / "ocr" / (model + ".traineddata"))
		              .string();
	else if (!s.tessdata.empty() && readable_file(std::filesystem::path(s.tessdata) / (model + ".traineddata")))
		o.data_dir = s.tessdata;
	return o;
}

} // namespace

std::string default_ocr_model(Region region)
{
	return region == Region::Us ? "plates" : kEng;
}

Result<void> apply_model_settings(ReaderOptions &options, const ModelSettings &settings)
{
	const std::string model =
	    settings.ocr_model.empty() ? default_ocr_model(options.region) : settings.ocr_model;
	options.recognizer_options = recognizer_for(model, settings);
	auto cal = load_calibration(settings.calibration, model_name(options.recognizer_options),
	                            settings.models_dir);
	if (!cal)
		return cal.error();
	options.calibration = std::move(cal).value();

	std::string verify = settings.verify_model;
	if (verify.empty())
		verify = model == kEng ? "none" : kEng;
	if (verify == "none") {
		options.verifier.clear();
		options.verifier_options = {};
		options.verifier_calibration = {};
		return {};
	}
	options.verifier = options.recognizer;
	options.verifier_options = recognizer_for(verify, settings);
	// --tessdata may hold only the OCR model (a NAME given with it): the verifier's eng is
	// then found where it would be without it.
	if (verify == kEng && !settings.tessdata.empty() &&
	    !readable_file(std::filesystem::path(settings.tessdata) / "eng.traineddata"))
		options.verifier_options.data_dir.clear();
	auto vcal = load_calibration(settings.calibration == "none" ? "none" : "",
	                             model_name(options.verifier_options), settings.models_dir);
	if (!vcal)
		return make_error(vcal.error().code, "verifier: " + vcal.error().message);
	options.verifier_calibration = std::move(vcal).value();
	return {};
}

} // namespace lethe::ocr
