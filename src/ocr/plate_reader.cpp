// SPDX-License-Identifier: GPL-3.0-or-later
// PlateReader: detector + character-row isolation + recogniser + syntax = plate reads.
#include "lethe/ocr/plate_reader.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include <opencv2/imgproc.hpp>

#include "lethe/common/edit_distance.h"
#include "lethe/detect/rectify.h"
#include "lethe/ocr/char_row.h"

namespace lethe::ocr {

namespace {

/// Patch geometry: the detector's region is scaled to this height and grown around.
constexpr int kRegionHeight = 48;
constexpr double kGrowChars = 3.5; ///< horizontally, in region heights, at least
constexpr double kGrowY = 0.6;
/// Characters are rendered this tall for the recogniser.
constexpr int kOcrCharHeight = 32;

/// Plate rim relative to the character row, from the regions' plate standards:
/// width = row width + pad_w x character height, height = k_h x character height,
/// centre offset (dx, dy) in character heights.
struct RimGeometry {
	double pad_w, k_h, dx, dy;
};

RimGeometry rim_geometry(Region r)
{
	switch (r) {
	case Region::Us: // 12 x 6 in, characters about 2.9 in tall
		return {0.9, 2.0, 0.0, 0.0};
	case Region::Eu: // 520 x 110 mm, characters 75-80 mm, blue band on the left
		return {1.5, 1.45, -0.25, 0.0};
	case Region::Br: // 400 x 130 mm, characters 63-65 mm, city strip / band on top
		return {0.95, 2.05, 0.0, -0.15};
	}
	return {0.9, 2.0, 0.0, 0.0};
}

double iou(const cv::Rect &a, const cv::Rect &b)
{
	const double inter = (a & b).area();
	const double uni = a.area() + b.area() - inter;
	return uni > 0 ? inter / uni : 0.0;
}

bool centre_inside(const cv::Rect &a, const cv::Rect &b)
{
	const cv::Point c(a.x + a.width / 2, a.y + a.height / 2);
	return b.contains(c);
}

} // namespace

PlateReader::PlateReader(const ReaderOptions &options,
			 std::unique_ptr<detect::PlateDetector> detector,
			 std::unique_ptr<PlateRecognizer> recognizer,
			 std::unique_ptr<PlateRecognizer> verifier)
	: options_(options), syntax_(PlateSyntax::for_region(options.region)),
	  detector_(std::move(detector)), recognizer_(std::move(recognizer)),
	  verifier_(std::move(verifier))
{
}

PlateReader::~PlateReader() = default;

Result<std::unique_ptr<PlateReader>> PlateReader::create(const ReaderOptions &options)
{
	auto det = detect::PlateDetector::create(options.detector, options.detector_options);
	if (!det)
		return det.error();
	auto rec = PlateRecognizer::create(options.recognizer, options.recognizer_options);
	if (!rec)
		return rec.error();
	return create(options, std::move(det).value(), std::move(rec).value());
}

Result<std::unique_ptr<PlateReader>> PlateReader::create(const ReaderOptions &options,
							  std::unique_ptr<detect::PlateDetector> detector,
							  std::unique_ptr<PlateRecognizer> recognizer)
{
	if (!detector || !recognizer)
		return make_error(-EINVAL, "a plate reader needs a detector and a recognizer");
	if (options.top == 0)
		return make_error(-EINVAL, "top must be at least 1");
	std::unique_ptr<PlateRecognizer> verifier;
	if (!options.verifier.empty()) {
		auto v = PlateRecognizer::create(options.verifier, options.verifier_options);
		if (!v)
			return make_error(v.error().code, "verifier: " + v.error().message);
		verifier = std::move(v).value();
	}
	detect::keep_opencv_serial(); // also for backends built elsewhere
	return std::unique_ptr<PlateReader>(new PlateReader(
		options, std::move(detector), std::move(recognizer), std::move(verifier)));
}

Result<PlateRead> PlateReader::read_region(const cv::Mat &bgr, const cv::Mat &gray,
					   const detect::PlateRegion &region)
{
	PlateRead none;
	if (region.rect.size.height < 4 || region.rect.size.width < 8)
		return none;
	cv::RotatedRect rect = region.rect; // where the character row is
	if (region.whole_plate) {
		// A whole plate: search from where its character row would be on a plate of this
		// region's standard (the patch geometry below is in character heights).
		const RimGeometry g = rim_geometry(options_.region);
		const float ch = region.rect.size.height / static_cast<float>(g.k_h);
		rect.size.height = ch;
		rect.size.width =
			std::max(region.rect.size.width - static_cast<float>(g.pad_w) * ch, 2.0F * ch);
		rect.center -= cv::Point2f(static_cast<float>(g.dx) * ch, static_cast<float>(g.dy) * ch);
	}
	// Grow sideways by a few character heights: the detector may have missed characters at
	// the row's ends.
	const double grow_x = std::clamp(kGrowChars * rect.size.height / rect.size.width, 0.15, 1.5);
	detect::Patch pg = detect::cut_upright(gray, rect, grow_x, kGrowY, kRegionHeight);
	detect::Patch pc;
	const bool colour = options_.region == Region::Eu && !bgr.empty() && bgr.channels() == 3;
	if (colour)
		pc = detect::cut_upright(bgr, rect, grow_x, kGrowY, kRegionHeight);

	CharRowOptions ro;
	ro.min_height = 10;
	ro.max_height = pg.image.rows;
	ro.drop_coloured = colour;
	const int fx = static_cast<int>(pg.image.cols * grow_x / (1.0 + 2.0 * grow_x));
	const int fy = static_cast<int>(pg.image.rows * kGrowY / (1.0 + 2.0 * kGrowY));
	ro.focus = cv::Rect(fx, fy, pg.image.cols - 2 * fx, pg.image.rows - 2 * fy);
	auto read = read_patch(pg, pc, ro, gray.size());
	if (!read || !read->text.empty() || !region.whole_plate)
		return read;
	// A trained detector saw a plate here but nothing was read: a second look with long
	// lines (frames, rim edges) cut away, for characters that touch them. Only after the
	// first fails, so that a row found whole is never replaced by one found in pieces; only
	// for whole plates, not for the classical detector's rows, which any text makes.
	ro.strip_long_lines = true;
	auto again = read_patch(std::move(pg), std::move(pc), ro, gray.size());
	// The look is owed to that plate: a row beside it (the patch reaches a few character
	// heights past the box) is some other text.
	if (again && !again->text.empty() && !centre_inside(again->box, region.box))
		return none;
	return again;
}

Result<PlateRead> PlateReader::read_patch(detect::Patch pg, detect::Patch pc, CharRowOptions ro,
					   const cv::Size &frame)
{
	const bool colour = !pc.image.empty();
	PlateRead none;
	auto row = find_char_row(pg.image, pc.image, ro);
	if (!row)
		return none;

	// Deskew on the row's own slope, then find it again upright.
	if (std::abs(row->angle) > 1.5) {
		const cv::Point2f c(static_cast<float>(row->bounds.x + row->bounds.width / 2.0),
				    static_cast<float>(row->bounds.y + row->bounds.height / 2.0));
		pg = detect::rotate_patch(pg, c, row->angle);
		if (colour)
			pc = detect::rotate_patch(pc, c, row->angle);
		const int m = static_cast<int>(row->char_height * 0.5);
		ro.focus = cv::Rect(row->bounds.x - m, row->bounds.y - m, row->bounds.width + 2 * m,
				    row->bounds.height + 2 * m);
		auto again = find_char_row(pg.image, pc.image, ro);
		if (!again)
			return none;
		row = std::move(again);
	}

	// Three renderings of the row (clean binary with a wide and a narrow white margin, grey
	// crop) read separately: Tesseract errs differently on each (read_lines()).
	std::vector<cv::Mat> lines;
	for (auto line : {render_row(*row, kOcrCharHeight, 0.5), render_row(*row, kOcrCharHeight, 0.25),
			  render_row_gray(pg.image, *row, kOcrCharHeight)})
		if (!line.empty())
			lines.push_back(std::move(line));
	auto read = read_lines(*recognizer_, lines);
	if (!read)
		return read.error();
	std::vector<Candidate> cands = std::move(read).value();
	const ConfidenceCalibration *calibration = &options_.calibration;
	const bool stands_by = !cands.empty() && cands.front().confidence >= options_.min_confidence;
	if (!verifier_) {
		if (!stands_by)
			return none;
	} else if (!stands_by) {
		// The first model read nothing it stands by: the verifier reads the row as the only
		// model would (its own floor), and its read is the plate's.
		auto own = read_lines(*verifier_, lines);
		if (!own)
			return own.error();
		if (own->empty() || own->front().confidence < options_.verifier_min_confidence)
			return none;
		cands = std::move(own).value();
		calibration = &options_.verifier_calibration;
	} else {
		auto vouched = verify(lines, cands.front().text);
		if (!vouched)
			return vouched.error();
		if (!*vouched)
			return none;
	}

	// Plate rim from the row and the region's plate geometry, back in source pixels.
	const RimGeometry g = rim_geometry(options_.region);
	const double ch = row->char_height;
	const double cx = row->bounds.x + row->bounds.width / 2.0 + g.dx * ch;
	const double cy = row->bounds.y + row->bounds.height / 2.0 + g.dy * ch;
	const double pw = row->bounds.width + g.pad_w * ch, ph = g.k_h * ch;
	std::vector<cv::Point2f> corners;
	for (const auto &[sx, sy] : {std::pair{-1, -1}, {1, -1}, {1, 1}, {-1, 1}})
		corners.push_back(detect::to_source(
			pg, cv::Point2f(static_cast<float>(cx + sx * pw / 2.0),
					static_cast<float>(cy + sy * ph / 2.0))));
	PlateRead out;
	out.box = cv::boundingRect(corners) & cv::Rect(cv::Point(0, 0), frame);
	// Verified on the raw score; reported calibrated (a monotone map keeps the order).
	out.text = cands.front().text;
	out.raw_confidence = cands.front().confidence;
	for (auto &c : cands)
		c.confidence = calibration->apply(c.confidence);
	out.confidence = cands.front().confidence;
	out.candidates = std::move(cands);
	return out;
}

bool texts_agree(std::string_view a, std::string_view b)
{
	return edit_distance(a, b) < std::max(a.size(), b.size());
}

Result<bool> PlateReader::verify(const std::vector<cv::Mat> &lines, const std::string &text) const
{
	// Rendering by rendering, stopping at the first that vouches: on a plate that is
	// usually the first, so the check costs one OCR pass, not three.
	for (const auto &line : lines) {
		auto lr = verifier_->recognize_line(line);
		if (!lr)
			return lr.error();
		const auto ranked = syntax_.rank(lr->chars, 1);
		if (!ranked.empty() && ranked.front().confidence >= options_.verifier_min_confidence &&
		    texts_agree(text, ranked.front().text))
			return true;
	}
	return false;
}

Result<std::vector<Candidate>> PlateReader::read_lines(PlateRecognizer &recognizer,
							  const std::vector<cv::Mat> &lines) const
{
	// The text that most renderings read best wins (ties: higher confidence); every text
	// keeps its best confidence across renderings.
	std::vector<Candidate> cands;
	std::vector<int> votes;
	for (const auto &line : lines) {
		auto lr = recognizer.recognize_line(line);
		if (!lr)
			return lr.error();
		bool first = true;
		for (auto &c : syntax_.rank(lr->chars, options_.top)) {
			auto it = std::find_if(cands.begin(), cands.end(),
					       [&](const Candidate &x) { return x.text == c.text; });
			if (it == cands.end()) {
				cands.push_back(std::move(c));
				votes.push_back(0);
				it = cands.end() - 1;
			} else {
				it->confidence = std::max(it->confidence, c.confidence);
			}
			votes[static_cast<std::size_t>(it - cands.begin())] += first ? 1 : 0;
			first = false;
		}
	}
	std::vector<std::size_t> order(cands.size());
	for (std::size_t i = 0; i < order.size(); ++i)
		order[i] = i;
	std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
		return votes[a] > votes[b] ||
		       (votes[a] == votes[b] && cands[a].confidence > cands[b].confidence);
	});
	std::vector<Candidate> sorted;
	for (auto i : order)
		sorted.push_back(std::move(cands[i]));
	// Ranked by votes, so keep confidences non-increasing down the list: a runner-up is
	// never more confident than the text that outvoted it.
	for (std::size_t i = 1; i < sorted.size(); ++i)
		sorted[i].confidence = std::min(sorted[i].confidence, sorted[i - 1].confidence);
	if (sorted.size() > options_.top)
		sorted.resize(options_.top);
	return sorted;
}

Result<std::vector<cv::Rect>> PlateReader::regions(const cv::Mat &frame)
{
	if (frame.empty() || (frame.type() != CV_8UC3 && frame.type() != CV_8UC1))
		return make_error(-EINVAL, "frame must be 8-bit BGR or grey");
	cv::Mat bgr = frame;
	if (frame.type() == CV_8UC1)
		cv::cvtColor(frame, bgr, cv::COLOR_GRAY2BGR);
	auto found = detector_->detect(bgr);
	if (!found)
		return found.error();
	std::vector<cv::Rect> boxes;
	for (const auto &r : *found)
		boxes.push_back(r.rect.boundingRect() | r.box);
	return boxes;
}

Result<std::vector<PlateRead>> PlateReader::read(const cv::Mat &frame)
{
	if (frame.empty())
		return make_error(-EINVAL, "empty frame");
	cv::Mat bgr, gray;
	if (frame.type() == CV_8UC3) {
		bgr = frame;
		cv::cvtColor(frame, gray, cv::COLOR_BGR2GRAY);
	} else if (frame.type() == CV_8UC1) {
		gray = frame;
		cv::cvtColor(frame, bgr, cv::COLOR_GRAY2BGR);
	} else {
		return make_error(-EINVAL, "frame must be 8-bit BGR or grey");
	}
	auto regions = detector_->detect(bgr);
	if (!regions)
		return regions.error();

	std::vector<PlateRead> reads;
	for (const auto &region : *regions) {
		auto r = read_region(bgr, gray, region);
		if (!r)
			return r.error();
		if (!r->text.empty() && r->box.area() > 0)
			reads.push_back(std::move(r).value());
	}
	std::stable_sort(reads.begin(), reads.end(),
			 [](auto &a, auto &b) { return a.raw_confidence > b.raw_confidence; });
	std::vector<PlateRead> kept;
	for (auto &r : reads) {
		bool dup = false;
		for (const auto &k : kept)
			dup = dup || iou(k.box, r.box) > 0.3 || centre_inside(r.box, k.box) ||
			      centre_inside(k.box, r.box);
		if (!dup)
			kept.push_back(std::move(r));
		if (kept.size() >= options_.max_plates)
			break;
	}
	return kept;
}

} // namespace lethe::ocr
