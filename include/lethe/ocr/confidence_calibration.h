// SPDX-License-Identifier: GPL-3.0-or-later
// ConfidenceCalibration: monotone piecewise-linear map from raw read confidence to P(right).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lethe/common/result.h"
#include "lethe/ocr/plate_recognizer.h"

namespace lethe::ocr {

/// Maps the reader's raw confidence (format prior x character probabilities, tempered) to a
/// calibrated one: the fraction of reads with that raw score whose text was right on the data
/// it was fitted on (models/train/calibrate.py). Loaded from a small TSV file:
///
///     # comment lines (provenance)
///     raw<TAB>calibrated
///     0.0000<TAB>0.0100
///     ...
///
/// at least two rows; raw strictly increasing in 0..1, calibrated non-decreasing in 0..1.
/// Between rows the map is linear; below the first / above the last row it is that row's
/// value. A default-constructed calibration is the identity ("none"). Cheap to copy.
class ConfidenceCalibration
{
public:
	ConfidenceCalibration() = default;

	/// Load a calibration file; a malformed one is an error naming PATH:LINE and what is wrong.
	[[nodiscard]] static Result<ConfidenceCalibration> create(const std::string &path);
	/// Parse calibration text; `source` names it in errors.
	[[nodiscard]] static Result<ConfidenceCalibration> parse(std::string_view text,
	                                                         std::string_view source);

	/// The shipped calibration file for a recogniser model NAME: calibration-NAME.tsv in
	/// `models_dir`/ocr if given, else in the installed, then the source models/ocr/; empty if
	/// there is none.
	[[nodiscard]] static std::string default_path(std::string_view model,
	                                              const std::string &models_dir = {});

	/// Calibrated confidence of a raw one (clamped to 0..1; NaN gives 0).
	[[nodiscard]] float apply(float raw) const;

	[[nodiscard]] bool identity() const { return knots_.empty(); }
	/// Where it was loaded from; empty for the identity.
	[[nodiscard]] const std::string &source() const { return source_; }
	[[nodiscard]] const std::vector<std::pair<float, float>> &knots() const { return knots_; }

private:
	std::vector<std::pair<float, float>> knots_; ///< (raw, calibrated)
	std::string source_;
};

/// The name calibration files are keyed by for a recogniser: the file name of
/// `options.model` without `.traineddata` (a trained plate model), else `options.language`
/// (`eng`, Debian's).
[[nodiscard]] std::string model_name(const RecognizerOptions &options);

/// The calibration a setting names (`lethe read --calibration`, `[reader] calibration`):
/// "none" = identity; "" = the shipped file for the recogniser `model`
/// (ConfidenceCalibration::default_path(); identity if that model has none); else a file path.
[[nodiscard]] Result<ConfidenceCalibration> load_calibration(const std::string &setting,
                                                             std::string_view model,
                                                             const std::string &models_dir = {});

} // namespace lethe::ocr
