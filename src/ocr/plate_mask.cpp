// SPDX-License-Identifier: GPL-3.0-or-later
// Black out every plate a reader can find in a frame, and prove it can then find none.
#include "lethe/ocr/plate_mask.h"

#include <opencv2/imgproc.hpp>

#include "lethe/common/crypto.h"

namespace lethe::ocr {
namespace {

/// Plate texts die here: the mask needs only where they were.
std::vector<cv::Rect> boxes_of(std::vector<PlateRead> &reads)
{
	std::vector<cv::Rect> out;
	for (auto &r : reads) {
		out.push_back(r.box);
		crypto::wipe(r.text);
		for (auto &c : r.candidates)
			crypto::wipe(c.text);
	}
	return out;
}

cv::Rect padded(const cv::Rect &box, const cv::Size &frame)
{
	const int dx = std::max(2, box.width / 4), dy = std::max(2, box.height / 4);
	const cv::Rect grown(box.x - dx, box.y - dy, box.width + 2 * dx, box.height + 2 * dy);
	return grown & cv::Rect(cv::Point(0, 0), frame);
}

} // namespace

Result<MaskResult> mask_plates(PlateReader &reader, cv::Mat &frame, int max_passes)
{
	MaskResult result;
	for (int pass = 0; pass < max_passes; ++pass) {
		auto regions = reader.regions(frame);
		if (!regions)
			return regions.error();
		auto reads = reader.read(frame);
		if (!reads)
			return reads.error();
		std::vector<cv::Rect> boxes = std::move(regions).value();
		if (pass == 0)
			for (const auto &r : *reads)
				result.found.push_back({r.box, r.confidence});
		for (const auto &b : boxes_of(*reads))
			boxes.push_back(b);
		if (boxes.empty())
			return result;
		for (const auto &b : boxes) {
			const cv::Rect r = padded(b, frame.size());
			if (r.area() == 0)
				continue;
			frame(r).setTo(cv::Scalar::all(0));
			result.masked.push_back(r);
		}
		++result.passes;
	}
	auto reads = reader.read(frame);
	if (!reads)
		return reads.error();
	if (!reads->empty()) {
		(void)boxes_of(*reads);
		return make_error(-EAGAIN, "a plate was still legible after " +
						   std::to_string(max_passes) + " masking passes");
	}
	return result;
}

} // namespace lethe::ocr
