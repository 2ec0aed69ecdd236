// SPDX-License-Identifier: GPL-3.0-or-later
// Policy files (TOML) to the typed Policy, with errors naming the field and file:line:column.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "lethe/common/result.h"
#include "lethe/policy/policy.h"

namespace lethe::policy {

/// Limits (docs/policy.md lists them next to each field).
constexpr Seconds kMaxRetention{10LL * 365 * 86400};   ///< any retention: at most 10 years
constexpr Seconds kMinKeyRotation{60};                  ///< epochs of at least 1 minute
constexpr Seconds kMaxKeyRotation{366LL * 86400};       ///< ... and at most 366 days
constexpr Seconds kMaxHotlistAge{366LL * 86400};        ///< hot-list max_age at most 366 days
constexpr Seconds kMaxValidity{10LL * 366 * 86400};     ///< not_after - not_before <= ~10 years
constexpr std::uint64_t kMaxVersion = 9007199254740991; ///< 2^53 - 1 (exact in JSON)

/// Parse a policy file. `source` names it in messages ("germany.toml"). On failure the error
/// message lists every problem, one per line, as "SOURCE:LINE:COL: FIELD: what is wrong".
/// Unknown keys are errors. The result has hash/key_id/sources empty (set by install).
[[nodiscard]] Result<Policy> parse_policy(std::string_view toml, std::string_view source);

/// True for a valid policy id / recipient name / category: 1-64 of [a-z0-9._-], first a-z0-9.
[[nodiscard]] bool valid_policy_name(std::string_view s);

/// Parse a duration: "0", "90s", "3min", "21d", "1h30min", "2y" (units s, min, h, d, w,
/// y = 365 d, each at most once). A bare "m" is refused as ambiguous (minutes or months?) with
/// a message that spells out both readings. The one duration parser (policies, audit times).
[[nodiscard]] Result<Seconds> parse_duration(std::string_view text);
/// Shortest exact spelling of a duration ("21d", "1h30min", "0s"); parse_duration reads it back.
[[nodiscard]] std::string format_duration(Seconds s);

/// The policy as JSON (durations in seconds, times as UTC strings) for `show --json`.
[[nodiscard]] nlohmann::json to_json(const Policy &p);

} // namespace lethe::policy
