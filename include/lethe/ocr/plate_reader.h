// SPDX-License-Identifier: GPL-3.0-or-later
// PlateReader: detector + character-row isolation + recogniser + syntax = plate reads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "lethe/common/result.h"
#include "lethe/detect/plate_detector.h"
#include "lethe/detect/rectify.h"
#include "lethe/ocr/char_row.h"
#include "lethe/ocr/confidence_calibration.h"
#include "lethe/ocr/plate_recognizer.h"
#include "lethe/ocr/plate_syntax.h"

namespace lethe::ocr {

/// One plate read in a frame.
struct PlateRead {
	std::string text;          ///< best candidate, A-Z0-9 only
	float confidence = 0.0F;   ///< of `text`, 0..1, calibrated (ReaderOptions::calibration)
	float raw_confidence = 0.0F; ///< of `text` before calibration (ranking, min_confidence)
	cv::Rect box;              ///< estimated plate rim, source-image pixels
	std::vector<Candidate> candidates; ///< ranked, best first (includes `text`)
};

struct ReaderOptions {
	Region region = Region::Us;
	/// Candidates kept per plate.
	std::size_t top = 5;
	/// Plates reported per frame at most.
	std::size_t max_plates = 8;
	/// Verification floor: a plate is reported only if its best candidate's RAW confidence
	/// (before calibration) reaches this, so the calibration never changes which plates are
	/// found, only the confidences reported.
	float min_confidence = 0.25F;
	/// Applied to every candidate's and the plate's confidence after verification; the
	/// default (identity) reports raw scores. Callers load it with load_calibration().
	ConfidenceCalibration calibration;
	std::string detector = "classical";
	detect::DetectorOptions detector_options;
	std::string recognizer = "tesseract";
	RecognizerOptions recognizer_options;
};

/// Reads plates in frames. Owns one detector and one recogniser; not thread-safe — create
/// one reader per thread (each holds its own Tesseract instance). Creating one makes OpenCV
/// run serially in the whole process (detect::keep_opencv_serial()).
class PlateReader
{
public:
	/// Build the backends named in `options`.
	[[nodiscard]] static Result<std::unique_ptr<PlateReader>> create(const ReaderOptions &options);
	/// Use given backends (e.g. a trained detector or recogniser).
	[[nodiscard]] static Result<std::unique_ptr<PlateReader>>
	create(const ReaderOptions &options, std::unique_ptr<detect::PlateDetector> detector,
	       std::unique_ptr<PlateRecognizer> recognizer);

	~PlateReader();
	PlateReader(const PlateReader &) = delete;
	PlateReader &operator=(const PlateReader &) = delete;

	/// Plates in an 8-bit BGR (or grey) frame, most confident (raw) first. A frame without plates
	/// gives an empty list; an empty or unsupported frame is an error.
	[[nodiscard]] Result<std::vector<PlateRead>> read(const cv::Mat &frame);

	/// Read one region a detector proposed; nullopt-like empty text if it holds no
	/// plausible plate. Exposed for tests and for trackers that re-read a known region.
	[[nodiscard]] Result<PlateRead> read_region(const cv::Mat &bgr, const cv::Mat &gray,
						    const detect::PlateRegion &region);

	[[nodiscard]] const ReaderOptions &options() const { return options_; }

private:
	/// Find the character row in a patch the region was cut into, read it and place the
	/// plate rim; empty text if there is no row or it reads as nothing.
	[[nodiscard]] Result<PlateRead> read_patch(detect::Patch gray, detect::Patch colour,
						   CharRowOptions options, const cv::Size &frame);

	PlateReader(const ReaderOptions &options, std::unique_ptr<detect::PlateDetector> detector,
		    std::unique_ptr<PlateRecognizer> recognizer);

	ReaderOptions options_;
	PlateSyntax syntax_;
	std::unique_ptr<detect::PlateDetector> detector_;
	std::unique_ptr<PlateRecognizer> recognizer_;
};

} // namespace lethe::ocr
