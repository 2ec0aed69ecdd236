// SPDX-License-Identifier: GPL-3.0-or-later
// Hot-list CSV import: strict RFC 4180 parsing of NCIC-style records with line-numbered errors.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <ctime>
#include <cstdio>

#include "lethe/hotlist/hotlist.h"

namespace lethe::hotlist {

namespace {

/// "line N: what", or "SOURCE:N: what" when the text came from a file.
Error line_error(std::string_view source, std::size_t line, const std::string &what)
{
	const std::string where = source.empty() ? "line " : std::string(source) + ":";
	return make_error(-EINVAL, where + std::to_string(line) + ": " + what);
}

/// Split one logical CSV record starting at pos (may span lines inside quotes).
/// Advances pos past the record's line end; counts consumed newlines in lines.
Result<std::vector<std::string>> split_record(std::string_view text, std::size_t &pos,
					      std::string_view source, std::size_t line,
					      std::size_t &lines)
{
	auto err = [source](std::size_t l, const std::string &what) {
		return line_error(source, l, what);
	};
	std::vector<std::string> fields;
	std::string field;
	bool quoted = false;
	bool was_quoted = false;
	lines = 1;
	while (pos < text.size()) {
		const char c = text[pos++];
		if (quoted) {
			if (c == '"') {
				if (pos < text.size() && text[pos] == '"') {
					field += '"';
					++pos;
				} else {
					quoted = false;
				}
			} else {
				if (c == '\n')
					++lines;
				field += c;
			}
			continue;
		}
		if (c == '"') {
			if (!field.empty() || was_quoted)
				return err(line, "field " + std::to_string(fields.size() + 1) +
							 ": quote inside an unquoted field");
			quoted = was_quoted = true;
		} else if (c == ',') {
			fields.push_back(std::move(field));
			field.clear();
			was_quoted = false;
		} else if (c == '\r' && pos < text.size() && text[pos] == '\n') {
			continue;
		} else if (c == '\n') {
			fields.push_back(std::move(field));
			return fields;
		} else {
			if (was_quoted)
				return err(line, "field " + std::to_string(fields.size() + 1) +
							 ": text after a closing quote");
			field += c;
		}
	}
	if (quoted)
		return err(line, "unterminated quoted field");
	fields.push_back(std::move(field));
	return fields;
}

bool valid_token(std::string_view s, bool allow_upper)
{
	if (s.empty() || s.size() > 64)
		return false;
	return std::all_of(s.begin(), s.end(), [&](char c) {
		return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		       c == '.' || (allow_upper && c >= 'A' && c <= 'Z');
	});
}

bool printable(std::string_view s)
{
	return std::all_of(s.begin(), s.end(),
			   [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
}

} // namespace

std::string normalise(std::string_view text)
{
	std::string out;
	out.reserve(text.size());
	for (char c : text) {
		if (c >= 'a' && c <= 'z')
			out += static_cast<char>(c - 'a' + 'A');
		else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			out += c;
		else if (c == ' ' || c == '-' || c == '.')
			continue;
		else {
			crypto::wipe(out);
			return {};
		}
	}
	if (out.size() > kMaxPlateLength) {
		crypto::wipe(out);
		return {};
	}
	return out;
}

namespace {

/// Characters the reader confuses, each class led by its canonical character.
constexpr std::string_view kConfusionClasses[] = {"0OD", "1I", "8B", "5S", "2Z", "6G"};

/// The confusion class of c, or empty if c is confused with nothing.
std::string_view confusion_class(char c)
{
	for (std::string_view cls : kConfusionClasses)
		if (cls.find(c) != std::string_view::npos)
			return cls;
	return {};
}

} // namespace

std::string confusion_canonical(std::string_view normalised)
{
	std::string out(normalised);
	for (char &c : out)
		if (const std::string_view cls = confusion_class(c); !cls.empty())
			c = cls.front();
	return out;
}

std::vector<std::string> confusion_spellings(std::string_view normalised, std::size_t limit,
					     std::size_t *total)
{
	std::size_t count = 1;
	for (char c : normalised)
		if (const std::string_view cls = confusion_class(c); !cls.empty())
			count = count > SIZE_MAX / cls.size() ? SIZE_MAX : count * cls.size();
	if (total)
		*total = count;
	std::vector<std::string> out;
	// Reserved once: no reallocation leaves unwiped copies behind.
	out.reserve(std::min(count, limit));
	// Odometer over the confusable positions, starting with the spelling asked for.
	std::string cur(normalised);
	while (out.size() < limit) {
		out.push_back(cur);
		std::size_t i = 0;
		for (; i < cur.size(); ++i) {
			const std::string_view cls = confusion_class(cur[i]);
			if (cls.empty())
				continue;
			const std::size_t next = (cls.find(cur[i]) + 1) % cls.size();
			cur[i] = cls[next];
			if (cur[i] != normalised[i])
				break; // no carry
		}
		if (i == cur.size())
			break; // every position back where it started: all spellings seen
	}
	crypto::wipe(cur);
	return out;
}

namespace {

Result<std::vector<Entry>> parse_csv_impl(std::string_view text,
					  const std::vector<std::string> *categories,
					  std::string_view source)
{
	auto err = [source](std::size_t l, const std::string &what) {
		return line_error(source, l, what);
	};
	std::vector<Entry> entries;
	std::size_t pos = 0;
	std::size_t line = 1;
	bool header_seen = false;
	while (pos < text.size()) {
		// Comments and blank lines.
		if (text[pos] == '#' || text[pos] == '\n' || text[pos] == '\r') {
			const std::size_t eol = text.find('\n', pos);
			pos = eol == std::string_view::npos ? text.size() : eol + 1;
			++line;
			continue;
		}
		std::size_t lines = 1;
		auto rec = split_record(text, pos, source, line, lines);
		if (!rec)
			return rec.error();
		auto &f = *rec;
		const std::size_t here = line;
		line += lines;
		if (!header_seen) {
			std::string joined;
			for (std::size_t i = 0; i < f.size(); ++i)
				joined += (i ? "," : "") + f[i];
			if (joined != kCsvHeader)
				return err(here, "header must be '" + std::string(kCsvHeader) +
							 "', got '" + joined + "'");
			header_seen = true;
			continue;
		}
		if (f.size() != 8)
			return err(here, "expected 8 fields, got " + std::to_string(f.size()));
		Entry e;
		e.plate = normalise(f[0]);
		if (e.plate.size() < 2)
			return err(here, "plate: want 2 to " + std::to_string(kMaxPlateLength) +
						 " letters/digits (spaces, '-' and '.' ignored)");
		crypto::wipe(f[0]);
		if (!f[1].empty() && !valid_token(f[1], true))
			return err(here, "region '" + f[1] + "': want letters, digits, '-'");
		e.region = f[1];
		if (!valid_token(f[2], true))
			return err(here, "list_id '" + f[2] + "': want 1-64 of [A-Za-z0-9._-]");
		e.list_id = f[2];
		if (!valid_token(f[3], false))
			return err(here, "category '" + f[3] + "': want 1-64 of [a-z0-9._-]");
		if (categories &&
		    std::find(categories->begin(), categories->end(), f[3]) == categories->end())
			return err(here, "category '" + f[3] + "' is not allowed by the policy");
		e.category = f[3];
		if (f[4].size() > 256 || !printable(f[4]))
			return err(here, "reason: at most 256 printable characters");
		e.reason = f[4];
		auto entered = parse_utc(f[5], UtcForm::DateOrDateTime);
		if (!entered)
			return err(here, "entered: " + entered.error().message);
		e.entered = *entered;
		if (!f[6].empty()) {
			auto expires = parse_utc(f[6], UtcForm::DateOrDateTime);
			if (!expires)
				return err(here, "expires: " + expires.error().message);
			if (*expires <= e.entered)
				return err(here, "expires is not after entered");
			e.expires = *expires;
		}
		if (f[7].size() > 64 || !printable(f[7]))
			return err(here, "agency_ref: at most 64 printable characters");
		e.agency_ref = f[7];
		entries.push_back(std::move(e));
	}
	if (!header_seen)
		return err(1, "empty list (no header '" + std::string(kCsvHeader) + "')");
	return entries;
}

} // namespace

Result<std::vector<Entry>> parse_csv(std::string_view text, const policy::HotlistRules &rules)
{
	return parse_csv_impl(text, &rules.categories, {});
}

Result<std::vector<Entry>> parse_csv_syntax(std::string_view text, std::string_view source)
{
	return parse_csv_impl(text, nullptr, source);
}

} // namespace lethe::hotlist
