// SPDX-License-Identifier: GPL-3.0-or-later
// Per-region plate syntax: formats, confusable-character resolution, candidate ranking.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "lethe/common/result.h"

namespace lethe::ocr {

/// Plate-syntax regions `lethe read --region` accepts.
enum class Region { Us, Eu, Br };

[[nodiscard]] Result<Region> parse_region(std::string_view name);
[[nodiscard]] std::string_view region_name(Region region);

/// One alternative for one character position: an upper-case A-Z / 0-9 character and its
/// probability in 0..1 as the recogniser reports it.
struct CharChoice {
	char c = '?';
	float p = 0.0F;
};
/// The alternatives for one position, best first.
using CharAlternatives = std::vector<CharChoice>;

/// A plate text and its confidence in 0..1.
struct Candidate {
	std::string text;
	float confidence = 0.0F;
};

/// A plate format: a pattern over `L` (letter A-Z), `N` (digit 0-9) and `A` (either),
/// and its prior weight in 0..1 (how common the format is relative to the region's best).
struct PlateFormat {
	std::string pattern;
	float prior = 1.0F;
};

/// The syntax of one region. Cheap to copy; immutable.
class PlateSyntax
{
public:
	[[nodiscard]] static PlateSyntax for_region(Region region);

	[[nodiscard]] Region region() const { return region_; }
	[[nodiscard]] const std::vector<PlateFormat> &formats() const { return formats_; }
	[[nodiscard]] std::size_t min_length() const { return min_length_; }
	[[nodiscard]] std::size_t max_length() const { return max_length_; }

	/// The best prior of a format `text` matches exactly, or 0 when it matches none. Through
	/// a generic (any-character) format, a text of only letters or only digits keeps a fifth
	/// of the prior: serials mix both; words (frames, signs, state names) do not.
	[[nodiscard]] float match(std::string_view text) const;

	/// Ranked candidates from per-position alternatives (best first, at most `top`,
	/// distinct texts). Every format of a suitable length is tried, allowing up to two
	/// spurious positions (edge marks, bolts, separators) to be dropped; a position whose
	/// class (letter/digit) the format fixes takes the best alternative of that class, or a
	/// confusable counterpart (O/0, I/1, B/8, S/5, Z/2, G/6, ...) at a penalty. A text's
	/// confidence is the square root (tempering: Tesseract's symbol confidences run low) of
	/// format prior x drop penalties x the product of its characters' probabilities: with per-position distributions from the recogniser, the probability
	/// that every character is right, discounted for rarer formats; it falls when the
	/// recogniser is unsure of any character and when texts compete for a position.
	[[nodiscard]] std::vector<Candidate> rank(const std::vector<CharAlternatives> &positions,
						  std::size_t top) const;

	/// Force `text` into `pattern` by swapping confusable characters; empty if impossible
	/// (length differs, or a character has no counterpart of the needed class).
	[[nodiscard]] static std::string coerce(std::string_view text, std::string_view pattern);

private:
	PlateSyntax(Region region, std::vector<PlateFormat> formats);

	Region region_;
	std::vector<PlateFormat> formats_;
	std::size_t min_length_ = 0;
	std::size_t max_length_ = 0;
};

/// The character of the other class that `c` is most often confused with on plates
/// (letter -> digit or digit -> letter), and the penalty factor for that swap; '\0' if none.
struct Confusion {
	char other = '\0';
	float factor = 0.0F;
};
[[nodiscard]] std::vector<Confusion> confusions(char c);

} // namespace lethe::ocr
