// SPDX-License-Identifier: GPL-3.0-or-later
// Character-row isolation: find the row of character-like blobs in a plate patch.
#include "lethe/ocr/char_row.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <opencv2/imgproc.hpp>

namespace lethe::ocr {

namespace {

struct Blob {
	cv::Rect r;
	int label = 0;
	int area = 0;
	[[nodiscard]] double cy() const { return r.y + r.height / 2.0; }
};

double median(std::vector<double> v)
{
	if (v.empty())
		return 0.0;
	std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
	return v[v.size() / 2];
}

bool coloured(const cv::Mat &bgr, const cv::Mat &labels, const Blob &b)
{
	if (bgr.empty())
		return false;
	const cv::Mat mask = labels(b.r) == b.label;
	const cv::Scalar m = cv::mean(bgr(b.r), mask);
	const double hi = std::max({m[0], m[1], m[2]});
	const double lo = std::min({m[0], m[1], m[2]});
	return hi - lo > 60.0;
}

/// Best chain of character-like blobs in one binarisation (characters = 255).
std::optional<CharRow> row_in_binary(const cv::Mat &bin, const cv::Mat &bgr,
				     const CharRowOptions &o, bool dark_on_light)
{
	cv::Mat labels, stats, centroids;
	const int n = cv::connectedComponentsWithStats(bin, labels, stats, centroids, 8, CV_32S);
	std::vector<Blob> blobs;
	const int max_h = std::min(o.max_height, static_cast<int>(bin.rows * 0.95));
	for (int i = 1; i < n; ++i) {
		Blob b;
		b.r = cv::Rect(stats.at<int>(i, cv::CC_STAT_LEFT), stats.at<int>(i, cv::CC_STAT_TOP),
			       stats.at<int>(i, cv::CC_STAT_WIDTH), stats.at<int>(i, cv::CC_STAT_HEIGHT));
		b.area = stats.at<int>(i, cv::CC_STAT_AREA);
		b.label = i;
		const double h = b.r.height, w = b.r.width;
		if (h < o.min_height || h > max_h)
			continue;
		if (w > 1.4 * h || w < 0.08 * h || w < 2)
			continue;
		const double fill = b.area / (w * h);
		if (fill < 0.12 || fill > 0.95)
			continue;
		// Blobs cut by the patch edge are partial.
		if (b.r.y == 0 || b.r.y + b.r.height >= bin.rows)
			continue;
		if (o.drop_coloured && coloured(bgr, labels, b))
			continue;
		blobs.push_back(b);
	}
	if (static_cast<int>(blobs.size()) < o.min_chars)
		return std::nullopt;
	std::sort(blobs.begin(), blobs.end(), [](auto &a, auto &b) { return a.r.x < b.r.x; });

	std::vector<std::size_t> best;
	double best_score = 0.0;
	std::vector<bool> used(blobs.size(), false);
	for (std::size_t s = 0; s < blobs.size(); ++s) {
		if (used[s])
			continue;
		std::vector<std::size_t> chain{s};
		std::size_t cur = s;
		for (;;) {
			const Blob &c = blobs[cur];
			const double h = c.r.height;
			std::size_t next = blobs.size();
			double next_gap = 1e9;
			for (std::size_t j = cur + 1; j < blobs.size(); ++j) {
				const Blob &b = blobs[j];
				const double gap = b.r.x - (c.r.x + c.r.width);
				if (gap > 1.3 * h)
					break;
				if (gap < -0.25 * h)
					continue;
				const double hr = std::abs(b.r.height - h) / std::max<double>(b.r.height, h);
				if (hr > 0.25 || std::abs(b.cy() - c.cy()) > 0.3 * h)
					continue;
				if (gap < next_gap) {
					next_gap = gap;
					next = j;
				}
			}
			if (next == blobs.size())
				break;
			chain.push_back(next);
			cur = next;
		}
		for (auto i : chain)
			used[i] = true;
		if (static_cast<int>(chain.size()) < o.min_chars)
			continue;
		std::vector<double> hs;
		for (auto i : chain)
			hs.push_back(blobs[i].r.height);
		const double mh = median(hs);
		// Plate characters are the tallest row on a plate: state names, city strips and
		// slogans have more, smaller characters.
		const double score = std::min<double>(static_cast<double>(chain.size()), 8.0) * mh;
		if (score > best_score) {
			best_score = score;
			best = chain;
		}
	}
	if (best.empty())
		return std::nullopt;
	if (static_cast<int>(best.size()) > o.max_chars + 2)
		return std::nullopt;

	CharRow row;
	row.dark_on_light = dark_on_light;
	row.score = best_score;
	std::vector<double> hs;
	for (auto i : best) {
		row.chars.push_back(blobs[i].r);
		row.bounds |= blobs[i].r;
		hs.push_back(blobs[i].r.height);
	}
	row.char_height = median(hs);

	// Slope: least squares through the character centres.
	if (row.chars.size() >= 2) {
		double sx = 0, sy = 0, sxx = 0, sxy = 0;
		const double k = static_cast<double>(row.chars.size());
		for (const auto &r : row.chars) {
			const double x = r.x + r.width / 2.0, y = r.y + r.height / 2.0;
			sx += x;
			sy += y;
			sxx += x * x;
			sxy += x * y;
		}
		const double den = k * sxx - sx * sx;
		if (den > 1e-6)
			row.angle = std::atan((k * sxy - sx * sy) / den) * 180.0 / CV_PI;
	}

	// Mask: the chain plus fragments inside its band (broken strokes), nothing else.
	row.mask = cv::Mat::zeros(bin.size(), CV_8UC1);
	const double h = row.char_height;
	const double slope = std::tan(row.angle * CV_PI / 180.0);
	const double x_mid = row.bounds.x + row.bounds.width / 2.0;
	double y_mid = 0;
	for (const auto &r : row.chars)
		y_mid += r.y + r.height / 2.0;
	y_mid /= static_cast<double>(row.chars.size());
	std::vector<int> keep;
	for (auto i : best)
		keep.push_back(blobs[i].label);
	for (int i = 1; i < n; ++i) {
		if (std::find(keep.begin(), keep.end(), i) != keep.end())
			continue;
		const cv::Rect r(stats.at<int>(i, cv::CC_STAT_LEFT), stats.at<int>(i, cv::CC_STAT_TOP),
				 stats.at<int>(i, cv::CC_STAT_WIDTH),
				 stats.at<int>(i, cv::CC_STAT_HEIGHT));
		if (r.height < 0.3 * h || r.height > 1.1 * h)
			continue;
		const double cx = r.x + r.width / 2.0;
		const double yc = y_mid + slope * (cx - x_mid);
		if (r.y < yc - 0.65 * h || r.y + r.height > yc + 0.65 * h)
			continue;
		if (r.x < row.bounds.x - 0.5 * h || r.x + r.width > row.bounds.br().x + 0.5 * h)
			continue;
		if (r.width > 1.1 * h)
			continue;
		keep.push_back(i);
	}
	for (int lab : keep)
		row.mask.setTo(255, labels == lab);
	return row;
}

/// The binarisation without its long horizontal strokes: plate frames, rim edges and bumper
/// lines that characters touch would otherwise join them into one blob that is no character.
/// A run is long when it spans more than `length` pixels (more than a character's widest
/// bar). A character's own foot or head bar that ran into the line goes with it (B reads
/// as R): giving back the line pixels next to what is left of the characters was tried and
/// read worse (docs/accuracy.md).
cv::Mat without_long_lines(const cv::Mat &bin, int length)
{
	cv::Mat lines, out;
	cv::morphologyEx(bin, lines, cv::MORPH_OPEN,
			 cv::getStructuringElement(cv::MORPH_RECT, cv::Size(length, 1)));
	cv::subtract(bin, lines, out);
	return out;
}

} // namespace

std::optional<CharRow> find_char_row(const cv::Mat &gray, const cv::Mat &bgr,
				     const CharRowOptions &options)
{
	if (gray.empty() || gray.type() != CV_8UC1)
		return std::nullopt;
	const cv::Rect all(0, 0, gray.cols, gray.rows);
	const cv::Rect focus = options.focus.area() > 0 ? (options.focus & all) : all;

	std::optional<CharRow> best;
	// Wider than a character's widest bar at the expected height (the focus band's).
	const int line_length = std::max(15, focus.height + focus.height / 4);
	auto consider = [&](const cv::Mat &bin, bool dark) {
		auto r = row_in_binary(
			options.strip_long_lines ? without_long_lines(bin, line_length) : bin, bgr,
			options, dark);
		if (r && (!best || r->score > best->score))
			best = std::move(r);
	};

	cv::Mat tmp;
	const double t = cv::threshold(gray(focus), tmp, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
	int block = std::max(15, (focus.height | 1));
	if (block % 2 == 0)
		++block;
	for (const bool dark : {true, false}) {
		if (!dark && !options.try_light_on_dark)
			continue;
		cv::Mat bin;
		cv::threshold(gray, bin, t, 255, dark ? cv::THRESH_BINARY_INV : cv::THRESH_BINARY);
		consider(bin, dark);
		cv::adaptiveThreshold(gray, bin, 255, cv::ADAPTIVE_THRESH_MEAN_C,
				      dark ? cv::THRESH_BINARY_INV : cv::THRESH_BINARY, block, 7);
		consider(bin, dark);
	}
	return best;
}

cv::Mat render_row(const CharRow &row, int char_height, double margin)
{
	if (row.mask.empty() || row.chars.empty())
		return {};
	cv::Rect b = cv::boundingRect(row.mask);
	if (b.area() <= 0)
		return {};
	cv::Mat crop = row.mask(b);
	const double scale = char_height / std::max(1.0, row.char_height);
	cv::Mat scaled;
	cv::resize(crop, scaled, cv::Size(), scale, scale, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
	cv::threshold(scaled, scaled, 127, 255, cv::THRESH_BINARY_INV);
	const int pad = std::max(8, static_cast<int>(char_height * margin));
	cv::Mat out;
	cv::copyMakeBorder(scaled, out, pad, pad, pad, pad, cv::BORDER_CONSTANT, cv::Scalar(255));
	return out;
}

cv::Mat render_row_gray(const cv::Mat &gray, const CharRow &row, int char_height)
{
	if (gray.empty() || row.chars.empty())
		return {};
	const int mx = static_cast<int>(row.char_height * 0.3);
	const int my = static_cast<int>(row.char_height * 0.12);
	const cv::Rect r = cv::Rect(row.bounds.x - mx, row.bounds.y - my, row.bounds.width + 2 * mx,
				    row.bounds.height + 2 * my) &
			   cv::Rect(0, 0, gray.cols, gray.rows);
	if (r.area() <= 0)
		return {};
	cv::Mat crop;
	if (row.dark_on_light)
		crop = gray(r).clone();
	else
		cv::bitwise_not(gray(r), crop);
	cv::normalize(crop, crop, 0, 255, cv::NORM_MINMAX);
	const double scale = char_height / std::max(1.0, row.char_height);
	cv::Mat scaled;
	cv::resize(crop, scaled, cv::Size(), scale, scale,
		   scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
	const int pad = std::max(8, char_height / 4);
	cv::Mat out;
	cv::copyMakeBorder(scaled, out, pad, pad, pad, pad, cv::BORDER_CONSTANT, cv::Scalar(255));
	return out;
}

} // namespace lethe::ocr
