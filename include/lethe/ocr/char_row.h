// SPDX-License-Identifier: GPL-3.0-or-later
// Character-row isolation: find the row of character-like blobs in a plate patch.
#pragma once

#include <optional>
#include <vector>

#include <opencv2/core.hpp>

namespace lethe::ocr {

/// A row of plate characters found in an 8-bit grey patch.
struct CharRow {
	std::vector<cv::Rect> chars; ///< the character blobs, left to right (patch pixels)
	cv::Rect bounds;             ///< union of `chars`
	double angle = 0.0;          ///< slope of the row in degrees (OpenCV sense: y down)
	double char_height = 0.0;    ///< median character height (pixels)
	bool dark_on_light = true;   ///< polarity of the characters
	cv::Mat mask;                ///< 8-bit, patch-sized: 255 on the row's character pixels
	double score = 0.0;          ///< characters (up to 8) x their median height
};

struct CharRowOptions {
	int min_chars = 4;
	int max_chars = 10;
	/// Character height limits in patch pixels.
	int min_height = 10;
	int max_height = 200;
	/// Also look for light characters on a dark background.
	bool try_light_on_dark = true;
	/// Drop blobs whose colour is clearly not black/white/grey (EU bands, emblems).
	bool drop_coloured = false;
	/// Where the detector believes the characters are (patch pixels), for the global
	/// threshold; empty = the whole patch.
	cv::Rect focus;
	/// Remove horizontal strokes longer than 1.25 focus heights (plate frames, rim edges,
	/// bumper lines) from every binarisation first: characters touching one otherwise join
	/// it into a blob that is no character. For a second look, when the row found whole
	/// reads as nothing: it also cuts long bars off characters.
	bool strip_long_lines = false;
};

/// Find the most plate-like row of characters in `gray` (binarised several ways: Otsu on the
/// central area, adaptive mean; both polarities unless disabled). Blobs are kept when their
/// size, aspect and fill are character-like; a row is a chain of such blobs of similar
/// height, aligned and evenly spaced. Blobs much taller than the row (frames, EU bands),
/// much smaller (state names, stickers, bolts) or bluish in `bgr` (EU band) are dropped.
/// `bgr` may be empty.
[[nodiscard]] std::optional<CharRow> find_char_row(const cv::Mat &gray, const cv::Mat &bgr,
						   const CharRowOptions &options = {});

/// Render the row as OCR input: the row's characters black on white, everything else
/// (frames, logos, state names) removed, cropped to the row with a margin, scaled so the
/// characters are `char_height` pixels tall, with a white margin of `margin` character
/// heights (at least 8 px) all round.
[[nodiscard]] cv::Mat render_row(const CharRow &row, int char_height = 32, double margin = 0.5);

/// The same row as a grey crop of `gray` (the patch the row was found in): contrast
/// stretched, dark characters on light, a small margin, scaled so the characters are
/// `char_height` pixels tall. Keeps anti-aliasing that the binary rendering loses.
[[nodiscard]] cv::Mat render_row_gray(const cv::Mat &gray, const CharRow &row,
				      int char_height = 32);

} // namespace lethe::ocr
