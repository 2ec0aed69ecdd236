// SPDX-License-Identifier: GPL-3.0-or-later
// Safe image loading (`lethe read`, replay directories): size limits checked from the header first.
#include "lethe/capture/image_file.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <opencv2/imgcodecs.hpp>

namespace lethe::capture {

namespace {

std::uint32_t be32(const std::uint8_t *p)
{
	return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
	       (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}
std::uint16_t be16(const std::uint8_t *p)
{
	return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t le32(const std::uint8_t *p)
{
	return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
	       (std::uint32_t{p[3]} << 24);
}
std::uint16_t le16(const std::uint8_t *p)
{
	return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

Error truncated(const char *what)
{
	return make_error(-ENODATA, std::string("truncated or corrupt ") + what + " data");
}

/// Walk JPEG markers: dimensions from SOFn, data must run through EOI.
Result<ImageHeader> probe_jpeg(const std::uint8_t *d, std::size_t n)
{
	ImageHeader h{"jpeg", 0, 0};
	std::size_t i = 2;
	bool in_scan = false;
	while (i < n) {
		if (in_scan) {
			// Entropy-coded data: FF 00 is a stuffed byte, FF D0-D7 restart markers.
			const void *ff = std::memchr(d + i, 0xFF, n - i);
			if (!ff)
				break;
			i = static_cast<std::size_t>(static_cast<const std::uint8_t *>(ff) - d);
			if (i + 1 >= n)
				break;
			const std::uint8_t m = d[i + 1];
			if (m == 0x00 || (m >= 0xD0 && m <= 0xD7) || m == 0xFF) {
				i += (m == 0xFF) ? 1 : 2;
				continue;
			}
			in_scan = false;
			continue;
		}
		if (d[i] != 0xFF)
			return truncated("JPEG");
		while (i < n && d[i] == 0xFF)
			++i;
		if (i >= n)
			break;
		const std::uint8_t m = d[i++];
		if (m == 0xD9) { // EOI
			if (h.width <= 0 || h.height <= 0)
				return truncated("JPEG");
			return h;
		}
		if (m == 0x01 || (m >= 0xD0 && m <= 0xD7))
			continue;
		if (i + 2 > n)
			break;
		const std::size_t len = be16(d + i);
		if (len < 2 || i + len > n)
			break;
		const bool sof = (m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC;
		if (sof) {
			if (len < 7)
				return truncated("JPEG");
			h.height = be16(d + i + 3);
			h.width = be16(d + i + 5);
		}
		i += len;
		if (m == 0xDA) { // SOS: scan data follows
			if (h.width <= 0 || h.height <= 0)
				return truncated("JPEG");
			in_scan = true;
		}
	}
	return truncated("JPEG");
}

/// Walk PNG chunks: dimensions from IHDR, chunks must run through IEND.
Result<ImageHeader> probe_png(const std::uint8_t *d, std::size_t n)
{
	ImageHeader h{"png", 0, 0};
	std::size_t i = 8;
	bool first = true;
	while (i + 12 <= n) {
		const std::uint32_t len = be32(d + i);
		const std::uint8_t *type = d + i + 4;
		if (len > n || i + 12 + len > n)
			break;
		if (first) {
			if (std::memcmp(type, "IHDR", 4) != 0 || len < 13)
				return truncated("PNG");
			const std::uint32_t w = be32(d + i + 8), hh = be32(d + i + 12);
			if (w == 0 || hh == 0 || w > 0x7FFFFFFF || hh > 0x7FFFFFFF)
				return truncated("PNG");
			h.width = static_cast<int>(std::min<std::uint32_t>(w, 1U << 30));
			h.height = static_cast<int>(std::min<std::uint32_t>(hh, 1U << 30));
			first = false;
		}
		if (std::memcmp(type, "IEND", 4) == 0)
			return h;
		i += 12 + len;
	}
	return truncated("PNG");
}

Result<ImageHeader> probe_bmp(const std::uint8_t *d, std::size_t n)
{
	if (n < 26)
		return truncated("BMP");
	const std::uint32_t offset = le32(d + 10);
	const std::uint32_t dib = le32(d + 14);
	ImageHeader h{"bmp", 0, 0};
	std::int64_t w = 0, hh = 0;
	int bpp = 0;
	if (dib == 12) {
		w = le16(d + 18);
		hh = le16(d + 20);
		bpp = n >= 26 ? le16(d + 24) : 0;
	} else if (dib >= 40 && n >= 34) {
		w = static_cast<std::int32_t>(le32(d + 18));
		hh = static_cast<std::int32_t>(le32(d + 22));
		bpp = le16(d + 28);
		const std::uint32_t compression = le32(d + 30);
		if (compression != 0 && compression != 3)
			bpp = 0; // RLE: size not known from the header
	} else {
		return truncated("BMP");
	}
	if (hh < 0)
		hh = -hh;
	if (w <= 0 || hh <= 0)
		return truncated("BMP");
	h.width = static_cast<int>(std::min<std::int64_t>(w, 1 << 30));
	h.height = static_cast<int>(std::min<std::int64_t>(hh, 1 << 30));
	if (bpp > 0) {
		const std::uint64_t stride = ((static_cast<std::uint64_t>(w) * bpp + 31) / 32) * 4;
		if (offset + stride * static_cast<std::uint64_t>(hh) > n)
			return truncated("BMP");
	}
	return h;
}

} // namespace

Result<ImageHeader> probe_image(const std::uint8_t *data, std::size_t size)
{
	if (!data || size == 0)
		return make_error(-ENODATA, "empty file");
	static const std::uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
		return probe_jpeg(data, size);
	if (size >= 8 && std::memcmp(data, png_sig, 8) == 0)
		return probe_png(data, size);
	if (size >= 2 && data[0] == 'B' && data[1] == 'M')
		return probe_bmp(data, size);
	return make_error(-EINVAL, "not a JPEG, PNG or BMP image");
}

Status decode_image_into(const std::uint8_t *data, std::size_t size, cv::Mat &out,
			 const ImageLimits &limits)
{
	auto h = probe_image(data, size);
	if (!h)
		return h.error();
	const std::uint64_t pixels = static_cast<std::uint64_t>(h->width) * h->height;
	if (h->width > limits.max_side || h->height > limits.max_side || pixels > limits.max_pixels)
		return make_error(-EFBIG, "image too large: " + std::to_string(h->width) + "x" +
						  std::to_string(h->height) + " (limit " +
						  std::to_string(limits.max_pixels) + " pixels, " +
						  std::to_string(limits.max_side) + " per side)");
	// cv::Mat over the caller's bytes: imdecode only reads it.
	const cv::Mat buf(1, static_cast<int>(size), CV_8UC1, const_cast<std::uint8_t *>(data));
	try {
		cv::imdecode(buf, cv::IMREAD_COLOR, &out);
	} catch (const cv::Exception &e) {
		out.release();
		return make_error(-ENODATA, std::string("cannot decode ") + h->format + ": " + e.what());
	}
	if (out.empty())
		return make_error(-ENODATA, "cannot decode " + h->format + " data");
	if (out.cols != h->width || out.rows != h->height) {
		out.release();
		return make_error(-ENODATA, "decoded size differs from the " + h->format + " header");
	}
	return {};
}

Result<cv::Mat> decode_image(const std::uint8_t *data, std::size_t size, const ImageLimits &limits)
{
	cv::Mat img;
	if (Status st = decode_image_into(data, size, img, limits); !st)
		return st.error();
	return img;
}

Status load_image_file_into(const std::string &path, cv::Mat &out, const ImageLimits &limits)
{
	namespace fs = std::filesystem;
	std::error_code ec;
	const auto st = fs::status(path, ec);
	if (ec || !fs::exists(st))
		return make_error(-ENOENT, "no such file");
	if (fs::is_directory(st))
		return make_error(-EISDIR, "is a directory");
	if (!fs::is_regular_file(st))
		return make_error(-EINVAL, "not a regular file");
	const auto size = fs::file_size(path, ec);
	if (ec)
		return make_error(-EIO, "cannot stat: " + ec.message());
	if (size == 0)
		return make_error(-ENODATA, "empty file");
	if (size > limits.max_file_bytes)
		return make_error(-EFBIG, "file too large: " + std::to_string(size) + " bytes (limit " +
						  std::to_string(limits.max_file_bytes) + ")");
	std::ifstream in(path, std::ios::binary);
	if (!in)
		return make_error(-EIO, "cannot open: " + std::string(std::strerror(errno)));
	std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
	in.read(reinterpret_cast<char *>(bytes.data()), static_cast<std::streamsize>(size));
	if (static_cast<std::uintmax_t>(in.gcount()) != size)
		return make_error(-EIO, "short read");
	return decode_image_into(bytes.data(), bytes.size(), out, limits);
}

Result<cv::Mat> load_image_file(const std::string &path, const ImageLimits &limits)
{
	cv::Mat img;
	if (Status st = load_image_file_into(path, img, limits); !st)
		return st.error();
	return img;
}

bool has_image_extension(const std::filesystem::path &path)
{
	std::string ext = path.extension().string();
	std::transform(ext.begin(), ext.end(), ext.begin(),
		       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
	return std::find(kImageExtensions.begin(), kImageExtensions.end(), ext) !=
	       kImageExtensions.end();
}

Result<std::vector<std::filesystem::path>> list_image_files(const std::filesystem::path &dir)
{
	std::vector<std::filesystem::path> files;
	std::error_code ec;
	for (const auto &e : std::filesystem::directory_iterator(dir, ec))
		if (e.is_regular_file(ec) && has_image_extension(e.path()))
			files.push_back(e.path());
	if (ec)
		return make_error(-EIO, "cannot list " + dir.string() + ": " + ec.message());
	std::sort(files.begin(), files.end());
	return files;
}

} // namespace lethe::capture
