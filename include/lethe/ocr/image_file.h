// SPDX-License-Identifier: GPL-3.0-or-later
// Safe image loading: size limits checked from the file header before any decoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <opencv2/core.hpp>

#include "lethe/common/result.h"

namespace lethe::ocr {

struct ImageLimits {
	std::uintmax_t max_file_bytes = 64U << 20; ///< larger files are refused unread
	std::uint64_t max_pixels = 40'000'000;     ///< width x height, from the header
	int max_side = 16384;                      ///< either dimension, from the header
};

/// What the header says about an encoded image.
struct ImageHeader {
	std::string format; ///< "jpeg", "png" or "bmp"
	int width = 0;
	int height = 0;
};

/// Parse the header of an encoded JPEG, PNG or BMP in memory and check that the data is
/// complete (JPEG: segments through EOI; PNG: chunks through IEND; BMP: pixel data size).
/// Errors: -EINVAL not an image we decode, -ENODATA truncated/corrupt.
[[nodiscard]] Result<ImageHeader> probe_image(const std::uint8_t *data, std::size_t size);

/// Load an image file as 8-bit BGR. Errors (each a clear message): -ENOENT missing,
/// -EISDIR a directory, -ENODATA empty or truncated, -EINVAL not an image, -EFBIG over the
/// limits (checked from the header before decoding, so memory stays bounded), -EIO unreadable.
[[nodiscard]] Result<cv::Mat> load_image_file(const std::string &path,
					     const ImageLimits &limits = {});

/// The same, for an encoded image already in memory.
[[nodiscard]] Result<cv::Mat> decode_image(const std::uint8_t *data, std::size_t size,
					  const ImageLimits &limits = {});

} // namespace lethe::ocr
