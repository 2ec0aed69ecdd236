// SPDX-License-Identifier: GPL-3.0-or-later
// Safe image loading (`lethe read`, replay directories): size limits checked from the header first.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "lethe/common/result.h"

namespace lethe::capture {

/// The file name extensions of the images load_image_file() decodes (lower case). A
/// directory of images (`lethe read DIR`, a replay camera) is its files with these.
inline constexpr std::array<std::string_view, 4> kImageExtensions = {".jpg", ".jpeg", ".png",
								     ".bmp"};

/// Does the path end in one of kImageExtensions, in any case?
[[nodiscard]] bool has_image_extension(const std::filesystem::path &path);

/// The regular files in `dir` (not recursive) with an image extension, sorted by name.
/// Errors: -EIO the directory cannot be listed.
[[nodiscard]] Result<std::vector<std::filesystem::path>> list_image_files(const std::filesystem::path &dir);

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

/// Load an image file as 8-bit BGR into `out`, reusing its buffer when the size is
/// unchanged (a frame pool's). OpenCV exceptions become errors. Errors as load_image_file().
[[nodiscard]] Status load_image_file_into(const std::string &path, cv::Mat &out,
					  const ImageLimits &limits = {});

/// Load an image file as 8-bit BGR. Errors (each a clear message): -ENOENT missing,
/// -EISDIR a directory, -ENODATA empty or truncated, -EINVAL not an image, -EFBIG over the
/// limits (checked from the header before decoding, so memory stays bounded), -EIO unreadable.
[[nodiscard]] Result<cv::Mat> load_image_file(const std::string &path,
					     const ImageLimits &limits = {});

/// The same, for an encoded image already in memory.
[[nodiscard]] Result<cv::Mat> decode_image(const std::uint8_t *data, std::size_t size,
					  const ImageLimits &limits = {});
/// The same, into `out` (its buffer reused when the size is unchanged).
[[nodiscard]] Status decode_image_into(const std::uint8_t *data, std::size_t size, cv::Mat &out,
				       const ImageLimits &limits = {});

} // namespace lethe::capture
