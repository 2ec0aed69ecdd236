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
/// `rect` is the rotated box of what the backend found: the character row (the classical
/// detector), or the whole plate with some margin (a trained detector; `whole_plate` set).
/// `box` is its axis-aligned bounding box, clipped to the image. `score` ranks regions within
/// one frame (higher is more plate-like; backends document their scale, callers must not
/// compare scores across backends).
struct PlateRegion {
	cv::RotatedRect rect;
	cv::Rect box;
	float score = 0.0F;
	bool whole_plate = false;
};

/// Options shared by all backends; a backend ignores what it has no use for.
struct DetectorOptions {
	/// Most regions returned per frame, best first.
	std::size_t max_regions = 12;
	/// Frames are analysed at most this wide (pixels); larger frames are scaled down.
	int max_width = 1280;
	/// Trained detector ("dnn", "both"): the ONNX file; empty = models/detector/plates.onnx
	/// from the installed model directory, else the source tree's.
	std::string model_path;
	/// Trained detector: the network's input size (multiples of 32), fixed per camera so that
	/// cv::dnn allocates once; frames are scaled to fit it.
	cv::Size dnn_input{640, 384};
	/// Trained detector: plate-centre heat (0..1) a region needs.
	float dnn_threshold = 0.6F;
};

/// Makes OpenCV run its loops serially in this process (cv::setNumThreads(1)), once; every
/// detector and reader factory calls it. Lethe parallelises across readers (one per worker
/// thread), never inside one: OpenCV's own pool (TBB in Debian's build) would only
/// oversubscribe the cores under busy workers, make "one thread" in the benchmarks untrue,
/// and run our buffers on pool threads whose hand-offs ThreadSanitizer cannot see (TBB is
/// not instrumented), burying real races under false reports. The counterpart of
/// ocr::keep_ocr_serial() for Tesseract's OpenMP.
void keep_opencv_serial();

/// Intersection over union of two boxes (0 when both are empty).
[[nodiscard]] double box_iou(const cv::Rect &a, const cv::Rect &b);

/// Best-first suppression shared by the backends: sorts by score, drops empty boxes and any
/// box overlapping a kept one by more than `max_iou`, keeps at most `max_regions`.
[[nodiscard]] std::vector<PlateRegion> keep_strongest(std::vector<PlateRegion> regions,
						      double max_iou, std::size_t max_regions);

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

	/// Backends by name: "classical" (rows of character-like blobs, no model), "dnn" (the
	/// trained CNN, options.model_path), "both" (classical rows plus the CNN's other plates).
	[[nodiscard]] static Result<std::unique_ptr<PlateDetector>>
	create(std::string_view name, const DetectorOptions &options = {});

	/// Names create() accepts.
	[[nodiscard]] static std::vector<std::string> backends();

protected:
	PlateDetector() = default;
};

} // namespace lethe::detect
