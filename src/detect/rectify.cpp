// SPDX-License-Identifier: GPL-3.0-or-later
// Rectification: cut a plate (or character row) out of a frame, upright and at a set size.
#include "lethe/detect/rectify.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace lethe::detect {

namespace {

/// 2x3 -> 3x3.
cv::Mat homog(const cv::Mat &a)
{
	cv::Mat h = cv::Mat::eye(3, 3, CV_64F);
	a.copyTo(h.rowRange(0, 2));
	return h;
}

} // namespace

Patch cut_upright(const cv::Mat &src, const cv::RotatedRect &rect, double grow_x, double grow_y,
		  int height)
{
	const double w = std::max(1.0, static_cast<double>(rect.size.width));
	const double h = std::max(1.0, static_cast<double>(rect.size.height));
	const double scale = height / h;
	const int out_w = std::max(1, static_cast<int>(std::lround(w * (1.0 + 2.0 * grow_x) * scale)));
	const int out_h = std::max(1, static_cast<int>(std::lround(h * (1.0 + 2.0 * grow_y) * scale)));
	const double a = rect.angle * CV_PI / 180.0;
	const double c = std::cos(a), s = std::sin(a);
	// patch -> source: rotate by angle, scale by 1/scale, centre on rect.center.
	cv::Mat m(2, 3, CV_64F);
	const double k = 1.0 / scale;
	m.at<double>(0, 0) = c * k;
	m.at<double>(0, 1) = -s * k;
	m.at<double>(1, 0) = s * k;
	m.at<double>(1, 1) = c * k;
	const double cx = out_w / 2.0, cy = out_h / 2.0;
	m.at<double>(0, 2) = rect.center.x - (m.at<double>(0, 0) * cx + m.at<double>(0, 1) * cy);
	m.at<double>(1, 2) = rect.center.y - (m.at<double>(1, 0) * cx + m.at<double>(1, 1) * cy);
	Patch p;
	cv::warpAffine(src, p.image, m, cv::Size(out_w, out_h),
		       cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
	p.to_source = m;
	return p;
}

Patch rotate_patch(const Patch &patch, cv::Point2f centre, double degrees)
{
	// rot: patch -> rotated patch. We want rotated -> source = to_source * rot^-1.
	const cv::Mat rot = cv::getRotationMatrix2D(centre, degrees, 1.0);
	Patch out;
	cv::warpAffine(patch.image, out.image, rot, patch.image.size(), cv::INTER_LINEAR,
		       cv::BORDER_REPLICATE);
	const cv::Mat inv = homog(rot).inv();
	const cv::Mat full = homog(patch.to_source) * inv;
	out.to_source = full.rowRange(0, 2).clone();
	return out;
}

cv::Mat warp_quad(const cv::Mat &src, const std::array<cv::Point2f, 4> &corners, cv::Size size)
{
	const std::array<cv::Point2f, 4> dst = {
		cv::Point2f(0, 0), cv::Point2f(static_cast<float>(size.width - 1), 0),
		cv::Point2f(static_cast<float>(size.width - 1), static_cast<float>(size.height - 1)),
		cv::Point2f(0, static_cast<float>(size.height - 1))};
	const cv::Mat h = cv::getPerspectiveTransform(corners.data(), dst.data());
	cv::Mat out;
	cv::warpPerspective(src, out, h, size, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
	return out;
}

cv::Point2f to_source(const Patch &patch, cv::Point2f p)
{
	const auto &m = patch.to_source;
	return {static_cast<float>(m.at<double>(0, 0) * p.x + m.at<double>(0, 1) * p.y +
				   m.at<double>(0, 2)),
		static_cast<float>(m.at<double>(1, 0) * p.x + m.at<double>(1, 1) * p.y +
				   m.at<double>(1, 2))};
}

} // namespace lethe::detect
