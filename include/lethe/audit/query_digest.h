// SPDX-License-Identifier: GPL-3.0-or-later
// Keyed digest of query terms for audit entries (a queried plate that is not a hit).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "lethe/common/result.h"

namespace lethe::audit {

/// Lowercase hex HMAC-SHA256 under the device's audit term key (STATE/audit/terms.key,
/// 32 random bytes, 0600, created on first use) of the normalised plate (ASCII letters
/// upper-cased; spaces and - . _ / : dropped). The same plate gives the same digest on one
/// device, so a privacy officer can see repeated queries for one vehicle without learning it;
/// without the key the digest reveals nothing. See docs/audit.md for the trade-off.
[[nodiscard]] Result<std::string> term_digest(const std::filesystem::path &state_dir,
					      std::string_view plate);

} // namespace lethe::audit
