// SPDX-License-Identifier: GPL-3.0-or-later
// Safe image loading: missing, empty, truncated, non-image and huge files give clear errors.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "lethe/capture/image_file.h"
#include "support/temp_dir.h"

namespace lethe::capture {
namespace {

const std::string kSample = std::string(LETHE_TEST_DATA_DIR) + "/samples/us-front.jpg";

/// A PNG whose header claims `w` x `h` (valid chunk structure, tiny bogus IDAT).
std::string png_header(std::uint32_t w, std::uint32_t h)
{
	auto be = [](std::uint32_t v) {
		return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
				   static_cast<char>(v >> 8), static_cast<char>(v)};
	};
	std::string s = "\x89PNG\r\n\x1a\n";
	s += be(13) + "IHDR" + be(w) + be(h) + std::string("\x08\x02\x00\x00\x00", 5) + be(0);
	s += be(4) + "IDAT" + std::string("\x78\x9c\x00\x00", 4) + be(0);
	s += be(0) + "IEND" + be(0);
	return s;
}

/// A JPEG whose SOF0 claims `w` x `h` (markers only; no real scan data).
std::string jpeg_header(std::uint16_t w, std::uint16_t h)
{
	std::string s = "\xFF\xD8";
	s += std::string("\xFF\xC0\x00\x0B\x08", 5);
	s += static_cast<char>(h >> 8);
	s += static_cast<char>(h & 0xFF);
	s += static_cast<char>(w >> 8);
	s += static_cast<char>(w & 0xFF);
	s += std::string("\x01\x01\x11\x00", 4);
	s += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);
	s += std::string("\x12\x34\x56", 3);
	s += "\xFF\xD9";
	return s;
}

TEST(ImageFile, LoadsAShippedSample)
{
	auto img = load_image_file(kSample);
	ASSERT_TRUE(img.ok()) << img.error().message;
	EXPECT_EQ(img->type(), CV_8UC3);
	EXPECT_GT(img->cols, 100);
	const std::string bytes = test::read_file(kSample);
	auto h = probe_image(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
	ASSERT_TRUE(h.ok());
	EXPECT_EQ(h->format, "jpeg");
	EXPECT_EQ(h->width, img->cols);
	EXPECT_EQ(h->height, img->rows);
}

TEST(ImageFile, PngAndBmpRoundTrip)
{
	test::TempDir dir;
	cv::Mat m(37, 53, CV_8UC3, cv::Scalar(10, 200, 30));
	for (const char *ext : {".png", ".bmp"}) {
		const auto p = (dir / (std::string("x") + ext)).string();
		ASSERT_TRUE(cv::imwrite(p, m));
		auto img = load_image_file(p);
		ASSERT_TRUE(img.ok()) << ext << ": " << img.error().message;
		EXPECT_EQ(img->cols, 53);
		EXPECT_EQ(img->rows, 37);
	}
}

TEST(ImageFile, MissingFile)
{
	auto r = load_image_file("/nonexistent/lethe/none.jpg");
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().code, -ENOENT);
}

TEST(ImageFile, Directory)
{
	test::TempDir dir;
	auto r = load_image_file(dir.path().string());
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().code, -EISDIR);
}

TEST(ImageFile, EmptyFile)
{
	test::TempDir dir;
	test::write_file(dir / "empty.jpg", "");
	auto r = load_image_file((dir / "empty.jpg").string());
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().code, -ENODATA);
	EXPECT_NE(r.error().message.find("empty"), std::string::npos);
}

TEST(ImageFile, TruncatedJpegAndPng)
{
	test::TempDir dir;
	const std::string jpg = test::read_file(kSample);
	for (const double frac : {0.05, 0.5, 0.99}) {
		test::write_file(dir / "cut.jpg", jpg.substr(0, static_cast<std::size_t>(jpg.size() * frac)));
		auto r = load_image_file((dir / "cut.jpg").string());
		ASSERT_FALSE(r.ok()) << frac;
		EXPECT_EQ(r.error().code, -ENODATA) << frac;
		EXPECT_NE(r.error().message.find("truncated"), std::string::npos);
	}
	cv::Mat m(64, 64, CV_8UC3, cv::Scalar(1, 2, 3));
	std::vector<std::uint8_t> png;
	ASSERT_TRUE(cv::imencode(".png", m, png));
	test::write_file(dir / "cut.png", std::string(png.begin(), png.end() - 20));
	auto r = load_image_file((dir / "cut.png").string());
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().code, -ENODATA);
}

TEST(ImageFile, NotAnImage)
{
	test::TempDir dir;
	test::write_file(dir / "notes.jpg", "plate list: not an image at all\n");
	auto r = load_image_file((dir / "notes.jpg").string());
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().code, -EINVAL);
	EXPECT_NE(r.error().message.find("not a JPEG"), std::string::npos);
}

TEST(ImageFile, HugeDimensionsRefusedFromTheHeader)
{
	test::TempDir dir;
	// 20000 x 20000 (1.2 GB decoded): refused before any decoding.
	test::write_file(dir / "huge.png", png_header(20000, 20000));
	test::write_file(dir / "huge.jpg", jpeg_header(20000, 20000));
	for (const char *name : {"huge.png", "huge.jpg"}) {
		auto r = load_image_file((dir / name).string());
		ASSERT_FALSE(r.ok()) << name;
		EXPECT_EQ(r.error().code, -EFBIG) << name;
		EXPECT_NE(r.error().message.find("20000x20000"), std::string::npos) << r.error().message;
	}
	// The limit is the caller's: a small limit refuses a small image too.
	ImageLimits tight;
	tight.max_pixels = 100;
	auto r = load_image_file(kSample, tight);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().code, -EFBIG);
}

TEST(ImageFile, CorruptHeaderDoesNotCrash)
{
	// Random garbage after valid magic numbers.
	cv::RNG rng(7);
	for (int i = 0; i < 200; ++i) {
		std::string s = (i % 3 == 0) ? "\xFF\xD8\xFF" : (i % 3 == 1) ? "\x89PNG\r\n\x1a\n" : "BM";
		const int n = rng.uniform(0, 300);
		for (int k = 0; k < n; ++k)
			s += static_cast<char>(rng.uniform(0, 256));
		auto r = decode_image(reinterpret_cast<const std::uint8_t *>(s.data()), s.size());
		EXPECT_FALSE(r.ok());
	}
}

} // namespace
} // namespace lethe::capture
