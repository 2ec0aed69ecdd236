// SPDX-License-Identifier: GPL-3.0-or-later
// DnnDetector: plate candidates from Lethe's trained CNN (ONNX through OpenCV's cv::dnn).
#pragma once

#include <memory>
#include <string>

#include <opencv2/dnn.hpp>

#include "lethe/detect/plate_detector.h"

namespace lethe::detect {

/// A small CenterNet-style CNN (models/train/train_detector.py, models/detector/plates.onnx):
/// input 1x3xHxW BGR scaled to 0..1, output 1x5x(H/8)x(W/8) — plate-centre heat (0..1),
/// log box width and height in cells, centre offset in cells. The frame is scaled to fit the
/// fixed input size (options.dnn_input, letterboxed top-left, so the network is allocated
/// once), heat peaks above options.dnn_threshold become regions. Region rects are the
/// axis-aligned plate boxes the network predicts: looser than the plate rim, so the reader
/// finds the character row inside them. Scores are the heat peaks (0..1).
class DnnDetector final : public PlateDetector
{
public:
	/// Loads options.model_path, or models/detector/plates.onnx from the installed model
	/// directory (then the source tree's) when it is empty. A missing, unreadable or
	/// foreign model is an error naming the file.
	[[nodiscard]] static Result<std::unique_ptr<DnnDetector>> create(const DetectorOptions &options);

	/// Where create() looks for the model when options.model_path is empty; "" if nowhere.
	[[nodiscard]] static std::string default_model_path();

	[[nodiscard]] std::string_view name() const override { return "dnn"; }
	[[nodiscard]] Result<std::vector<PlateRegion>> detect(const cv::Mat &bgr) override;

private:
	DnnDetector(const DetectorOptions &options, cv::dnn::Net net);

	DetectorOptions options_;
	cv::dnn::Net net_;
	cv::Mat input_; ///< letterboxed frame, options_.dnn_input, reused
};

} // namespace lethe::detect
