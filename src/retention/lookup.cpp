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
	Status st;
	for (const auto &[text, match] : spellings) {
		auto found = store.find_digest(text, since);
		if (!found) {
			st = found.error();
			break;
		}
		++out.searched;
		for (const auto &s : *found)
			out.sightings.push_back({s.camera, s.seen, match});
	}
	for (auto &e : spellings)
		crypto::wipe(e.first);
	if (!st)
		return st.error();
	std::sort(out.sightings.begin(), out.sightings.end(),
		  [](const PlateSighting &a, const PlateSighting &b) { return a.seen < b.seen; });
	return out;
}

} // namespace lethe::retention
