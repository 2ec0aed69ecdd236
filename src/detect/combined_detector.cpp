// SPDX-License-Identifier: GPL-3.0-or-later
// CombinedDetector: the classical detector's character rows plus the trained CNN's plates.
#include "lethe/detect/combined_detector.h"

namespace lethe::detect {

CombinedDetector::CombinedDetector(std::unique_ptr<PlateDetector> classical,
				   std::unique_ptr<PlateDetector> dnn)
	: classical_(std::move(classical)), dnn_(std::move(dnn))
{
}

Result<std::vector<PlateRegion>> CombinedDetector::detect(const cv::Mat &bgr)
{
	auto rows = classical_->detect(bgr);
	if (!rows)
		return rows.error();
	auto plates = dnn_->detect(bgr);
	if (!plates)
		return plates.error();
	std::vector<PlateRegion> out = std::move(rows).value();
	out.insert(out.end(), plates->begin(), plates->end());
	return out;
}

} // namespace lethe::detect
