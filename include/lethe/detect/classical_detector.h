// SPDX-License-Identifier: GPL-3.0-or-later
// ClassicalDetector: plate candidates as rows of character-like blobs — no trained model.
#pragma once

#include "lethe/detect/plate_detector.h"

namespace lethe::detect {

/// MSER-style: a local-mean threshold (dark on light), connected components filtered to
/// character-like size, aspect and fill, chained into rows of at least four blobs of
/// similar height, aligned and evenly spaced; at two scales (full and quarter, so 9-256 px
/// characters in a 1280-wide frame). Fast (a few ms per 1280x720 frame) but not selective:
/// it proposes several regions per frame (grilles, signs, text) and relies on the caller
/// (the OCR stage and plate syntax) to verify them. Region rects cover the character row,
/// not the plate rim. Scores in 0..1 rise with the number and regularity of characters.
class ClassicalDetector final : public PlateDetector
{
public:
	explicit ClassicalDetector(const DetectorOptions &options);

	[[nodiscard]] std::string_view name() const override { return "classical"; }
	[[nodiscard]] Result<std::vector<PlateRegion>> detect(const cv::Mat &bgr) override;

private:
	DetectorOptions options_;
};

} // namespace lethe::detect
