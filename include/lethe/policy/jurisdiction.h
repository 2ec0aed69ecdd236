// SPDX-License-Identifier: GPL-3.0-or-later
// Statutory retention maxima of the jurisdictions the policy presets cover (docs/policy-presets.md).
#pragma once

#include <string_view>

#include "lethe/policy/policy.h"

namespace lethe::policy {

/// What a jurisdiction's law caps, and where it says so. Only the non-hit retention is capped:
/// every statute in the table bounds how long data of vehicles nobody was looking for may be
/// kept; what it allows for hits depends on case facts (evidence, an open investigation) that
/// a device cannot judge, so hit retention stays the signed policy's choice.
struct StatutoryCap {
	std::string_view code;     ///< "US-NH", "DE": the start of a policy's `jurisdiction`
	Seconds nonhit_digest_max; ///< longest lawful life of a non-hit's keyed digest
	std::string_view citation; ///< the statute, as docs/policy-presets.md cites it
};

/// The cap for a policy's `jurisdiction` text, or nullptr where the table has none (e.g.
/// "US-CA": SB 34 leaves retention to the agency's written policy). The code matches the start
/// of the text, case-insensitively, up to a word boundary: "US-NH", "us-nh" and
/// "DE (Land police law)" match; "US-NHX" does not. "DE-BY" matches "DE".
[[nodiscard]] const StatutoryCap *statutory_cap(std::string_view jurisdiction);

} // namespace lethe::policy
