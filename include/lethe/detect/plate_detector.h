// SPDX-License-Identifier: GPL-3.0-or-later
// PlateDetector: the interface every plate-detection backend implements, and its factory.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "lethe/common/result.h"

namespace lethe::detect {

/// A place in a frame that may hold a plate, in source-image pixels.
///
/// `rect` is the rotated box of what the backend found (for the classical detector: the
/// character row; for a trained detector: the plate). `box` is its axis-aligned bounding box,
/// clipped to the image. `score` ranks regions within one frame (higher is more plate-like;
/// backends document their scale, callers must not compare scores across backends).
struct PlateRegion {
	cv::RotatedRect rect;
	cv::Rect box;
	float score = 0.0F;
};

/// Options shared by all backends; a backend ignores what it has no use for.
struct DetectorOptions {
	/// Most regions returned per frame, best first.
	std::size_t max_regions = 12;
	/// Frames are analysed at most this wide (pixels); larger frames are scaled down.
	int max_width = 1280;
	/// Backend-specific model file (a trained detector's ONNX); empty for none.
	std::string model_path;
};

/// Finds candidate plate regions in a BGR frame. Not thread-safe: use one per thread.
class PlateDetector
{
public:
	virtual ~PlateDetector() = default;
	PlateDetector(const PlateDetector &) = delete;
	PlateDetector &operator=(const PlateDetector &) = delete;

	/// The backend's name, as accepted by create().
	[[nodiscard]] virtual std::string_view name() const = 0;

	/// Candidate regions, best first, at most options.max_regions. An empty frame or one
	/// that is not 8-bit BGR/grey is an error; a frame without plates is an empty list.
	[[nodiscard]] virtual Result<std::vector<PlateRegion>> detect(const cv::Mat &bgr) = 0;

	/// Backends by name: "classical" (OpenCV morphology, no model).
	[[nodiscard]] static Result<std::unique_ptr<PlateDetector>>
	create(std::string_view name, const DetectorOptions &options = {});

	/// Names create() accepts.
	[[nodiscard]] static std::vector<std::string> backends();

protected:
	PlateDetector() = default;
};

} // namespace lethe::detect
