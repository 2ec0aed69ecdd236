// SPDX-License-Identifier: GPL-3.0-or-later
// Which recogniser models a plate reader uses: region defaults and the settings that override them.
#pragma once

#include <string>

#include "lethe/common/result.h"
#include "lethe/ocr/plate_reader.h"

namespace lethe::ocr {

/// The OCR model a region reads with by default: the shipped plate model `plates` for us,
/// Debian's `eng` for eu and br, where the plate model does not yet read more plates right
/// on every set we measured (docs/accuracy.md, "Two models").
[[nodiscard]] std::string default_ocr_model(Region region);

/// What `lethe read` options and `[reader]` keys say about models; every field "" = default.
struct ModelSettings {
	/// NAME | absolute PATH | "" (default_ocr_model() of the region). `eng` is Debian's.
	std::string ocr_model;
	/// NAME | absolute PATH | "none" | "" (eng when the OCR model is not eng, else none).
	std::string verify_model;
	/// "none" | calibration TSV path | "" (the shipped one for the OCR model). Applies to the
	/// OCR model; the verifier always uses its model's shipped calibration ("none": none).
	std::string calibration;
	/// Where NAMEs are looked up first (NAME.traineddata in models_dir/ocr), "" = installed.
	std::string models_dir;
	/// Tesseract data directory (--tessdata): where `eng` is, and a NAME if it is there;
	/// "" = search.
	std::string tessdata;
};

/// Fill `options.recognizer_options.model`, the verifier and both calibrations from
/// `settings` for `options.region`. Errors (a calibration file that does not parse) name
/// what failed; models themselves are found and loaded by PlateReader::create().
[[nodiscard]] Result<void> apply_model_settings(ReaderOptions &options,
                                                const ModelSettings &settings);

} // namespace lethe::ocr
