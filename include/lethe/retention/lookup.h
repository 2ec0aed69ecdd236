// SPDX-License-Identifier: GPL-3.0-or-later
// Retro-hit lookup: when and where a plate was seen, with the hot-list tolerance of the policy.
//
// Shared by `lethe query` acting on a state directory and by lethed answering the same query
// over its control socket (the only way with keys kept in RAM). Callers authorise and audit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "lethe/common/result.h"
#include "lethe/policy/policy.h"
#include "lethe/retention/retention.h"

namespace lethe::retention {

/// At most this many spellings of a plate are looked up by one query (each costs one keyed,
/// memory-hard digest per live epoch); the rest are counted in PlateLookup::skipped.
inline constexpr std::size_t kMaxQuerySpellings = 256;

/// One retro-hit answer: where and when, never the plate.
struct PlateSighting {
	std::string camera;
	WallTime seen{};
	/// How the stored read relates to the plate asked for: "exact"; "confusion": it differs
	/// only in characters the reader confuses (O/D/0, I/1, B/8, S/5, Z/2, G/6; what the
	/// hot-list matcher accepts as a hit when the policy sets match_confusions);
	/// "missing_char": the read lacks one character (a hit when the policy allows an edit
	/// distance of 1). Anything but "exact": verify before acting.
	std::string match = "exact";
};

struct PlateLookup {
	std::vector<PlateSighting> sightings; ///< sorted by time
	std::size_t searched = 0;             ///< spellings looked up
	std::size_t skipped = 0;              ///< spellings beyond kMaxQuerySpellings, not looked up
};

/// Sightings of `plate` since `since` in `store` (Retention::find_digest, -EPERM if the
/// policy in force there forbids retro-hit queries), with the tolerance the hot-list matcher
/// applies under `rules`: the plate itself, then (match_confusions) its other confusion
/// spellings, then (max_edit_distance >= 1, plates of 5 or more characters) the spellings
/// with one character missing — at most kMaxQuerySpellings in that order. Temporary
/// spellings of the plate are wiped.
[[nodiscard]] Result<PlateLookup> find_plate(Retention &store, std::string_view plate,
					     WallTime since, const policy::HotlistRules &rules);

} // namespace lethe::retention
