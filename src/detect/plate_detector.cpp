// SPDX-License-Identifier: GPL-3.0-or-later
// PlateDetector factory: backends by name.
#include "lethe/detect/plate_detector.h"

#include <algorithm>

#include <opencv2/core/utility.hpp>

#include "lethe/detect/classical_detector.h"
#include "lethe/detect/combined_detector.h"
#include "lethe/detect/dnn_detector.h"

namespace lethe::detect {

void keep_opencv_serial()
{
	// Once: setNumThreads() rebuilds OpenCV's pool, which must not happen while another
	// thread is inside a parallel loop.
	static const bool serial = [] {
		cv::setNumThreads(1);
		// OpenCV 4.6 makes the object behind Mat::zeros/ones/eye lazily, by double-checked
		// locking whose first check is a plain read (CV_SINGLETON_LAZY_INIT): two pipeline
		// workers reaching it first at once race (ThreadSanitizer reports it; on weakly
		// ordered ARM a worker could see the pointer before the object). Made here, on the
		// thread that builds the readers, before any worker starts.
		const cv::Mat warm = cv::Mat::zeros(1, 1, CV_8UC1);
		return !warm.empty();
	}();
	(void)serial;
}

double box_iou(const cv::Rect &a, const cv::Rect &b)
{
	const double inter = (a & b).area();
	const double uni = a.area() + b.area() - inter;
	return uni > 0 ? inter / uni : 0.0;
}

std::vector<PlateRegion> keep_strongest(std::vector<PlateRegion> regions, double max_iou,
					std::size_t max_regions)
{
	std::sort(regions.begin(), regions.end(),
		  [](const PlateRegion &a, const PlateRegion &b) { return a.score > b.score; });
	std::vector<PlateRegion> kept;
	for (auto &r : regions) {
		if (kept.size() >= max_regions)
			break;
		if (r.box.area() <= 0)
			continue;
		const bool dup = std::any_of(kept.begin(), kept.end(), [&](const PlateRegion &k) {
			return box_iou(k.box, r.box) > max_iou;
		});
		if (!dup)
			kept.push_back(std::move(r));
	}
	return kept;
}

Result<std::unique_ptr<PlateDetector>> PlateDetector::create(std::string_view name,
							      const DetectorOptions &options)
{
	keep_opencv_serial();
	if (name == "classical")
		return std::unique_ptr<PlateDetector>(new ClassicalDetector(options));
	if (name == "dnn" || name == "both") {
		auto dnn = DnnDetector::create(options);
		if (!dnn)
			return dnn.error();
		if (name == "dnn")
			return std::unique_ptr<PlateDetector>(std::move(dnn).value());
		return std::unique_ptr<PlateDetector>(new CombinedDetector(
			std::make_unique<ClassicalDetector>(options), std::move(dnn).value()));
	}
	return make_error(-EINVAL,
			  "unknown detector '" + std::string(name) + "' (classical, dnn, both)");
}

std::vector<std::string> PlateDetector::backends()
{
	return {"classical", "dnn", "both"};
}

} // namespace lethe::detect
