// SPDX-License-Identifier: GPL-3.0-or-later
// ocr_lines (dev tool, not installed): cut OCR lines from plate crops the way PlateReader does.
//
// Reads tab-separated lines from stdin: IMAGE LABEL OUT_PREFIX REGION (us|eu|br), where IMAGE
// is a tight crop of one whole plate. For each, the crop is treated as a whole-plate region
// (PlateReader::read_region's geometry: the character row expected from the region's plate
// standard, grown, cut upright at 48 px, find_char_row, deskew, find again) and the three
// renderings PlateReader hands to the recogniser are written as OUT_PREFIX_b50.png,
// OUT_PREFIX_b25.png (binary, margin 0.5 / 0.25 character heights) and OUT_PREFIX_g.png (grey
// crop), characters 32 px tall. Prints IMAGE, LABEL, OUT_PREFIX, the number of character
// blobs in the row and "ok"/"norow"/"count" (written only when the blob count equals the
// label's length, unless --any; without --any the reader's second look, long lines
// stripped, is tried when the first gives no such row). Keep the geometry in step with
// src/ocr/plate_reader.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "lethe/detect/plate_detector.h"
#include "lethe/detect/rectify.h"
#include "lethe/ocr/char_row.h"

namespace {

using namespace lethe;

constexpr int kRegionHeight = 48;
constexpr double kGrowChars = 3.5;
constexpr double kGrowY = 0.6;
constexpr int kOcrCharHeight = 32;

struct Rim {
	double pad_w, k_h, dx, dy;
};

Rim rim(const std::string &region)
{
	if (region == "eu")
		return {1.5, 1.45, -0.25, 0.0};
	if (region == "br")
		return {0.95, 2.05, 0.0, -0.15};
	return {0.9, 2.0, 0.0, 0.0};
}

/// One look at the crop (PlateReader::read_patch): find the row, deskew, find it again.
std::optional<ocr::CharRow> find_row(detect::Patch &pg, detect::Patch &pc, ocr::CharRowOptions ro)
{
	auto row = ocr::find_char_row(pg.image, pc.image, ro);
	if (!row)
		return std::nullopt;
	if (std::abs(row->angle) > 1.5) {
		const cv::Point2f c(static_cast<float>(row->bounds.x + row->bounds.width / 2.0),
				    static_cast<float>(row->bounds.y + row->bounds.height / 2.0));
		pg = detect::rotate_patch(pg, c, row->angle);
		if (!pc.image.empty())
			pc = detect::rotate_patch(pc, c, row->angle);
		const int m = static_cast<int>(row->char_height * 0.5);
		ro.focus = cv::Rect(row->bounds.x - m, row->bounds.y - m, row->bounds.width + 2 * m,
				    row->bounds.height + 2 * m);
		return ocr::find_char_row(pg.image, pc.image, ro);
	}
	return row;
}

std::string cut(const std::string &image, const std::string &label, const std::string &prefix,
		const std::string &region, bool any, int &nchars)
{
	nchars = 0;
	const cv::Mat bgr = cv::imread(image, cv::IMREAD_COLOR);
	if (bgr.empty())
		return "unreadable";
	cv::Mat gray;
	cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);

	// Whole plate -> expected character row (PlateReader::read_region, whole_plate branch).
	const Rim g = rim(region);
	const float ch = static_cast<float>(gray.rows / g.k_h);
	cv::RotatedRect rect(cv::Point2f(gray.cols / 2.0F, gray.rows / 2.0F),
			     cv::Size2f(std::max(static_cast<float>(gray.cols - g.pad_w * ch), 2.0F * ch), ch), 0.0F);
	rect.center -= cv::Point2f(static_cast<float>(g.dx) * ch, static_cast<float>(g.dy) * ch);

	const double grow_x = std::clamp(kGrowChars * rect.size.height / rect.size.width, 0.15, 1.5);
	const detect::Patch pg0 = detect::cut_upright(gray, rect, grow_x, kGrowY, kRegionHeight);
	detect::Patch pc0;
	const bool colour = region == "eu";
	if (colour)
		pc0 = detect::cut_upright(bgr, rect, grow_x, kGrowY, kRegionHeight);
	ocr::CharRowOptions ro;
	ro.min_height = 10;
	ro.max_height = pg0.image.rows;
	ro.drop_coloured = colour;
	const int fx = static_cast<int>(pg0.image.cols * grow_x / (1.0 + 2.0 * grow_x));
	const int fy = static_cast<int>(pg0.image.rows * kGrowY / (1.0 + 2.0 * kGrowY));
	ro.focus = cv::Rect(fx, fy, pg0.image.cols - 2 * fx, pg0.image.rows - 2 * fy);
	// The reader's first look, then (whole plates that read as nothing) its second look with
	// long frame/rim lines stripped; here the second look is taken when the first gives no
	// row of the label's length.
	detect::Patch pg = pg0, pc = pc0;
	auto row = find_row(pg, pc, ro);
	if (!any && (!row || static_cast<int>(row->chars.size()) != static_cast<int>(label.size()))) {
		ro.strip_long_lines = true;
		detect::Patch pg2 = pg0, pc2 = pc0;
		auto again = find_row(pg2, pc2, ro);
		if (again && static_cast<int>(again->chars.size()) == static_cast<int>(label.size())) {
			row = std::move(again);
			pg = std::move(pg2);
		}
	}
	// Training only: a third look over the whole crop scaled to 96 px high (crops that are
	// not tight, e.g. the BR camera crops, put the row elsewhere than the plate standard
	// says). The lines are still the reader's renderings of a row its finder found.
	if (!any && (!row || static_cast<int>(row->chars.size()) != static_cast<int>(label.size()))) {
		const double k = 96.0 / gray.rows;
		detect::Patch pg3, pc3;
		cv::resize(gray, pg3.image, cv::Size(), k, k, k < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
		pg3.to_source = (cv::Mat_<double>(2, 3) << 1.0 / k, 0, 0, 0, 1.0 / k, 0);
		if (colour) {
			cv::resize(bgr, pc3.image, pg3.image.size(), 0, 0, cv::INTER_AREA);
			pc3.to_source = pg3.to_source; // rotate_patch needs it
		}
		ocr::CharRowOptions r3;
		r3.min_height = 10;
		r3.max_height = pg3.image.rows;
		r3.drop_coloured = colour;
		auto third = find_row(pg3, pc3, r3);
		if (third && static_cast<int>(third->chars.size()) == static_cast<int>(label.size())) {
			row = std::move(third);
			pg = std::move(pg3);
		}
	}
	if (!row)
		return "norow";
	nchars = static_cast<int>(row->chars.size());
	if (!any && nchars != static_cast<int>(label.size()))
		return "count";
	const std::pair<const char *, cv::Mat> lines[] = {
		{"_b50.png", ocr::render_row(*row, kOcrCharHeight, 0.5)},
		{"_b25.png", ocr::render_row(*row, kOcrCharHeight, 0.25)},
		{"_g.png", ocr::render_row_gray(pg.image, *row, kOcrCharHeight)},
	};
	for (const auto &[suffix, line] : lines)
		if (!line.empty() && !cv::imwrite(prefix + suffix, line))
			return "unwritable";
	return "ok";
}

} // namespace

int main(int argc, char **argv)
{
	const bool any = argc > 1 && std::string(argv[1]) == "--any";
	lethe::detect::keep_opencv_serial();
	std::string line;
	while (std::getline(std::cin, line)) {
		std::istringstream in(line);
		std::string image, label, prefix, region;
		std::getline(in, image, '\t');
		std::getline(in, label, '\t');
		std::getline(in, prefix, '\t');
		std::getline(in, region, '\t');
		int n = 0;
		const std::string status =
			prefix.empty() ? std::string("badline") : cut(image, label, prefix, region, any, n);
		std::cout << image << '\t' << label << '\t' << prefix << '\t' << n << '\t' << status
			  << '\n';
	}
	return 0;
}
