// SPDX-License-Identifier: GPL-3.0-or-later
// Rectification: cut a plate (or character row) out of a frame, upright and at a set size.
#pragma once

#include <array>

#include <opencv2/core.hpp>

namespace lethe::detect {

/// An upright patch cut from a frame, with the transform back to the frame.
struct Patch {
	cv::Mat image;       ///< the patch (same type as the source)
	cv::Mat to_source;   ///< 2x3 CV_64F affine: patch pixel -> source pixel
};

/// Cut the rotated rectangle `rect` (grown by `grow_x`/`grow_y` times its width/height on
/// each side) out of `src`, rotated upright and scaled so that the rect's height becomes
/// `height` pixels. Pixels outside the source are replicated from its border.
[[nodiscard]] Patch cut_upright(const cv::Mat &src, const cv::RotatedRect &rect, double grow_x,
				double grow_y, int height);

/// Rotate a patch about `centre` by `degrees` (counter-clockwise, OpenCV convention),
/// keeping its size and updating its transform back to the source.
[[nodiscard]] Patch rotate_patch(const Patch &patch, cv::Point2f centre, double degrees);

/// Warp the quadrilateral `corners` (top-left, top-right, bottom-right, bottom-left) of
/// `src` onto an upright `size` rectangle (perspective rectification).
[[nodiscard]] cv::Mat warp_quad(const cv::Mat &src, const std::array<cv::Point2f, 4> &corners,
				cv::Size size);

/// Map a point of a patch back to source pixels.
[[nodiscard]] cv::Point2f to_source(const Patch &patch, cv::Point2f p);

} // namespace lethe::detect
