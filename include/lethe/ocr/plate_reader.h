// SPDX-License-Identifier: GPL-3.0-or-later
// PlateReader: detector + character-row isolation + recogniser + syntax = plate reads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
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
	/// A second recogniser that checks every read of the first (docs/reader.md, "Two
	/// models"): "" = none, else a backend name as `recognizer`. It reads the same renderings
	/// of the row; a plate is reported only if its best candidate's raw confidence reaches
	/// `verifier_min_confidence`. A plate model trained on plate lines reads a plate-like text
	/// into any texture (grates, grilles, signs); Debian's general-purpose eng reads text
	/// only where there is some, so it vouches that the row is text while the plate model
	/// says which. Where the first reads nothing above its floor, the verifier's own read is
	/// reported. Costs a second OCR pass per row.
	std::string verifier;
	RecognizerOptions verifier_options;
	float verifier_min_confidence = 0.25F;
	/// Applied to the verifier's candidates (its own model's calibration).
	ConfidenceCalibration verifier_calibration;
};

/// Do two reads of one row share at least one character in place: is their edit distance
/// (Levenshtein) below the longer one's length? The weakest agreement there is, and what a
/// verifier's read must have with the read it checks (ReaderOptions::verifier): two
/// recognisers reading the same characters agree far more, two making text up out of a
/// texture mostly not at all. Two empty texts do not agree.
[[nodiscard]] bool texts_agree(std::string_view a, std::string_view b);

/// Reads plates in frames. Owns one detector and one recogniser; not thread-safe — create
/// one reader per thread (each holds its own Tesseract instance). Creating one makes OpenCV
/// run serially in the whole process (detect::keep_opencv_serial()).
class PlateReader
{
public:
	/// Build the backends named in `options`.
	[[nodiscard]] static Result<std::unique_ptr<PlateReader>> create(const ReaderOptions &options);
	/// Use given backends (e.g. a trained detector or recogniser); the verifier, if
	/// `options.verifier` names one, is still built from the options.
	[[nodiscard]] static Result<std::unique_ptr<PlateReader>>
	create(const ReaderOptions &options, std::unique_ptr<detect::PlateDetector> detector,
	       std::unique_ptr<PlateRecognizer> recognizer);

	~PlateReader();
	PlateReader(const PlateReader &) = delete;
	PlateReader &operator=(const PlateReader &) = delete;

	/// Plates in an 8-bit BGR (or grey) frame, most confident (raw) first. A frame without plates
	/// gives an empty list; an empty or unsupported frame is an error.
	[[nodiscard]] Result<std::vector<PlateRead>> read(const cv::Mat &frame);

	/// Every region the detector proposes in a frame (source-image pixels), read or not: what
	/// must not leave the device legible (plate_mask.h).
	[[nodiscard]] Result<std::vector<cv::Rect>> regions(const cv::Mat &frame);

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

	/// Read the renderings of one row with `recognizer`: ranked candidates (raw
	/// confidences), best first, at most options_.top.
	[[nodiscard]] Result<std::vector<Candidate>> read_lines(PlateRecognizer &recognizer,
								 const std::vector<cv::Mat> &lines) const;

	/// Does the verifier vouch for `text` on these renderings of its row: on one of them,
	/// its best candidate reaches verifier_min_confidence and agrees (texts_agree())?
	[[nodiscard]] Result<bool> verify(const std::vector<cv::Mat> &lines, const std::string &text) const;

	PlateReader(const ReaderOptions &options, std::unique_ptr<detect::PlateDetector> detector,
		    std::unique_ptr<PlateRecognizer> recognizer,
		    std::unique_ptr<PlateRecognizer> verifier);

	ReaderOptions options_;
	PlateSyntax syntax_;
	std::unique_ptr<detect::PlateDetector> detector_;
	std::unique_ptr<PlateRecognizer> recognizer_;
	std::unique_ptr<PlateRecognizer> verifier_; ///< null when options_.verifier is ""
};

} // namespace lethe::ocr
