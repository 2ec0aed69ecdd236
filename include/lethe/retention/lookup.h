// SPDX-License-Identifier: GPL-3.0-or-later
// Retro-hit lookup: when and where a plate was seen, with the hot-list tolerance of the policy.
//
// Shared by `lethe query` acting on a state directory and by lethed answering the same query
// over its control socket (the only way with keys kept in RAM). Callers authorise and audit.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lethe/common/result.h"
#include "lethe/retention/retention.h"

namespace lethe::retention {

/// One retro-hit answer: where and when, never the plate.
struct PlateSighting {
	std::string camera;
	WallTime seen{};
	/// "exact", or "missing_char": the device read the plate with one character missing
	/// (what the hot-list matcher accepts as a hit when the policy allows an edit distance
	/// of 1; verify before acting).
	std::string match = "exact";
};

/// Sightings of `plate` since `since` in `store` (Retention::find_digest, -EPERM if the
/// policy in force there forbids retro-hit queries). With `one_missing_char`, reads of the
/// plate with one character missing are found too (each variant costs one keyed digest per
/// live epoch). Sorted by time. Temporary variants of the plate are wiped.
[[nodiscard]] Result<std::vector<PlateSighting>>
find_plate(Retention &store, std::string_view plate, WallTime since, bool one_missing_char);

} // namespace lethe::retention
