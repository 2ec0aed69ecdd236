// SPDX-License-Identifier: GPL-3.0-or-later
// DnnDetector: plate candidates from Lethe's trained CNN (ONNX through OpenCV's cv::dnn).
#include "lethe/detect/dnn_detector.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "lethe/common/model_files.h"

namespace lethe::detect {

namespace {

/// The network's output stride (input pixels per heat cell).
constexpr int kStride = 8;
/// Predicted boxes narrower than this (input pixels) are noise.
constexpr float kMinBoxWidth = 8.0F;

} // namespace

DnnDetector::DnnDetector(const DetectorOptions &options, cv::dnn::Net net)
	: options_(options), net_(std::move(net)),
	  input_(options.dnn_input, CV_8UC3, cv::Scalar::all(0))
{
}

std::string DnnDetector::default_model_path()
{
	return find_model_file("detector/plates.onnx");
}

Result<std::unique_ptr<DnnDetector>> DnnDetector::create(const DetectorOptions &options)
{
	keep_opencv_serial(); // before cv::dnn builds the network
	const cv::Size in = options.dnn_input;
	if (in.width < 64 || in.height < 64 || in.width % 32 != 0 || in.height % 32 != 0 ||
	    in.width > 4096 || in.height > 4096)
		return make_error(-EINVAL, "dnn detector: input size must be multiples of 32 in 64..4096");
	std::string path = options.model_path;
	if (path.empty()) {
		path = default_model_path();
		if (path.empty())
			return make_error(-ENOENT, "dnn detector: no model (detector/plates.onnx) in " +
							   std::string(LETHE_MODEL_DIR) + " or " +
							   std::string(LETHE_SOURCE_MODEL_DIR));
	} else if (!readable_file(path)) {
		return make_error(-ENOENT, "dnn detector: cannot read model " + path);
	}

	// OpenCV reports a malformed model by throwing: this is the boundary that turns it
	// into an error.
	cv::dnn::Net net;
	cv::Mat out;
	try {
		net = cv::dnn::readNetFromONNX(path);
		if (net.empty())
			return make_error(-EINVAL, "dnn detector: " + path + " holds no network");
		net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
		net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
		const cv::Mat probe(in, CV_8UC3, cv::Scalar::all(0));
		net.setInput(cv::dnn::blobFromImage(probe, 1.0 / 255.0));
		out = net.forward();
	} catch (const cv::Exception &e) {
		return make_error(-EINVAL, "dnn detector: " + path + " is not a usable ONNX model (" +
						   e.msg + ")");
	}
	if (out.dims != 4 || out.size[0] != 1 || out.size[1] != 5 ||
	    out.size[2] != in.height / kStride || out.size[3] != in.width / kStride)
		return make_error(-EINVAL, "dnn detector: " + path +
						   " is not a plate detector (expected a 1x5xH/8xW/8 output)");
	return std::unique_ptr<DnnDetector>(new DnnDetector(options, std::move(net)));
}

Result<std::vector<PlateRegion>> DnnDetector::detect(const cv::Mat &frame)
{
	if (frame.empty())
		return make_error(-EINVAL, "empty frame");
	cv::Mat bgr;
	if (frame.type() == CV_8UC3)
		bgr = frame;
	else if (frame.type() == CV_8UC1)
		cv::cvtColor(frame, bgr, cv::COLOR_GRAY2BGR);
	else
		return make_error(-EINVAL, "frame must be 8-bit BGR or grey");

	// Letterbox: scale to fit, top-left, the rest black (as in training's padding).
	const cv::Size in = options_.dnn_input;
	const double scale = std::min(static_cast<double>(in.width) / bgr.cols,
				      static_cast<double>(in.height) / bgr.rows);
	const cv::Size fit(std::clamp(static_cast<int>(std::lround(bgr.cols * scale)), 1, in.width),
			   std::clamp(static_cast<int>(std::lround(bgr.rows * scale)), 1, in.height));
	input_.setTo(cv::Scalar::all(0));
	cv::resize(bgr, input_(cv::Rect(cv::Point(0, 0), fit)), fit, 0, 0,
		   scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
	cv::Mat out;
	try { // cv::dnn reports failures (e.g. out of memory) by throwing
		net_.setInput(cv::dnn::blobFromImage(input_, 1.0 / 255.0));
		out = net_.forward();
	} catch (const cv::Exception &e) {
		return make_error(-EIO, "dnn detector: " + e.msg);
	}

	const int gh = out.size[2], gw = out.size[3];
	const int plane = gh * gw;
	const auto *heat = out.ptr<float>(0);
	const float *lw = heat + plane, *lh = heat + 2 * plane, *ox = heat + 3 * plane,
		    *oy = heat + 4 * plane;
	const int used_w = (fit.width + kStride - 1) / kStride,
		  used_h = (fit.height + kStride - 1) / kStride;
	const cv::Rect frame_rect(0, 0, bgr.cols, bgr.rows);
	std::vector<PlateRegion> all;
	for (int y = 0; y < std::min(gh, used_h); ++y) {
		for (int x = 0; x < std::min(gw, used_w); ++x) {
			const int i = y * gw + x;
			const float v = heat[i];
			if (v < options_.dnn_threshold)
				continue;
			// A peak: no 8-neighbour is hotter.
			bool peak = true;
			for (int dy = -1; dy <= 1 && peak; ++dy)
				for (int dx = -1; dx <= 1 && peak; ++dx) {
					const int yy = y + dy, xx = x + dx;
					if ((dx || dy) && yy >= 0 && yy < gh && xx >= 0 && xx < gw &&
					    heat[yy * gw + xx] > v)
						peak = false;
				}
			if (!peak)
				continue;
			const float w = std::exp(std::clamp(lw[i], -3.0F, 6.0F)) * kStride;
			const float h = std::exp(std::clamp(lh[i], -3.0F, 6.0F)) * kStride;
			if (w < kMinBoxWidth)
				continue;
			const float cx = (static_cast<float>(x) + ox[i]) * kStride;
			const float cy = (static_cast<float>(y) + oy[i]) * kStride;
			const auto s = static_cast<float>(1.0 / scale);
			PlateRegion r;
			r.rect = cv::RotatedRect(cv::Point2f(cx * s, cy * s), cv::Size2f(w * s, h * s), 0.0F);
			r.box = r.rect.boundingRect() & frame_rect;
			r.score = v;
			r.whole_plate = true;
			if (r.box.area() > 0)
				all.push_back(r);
		}
	}
	return keep_strongest(std::move(all), 0.3, options_.max_regions);
}

} // namespace lethe::detect
