// SPDX-License-Identifier: GPL-3.0-or-later
// Retro-hit lookup over the retention store's keyed digests (confusions, one missing character).
#include "lethe/retention/lookup.h"

#include <algorithm>

#include "lethe/common/crypto.h"
#include "lethe/hotlist/hotlist.h"
#include "lethe/retention/digest.h"

namespace lethe::retention {

Result<PlateLookup> find_plate(Retention &store, std::string_view plate, WallTime since,
			       const policy::HotlistRules &rules)
{
	PlateLookup out;
	const crypto::SecretBytes norm_bytes = normalise_plate(plate);
	std::string norm(norm_bytes.begin(), norm_bytes.end());
	// The spellings to look up, each once, in order of trust; reserved once so that no
	// reallocation leaves an unwiped copy behind.
	std::vector<std::pair<std::string, const char *>> spellings;
	spellings.reserve(kMaxQuerySpellings);
	auto add = [&](const std::string &s, const char *match) {
		if (std::any_of(spellings.begin(), spellings.end(),
				[&](const auto &e) { return e.first == s; }))
			return;
		if (spellings.size() < kMaxQuerySpellings)
			spellings.emplace_back(s, match);
		else
			++out.skipped;
	};
	// Every spelling the matcher would take for `text` (its confusion spellings, or itself).
	auto add_all = [&](const std::string &text, const char *match) {
		if (!rules.match_confusions) {
			add(text, match);
			return;
		}
		std::size_t total = 0;
		std::vector<std::string> v =
			hotlist::confusion_spellings(text, kMaxQuerySpellings + 1, &total);
		for (const auto &s : v)
			add(s, s == norm ? "exact" : match);
		if (total > v.size())
			out.skipped += total - v.size();
		for (auto &s : v)
			crypto::wipe(s);
	};
	add(norm, "exact");
	add_all(norm, "confusion");
	if (rules.max_edit_distance >= 1 && norm.size() >= 5) {
		// Each one-character deletion (ASCII positions only; at least 4 characters left):
		// all plain deletions first, then their confusion spellings.
		std::vector<std::string> deletions;
		deletions.reserve(norm.size());
		for (std::size_t i = 0; i < norm.size(); ++i)
			if (static_cast<unsigned char>(norm[i]) < 0x80) {
				deletions.push_back(norm);
				deletions.back().erase(i, 1);
			}
		for (const auto &d : deletions)
			add(d, "missing_char");
		for (const auto &d : deletions)
			add_all(d, "missing_char");
		for (auto &d : deletions)
			crypto::wipe(d);
	}
	crypto::wipe(norm);
	// All spellings in one pass over the store: each epoch's rows are scanned once.
	std::vector<std::string_view> texts;
	texts.reserve(spellings.size());
	for (const auto &e : spellings)
		texts.emplace_back(e.first);
	auto found = store.find_digests(texts, since);
	if (found) {
		out.searched = spellings.size();
		for (std::size_t i = 0; i < spellings.size(); ++i)
			for (const auto &s : (*found)[i])
				out.sightings.push_back({s.camera, s.seen, spellings[i].second});
	}
	for (auto &e : spellings)
		crypto::wipe(e.first);
	if (!found)
		return found.error();
	std::sort(out.sightings.begin(), out.sightings.end(),
		  [](const PlateSighting &a, const PlateSighting &b) { return a.seen < b.seen; });
	return out;
}

} // namespace lethe::retention
