// SPDX-License-Identifier: GPL-3.0-or-later
// CombinedDetector: the classical detector's character rows plus the trained CNN's plates.
#pragma once

#include <memory>

#include "lethe/detect/plate_detector.h"

namespace lethe::detect {

/// "both": the classical detector's character rows, then the trained detector's plates —
/// all of them: a plate the CNN finds may hold a row the classical detector proposed but
/// placed badly (a state name, half the characters), and the reader reads each region and
/// keeps the most confident read where reads overlap. The classical regions stay as they
/// are, so "both" finds at least the plates "classical" finds, at the cost of reading more
/// regions. Scores keep their backends' scales
/// (not comparable, see PlateRegion).
class CombinedDetector final : public PlateDetector
{
public:
	CombinedDetector(std::unique_ptr<PlateDetector> classical, std::unique_ptr<PlateDetector> dnn);

	[[nodiscard]] std::string_view name() const override { return "both"; }
	[[nodiscard]] Result<std::vector<PlateRegion>> detect(const cv::Mat &bgr) override;

private:
	std::unique_ptr<PlateDetector> classical_;
	std::unique_ptr<PlateDetector> dnn_;
};

} // namespace lethe::detect
