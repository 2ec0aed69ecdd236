// SPDX-License-Identifier: GPL-3.0-or-later
// Synthetic replay sequences for demos and tests: stills moved and zoomed over frames.
#include "lethe/capture/synthetic.h"
#include "lethe/capture/image_file.h"

#include <algorithm>
#include <cstdio>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace lethe::capture {

Result<unsigned> write_pass_sequence(const std::vector<std::filesystem::path> &stills,
				     const std::filesystem::path &out_dir,
				     const PassSequenceOptions &o)
{
	if (stills.empty())
		return make_error(-EINVAL, "no still images given");
	if (o.frames_per_vehicle < 1 || o.frames_per_vehicle > 200 || o.gap_frames > 200 ||
	    o.shift_px < -50 || o.shift_px > 50 || o.zoom_per_frame < 0 || o.zoom_per_frame > 0.1)
		return make_error(-EINVAL, "sequence options out of range");
	std::error_code ec;
	std::filesystem::create_directories(out_dir, ec);
	if (ec)
		return make_error(-EIO, "cannot create " + out_dir.string() + ": " + ec.message());

	cv::Size size;
	unsigned n = 0;
	const std::vector<int> jpeg = {cv::IMWRITE_JPEG_QUALITY, 92};
	auto write = [&](const cv::Mat &m) -> Status {
		char name[32];
		std::snprintf(name, sizeof(name), "frame_%05u.jpg", ++n);
		if (!cv::imwrite((out_dir / name).string(), m, jpeg))
			return make_error(-EIO, "cannot write " + (out_dir / name).string());
		return {};
	};
	cv::Mat empty;
	auto gap = [&]() -> Status {
		for (unsigned i = 0; i < o.gap_frames; ++i)
			if (Status s = write(empty); !s)
				return s.error();
		return {};
	};
	for (const auto &still : stills) {
		auto loaded = load_image_file(still.string());
		if (!loaded)
			return make_error(loaded.error().code,
					  still.string() + ": " + loaded.error().message);
		cv::Mat img = std::move(loaded).value();
		if (size.empty()) {
			size = o.width > 0 && o.height > 0 ? cv::Size(o.width, o.height) : img.size();
			// An empty road: a smooth grey gradient, nothing a detector could take for a plate.
			empty.create(size, CV_8UC3);
			for (int y = 0; y < size.height; ++y)
				empty.row(y).setTo(cv::Scalar::all(90 + 60 * y / std::max(1, size.height)));
		}
		if (img.size() != size) {
			// Fit inside the frame, keep the aspect ratio, centre it on the empty scene.
			const double f = std::min(static_cast<double>(size.width) / img.cols,
						  static_cast<double>(size.height) / img.rows);
			cv::Mat scaled;
			cv::resize(img, scaled, cv::Size(), f, f, f < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
			cv::Mat canvas = empty.clone();
			const cv::Rect at((size.width - scaled.cols) / 2, (size.height - scaled.rows) / 2,
					  std::min(scaled.cols, size.width), std::min(scaled.rows, size.height));
			scaled(cv::Rect(0, 0, at.width, at.height)).copyTo(canvas(at));
			img = canvas;
		}
		if (Status s = gap(); !s)
			return s.error();
		const cv::Point2f centre(size.width / 2.0f, size.height / 2.0f);
		for (unsigned k = 0; k < o.frames_per_vehicle; ++k) {
			const double s = 1.0 + o.zoom_per_frame * k;
			cv::Mat m = cv::getRotationMatrix2D(centre, 0.0, s);
			m.at<double>(1, 2) += o.shift_px * static_cast<double>(k);
			cv::Mat frame;
			cv::warpAffine(img, frame, m, size, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
			if (Status st = write(frame); !st)
				return st.error();
		}
	}
	if (Status s = gap(); !s)
		return s.error();
	return n;
}

} // namespace lethe::capture
