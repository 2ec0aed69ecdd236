// SPDX-License-Identifier: GPL-3.0-or-later
// Per-region plate syntax: formats, confusable-character resolution, candidate ranking.
#include "lethe/ocr/plate_syntax.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace lethe::ocr {

namespace {

bool is_letter(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool fits(char c, char cls)
{
	switch (cls) {
	case 'L':
		return is_letter(c);
	case 'N':
		return is_digit(c);
	default:
		return is_letter(c) || is_digit(c);
	}
}

/// Formats as patterns of L/N/A plus "A5-8"-style generic entries expanded here.
void add_generic(std::vector<PlateFormat> &formats, std::size_t from, std::size_t to, float prior)
{
	for (std::size_t n = from; n <= to; ++n)
		formats.push_back({std::string(n, 'A'), prior});
}

/// Penalty for dropping a position as spurious (a bolt, a separator, a frame edge read as
/// a character): edges are where such marks usually are.
float drop_factor(std::size_t index, std::size_t count)
{
	return (index == 0 || index + 1 == count) ? 0.4F : 0.2F;
}

/// Generic (all-`A`) formats: a text of only letters or only digits is rarely a plate
/// (serials mix both; words on plate frames, signs and state names are letters only), so
/// it keeps only this fraction of the format's prior.
constexpr double kPureTextFactor = 0.2;

bool generic(const std::string &pattern)
{
	return pattern.find_first_not_of('A') == std::string::npos;
}

bool pure(std::string_view text)
{
	return std::all_of(text.begin(), text.end(), is_letter) ||
	       std::all_of(text.begin(), text.end(), is_digit);
}

struct Partial {
	std::string text;
	double score;
};

} // namespace

Result<Region> parse_region(std::string_view name)
{
	if (name == "us")
		return Region::Us;
	if (name == "eu")
		return Region::Eu;
	if (name == "br")
		return Region::Br;
	return make_error(-EINVAL, "unknown region '" + std::string(name) + "' (us, eu, br)");
}

std::string_view region_name(Region region)
{
	switch (region) {
	case Region::Us:
		return "us";
	case Region::Eu:
		return "eu";
	case Region::Br:
		return "br";
	}
	return "?";
}

std::vector<Confusion> confusions(char c)
{
	// Pairs seen on plates (plate fonts draw these nearly alike); the factor is how much of
	// the recogniser's probability survives the swap.
	switch (c) {
	case 'O':
		return {{'0', 0.5F}};
	case 'D':
		return {{'0', 0.3F}};
	case 'Q':
		return {{'0', 0.3F}};
	case 'U':
		return {{'0', 0.15F}};
	case 'I':
		return {{'1', 0.5F}};
	case 'L':
		return {{'1', 0.2F}};
	case 'J':
		return {{'1', 0.15F}};
	case 'T':
		return {{'7', 0.3F}, {'1', 0.2F}};
	case 'Z':
		return {{'2', 0.5F}};
	case 'B':
		return {{'8', 0.5F}};
	case 'S':
		return {{'5', 0.5F}};
	case 'G':
		return {{'6', 0.5F}};
	case 'A':
		return {{'4', 0.3F}};
	case 'E':
		return {{'3', 0.15F}};
	case '0':
		return {{'O', 0.5F}, {'D', 0.3F}, {'Q', 0.2F}};
	case '1':
		return {{'I', 0.5F}, {'T', 0.2F}};
	case '2':
		return {{'Z', 0.5F}};
	case '3':
		return {{'E', 0.15F}};
	case '4':
		return {{'A', 0.3F}};
	case '5':
		return {{'S', 0.5F}};
	case '6':
		return {{'G', 0.5F}};
	case '7':
		return {{'T', 0.3F}};
	case '8':
		return {{'B', 0.5F}};
	default:
		return {};
	}
}

PlateSyntax::PlateSyntax(Region region, std::vector<PlateFormat> formats)
	: region_(region), formats_(std::move(formats))
{
	min_length_ = 100;
	for (const auto &f : formats_) {
		min_length_ = std::min(min_length_, f.pattern.size());
		max_length_ = std::max(max_length_, f.pattern.size());
	}
}

PlateSyntax PlateSyntax::for_region(Region region)
{
	std::vector<PlateFormat> f;
	switch (region) {
	case Region::Us:
		// States issue many formats and vanity plates (5-8 characters, any mix), and
		// several states do not distinguish O from 0: the common serial formats only get a
		// mild preference over the generic ones.
		f = {{"LLLNNNN", 1.0F}, {"NLLLNNN", 1.0F}, {"LLLNNN", 0.9F}, {"NNNLLL", 0.8F},
		     {"LLNNNNN", 0.8F}, {"NLLNNN", 0.8F},  {"NNNNLL", 0.7F}, {"LNNNNNN", 0.7F}};
		add_generic(f, 5, 8, 0.6F);
		break;
	case Region::Eu:
		// Common EU national formats (SK/FR/IT/HR LLNNNLL, PL/DE-like LLNNNNN, CZ NLLNNNN,
		// AT/others); other countries' plates still read through the generic formats.
		f = {{"LLNNNLL", 1.0F}, {"LLNNNNN", 0.7F}, {"NLLNNNN", 0.7F}, {"LLLNNNN", 0.6F},
		     {"LNNNNNN", 0.5F}, {"LLNNNN", 0.5F},  {"LLLNNN", 0.5F}};
		add_generic(f, 5, 8, 0.35F);
		break;
	case Region::Br:
		// Grey plates LLL-NNNN and Mercosur LLLNLNN; nothing else is a Brazilian plate.
		f = {{"LLLNNNN", 1.0F}, {"LLLNLNN", 0.9F}};
		break;
	}
	return PlateSyntax(region, std::move(f));
}

float PlateSyntax::match(std::string_view text) const
{
	float best = 0.0F;
	for (const auto &f : formats_) {
		if (f.pattern.size() != text.size())
			continue;
		bool ok = true;
		for (std::size_t i = 0; i < text.size() && ok; ++i)
			ok = fits(text[i], f.pattern[i]);
		if (ok)
			best = std::max(best, f.prior * static_cast<float>(generic(f.pattern) && pure(text)
									    ? kPureTextFactor
									    : 1.0));
	}
	return best;
}

std::string PlateSyntax::coerce(std::string_view text, std::string_view pattern)
{
	if (text.size() != pattern.size())
		return {};
	std::string out(text);
	for (std::size_t i = 0; i < out.size(); ++i) {
		if (fits(out[i], pattern[i]))
			continue;
		char repl = '\0';
		for (const auto &c : confusions(out[i])) {
			if (fits(c.other, pattern[i])) {
				repl = c.other;
				break;
			}
		}
		if (!repl)
			return {};
		out[i] = repl;
	}
	return out;
}

std::vector<Candidate> PlateSyntax::rank(const std::vector<CharAlternatives> &positions,
					 std::size_t top) const
{
	const std::size_t n = positions.size();
	if (n == 0 || top == 0)
		return {};
	const std::size_t beam = std::max<std::size_t>(top * 2, 12);

	// Per position, per class: the options (char, probability), merging the
	// recogniser's alternatives with confusable counterparts at a penalty.
	auto options_for = [&](std::size_t i, char cls) {
		std::map<char, float> m;
		for (const auto &a : positions[i]) {
			if (fits(a.c, cls))
				m[a.c] = std::max(m[a.c], a.p);
			// Confusables are resolved only where the format fixes the class.
			if (cls == 'A')
				continue;
			for (const auto &c : confusions(a.c))
				if (fits(c.other, cls))
					m[c.other] = std::max(m[c.other], a.p * c.factor);
		}
		std::vector<CharChoice> v;
		for (const auto &[c, p] : m)
			if (p > 0.0F)
				v.push_back({c, p});
		std::sort(v.begin(), v.end(), [](auto &a, auto &b) { return a.p > b.p; });
		return v;
	};

	std::map<std::string, double> scored;
	std::vector<std::size_t> keep;
	for (const auto &f : formats_) {
		const std::size_t m = f.pattern.size();
		if (m > n || n - m > 2)
			continue;
		// Every way to drop n - m positions.
		const std::size_t drops = n - m;
		std::vector<std::pair<std::size_t, std::size_t>> drop_sets;
		if (drops == 0)
			drop_sets.emplace_back(n, n);
		else if (drops == 1)
			for (std::size_t a = 0; a < n; ++a)
				drop_sets.emplace_back(a, n);
		else
			for (std::size_t a = 0; a < n; ++a)
				for (std::size_t b = a + 1; b < n; ++b)
					drop_sets.emplace_back(a, b);
		for (const auto &[da, db] : drop_sets) {
			double penalty = f.prior;
			keep.clear();
			for (std::size_t i = 0; i < n; ++i) {
				if (i == da || i == db)
					penalty *= drop_factor(i, n);
				else
					keep.push_back(i);
			}
			std::vector<Partial> partials{{"", penalty}};
			for (std::size_t k = 0; k < m && !partials.empty(); ++k) {
				const auto opts = options_for(keep[k], f.pattern[k]);
				std::vector<Partial> next;
				for (const auto &p : partials)
					for (const auto &o : opts)
						next.push_back({p.text + o.c, p.score * o.p});
				std::sort(next.begin(), next.end(),
					  [](auto &a, auto &b) { return a.score > b.score; });
				if (next.size() > beam)
					next.resize(beam);
				partials = std::move(next);
			}
			for (const auto &p : partials) {
				if (p.text.size() != m)
					continue;
				const double sc = p.score * (generic(f.pattern) && pure(p.text)
								      ? kPureTextFactor
								      : 1.0);
				auto &s = scored[p.text];
				s = std::max(s, sc);
			}
		}
	}
	if (scored.empty())
		return {};

	std::vector<Partial> all;
	for (const auto &[t, sc] : scored)
		all.push_back({t, sc});
	std::sort(all.begin(), all.end(), [](auto &a, auto &b) {
		return a.score > b.score || (a.score == b.score && a.text < b.text);
	});
	std::vector<Candidate> out;
	for (const auto &p : all) {
		if (out.size() >= top)
			break;
		// Tesseract's per-symbol confidences run low on clean characters (0.8-0.9 is
		// typical for a right read), so the product is tempered (square root) before it
		// is reported.
		out.push_back({p.text, static_cast<float>(std::clamp(std::sqrt(p.score), 0.0, 1.0))});
	}
	return out;
}

} // namespace lethe::ocr
