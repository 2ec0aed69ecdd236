// SPDX-License-Identifier: GPL-3.0-or-later
// ClassicalDetector: plate candidates from morphology (black-hat, closing) — no trained model.
#include "lethe/detect/classical_detector.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace lethe::detect {

namespace {

/// Levels halve the frame; each finds characters kMinChar-kMaxChar px tall, so two levels
/// cover about 9-130 px characters in a 1280-wide frame.
constexpr int kMinChar = 9;
constexpr int kMaxChar = 64;
constexpr int kLevels = 2;
constexpr int kMinChain = 4;

struct Blob {
	cv::Rect r;
	[[nodiscard]] double cy() const { return r.y + r.height / 2.0; }
};

/// Rows of character-like blobs (dark on light) in one binarisation, in level pixels.
void chains_in(const cv::Mat &bin, std::vector<std::vector<Blob>> &out)
{
	cv::Mat labels, stats, centroids;
	const int n = cv::connectedComponentsWithStats(bin, labels, stats, centroids, 8, CV_32S);
	std::vector<Blob> blobs;
	for (int i = 1; i < n; ++i) {
		const int w = stats.at<int>(i, cv::CC_STAT_WIDTH), h = stats.at<int>(i, cv::CC_STAT_HEIGHT);
		if (h < kMinChar || h > kMaxChar || w > 1.4 * h || w < 0.08 * h || w < 2)
			continue;
		const double fill = stats.at<int>(i, cv::CC_STAT_AREA) / static_cast<double>(w * h);
		if (fill < 0.15 || fill > 0.92)
			continue;
		blobs.push_back({cv::Rect(stats.at<int>(i, cv::CC_STAT_LEFT),
					  stats.at<int>(i, cv::CC_STAT_TOP), w, h)});
	}
	std::sort(blobs.begin(), blobs.end(), [](auto &a, auto &b) { return a.r.x < b.r.x; });
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
				if (b.r.x > c.r.x + c.r.width + 1.3 * h)
					break;
				if (used[j])
					continue;
				const double gap = b.r.x - (c.r.x + c.r.width);
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
		if (chain.size() < kMinChain || chain.size() > 12)
			continue;
		std::vector<Blob> c;
		for (auto i : chain) {
			used[i] = true;
			c.push_back(blobs[i]);
		}
		out.push_back(std::move(c));
	}
}

void detect_level(const cv::Mat &gray, double scale, std::vector<PlateRegion> &out)
{
	cv::Mat small;
	if (scale != 1.0)
		cv::resize(gray, small, cv::Size(), scale, scale, cv::INTER_AREA);
	else
		small = gray;

	std::vector<std::vector<Blob>> chains;
	cv::Mat bin;
	// Dark characters on a lighter plate: local mean threshold over about two
	// character heights.
	cv::adaptiveThreshold(small, bin, 255, cv::ADAPTIVE_THRESH_MEAN_C, cv::THRESH_BINARY_INV, 31,
			      10);
	chains_in(bin, chains);

	for (const auto &c : chains) {
		std::vector<cv::Point2f> pts;
		std::vector<double> hs;
		for (const auto &b : c) {
			pts.emplace_back(static_cast<float>(b.r.x), static_cast<float>(b.r.y));
			pts.emplace_back(static_cast<float>(b.r.br().x), static_cast<float>(b.r.br().y));
			pts.emplace_back(static_cast<float>(b.r.x), static_cast<float>(b.r.br().y));
			pts.emplace_back(static_cast<float>(b.r.br().x), static_cast<float>(b.r.y));
			hs.push_back(b.r.height);
		}
		cv::RotatedRect rr = cv::minAreaRect(pts);
		if (rr.size.width < rr.size.height) {
			std::swap(rr.size.width, rr.size.height);
			rr.angle += 90.0F;
		}
		while (rr.angle > 45.0F)
			rr.angle -= 180.0F;
		while (rr.angle < -45.0F)
			rr.angle += 180.0F;
		if (std::abs(rr.angle) > 40.0F)
			continue;
		std::sort(hs.begin(), hs.end());
		const double spread = (hs.back() - hs.front()) / hs.back();
		const double count = std::min<double>(static_cast<double>(c.size()), 8.0);
		PlateRegion r;
		r.rect = cv::RotatedRect(rr.center / scale,
					 cv::Size2f(static_cast<float>(rr.size.width / scale),
						    static_cast<float>(rr.size.height / scale)),
					 rr.angle);
		r.score = static_cast<float>(std::clamp((count / 8.0) * (1.0 - spread), 0.0, 1.0));
		out.push_back(r);
	}
}

} // namespace

ClassicalDetector::ClassicalDetector(const DetectorOptions &options) : options_(options)
{
	keep_opencv_serial();
}

Result<std::vector<PlateRegion>> ClassicalDetector::detect(const cv::Mat &bgr)
{
	if (bgr.empty())
		return make_error(-EINVAL, "empty frame");
	cv::Mat gray;
	if (bgr.type() == CV_8UC3)
		cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
	else if (bgr.type() == CV_8UC1)
		gray = bgr;
	else
		return make_error(-EINVAL, "frame must be 8-bit BGR or grey");

	const double base =
		std::min(1.0, static_cast<double>(std::max(160, options_.max_width)) / gray.cols);
	std::vector<PlateRegion> all;
	for (int level = 0; level < kLevels; ++level) {
		const double s = base / (1 << (2 * level));
		if (gray.cols * s < 160 || gray.rows * s < 60)
			break;
		detect_level(gray, s, all);
	}

	const cv::Rect frame(0, 0, gray.cols, gray.rows);
	for (auto &r : all)
		r.box = r.rect.boundingRect() & frame;
	return keep_strongest(std::move(all), 0.5, options_.max_regions);
}

} // namespace lethe::detect
