// SPDX-License-Identifier: GPL-3.0-or-later
// Test policies: policy::strictest() with the retention, identity and recipients a test needs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lethe/policy/policy.h"

namespace lethe::test {

/// How a test policy differs from policy::strictest() besides how long it keeps reads.
struct PolicyOptions {
	std::string id = "test-policy";
	std::uint64_t version = 1;
	std::string hash{}; ///< a signed bundle's hash (hex SHA-256); empty: unsigned
	bool retro_hit_queries = false;
	std::optional<std::chrono::seconds> hit_image{}; ///< unset: as long as hit records
	std::chrono::seconds outbox{0};                  ///< unsent hits
	std::vector<std::string> hotlist_categories{};
	std::vector<policy::Recipient> recipients{};
};

/// policy::strictest() (nothing kept or published, key epochs of 60 s) that keeps non-hit
/// digests for `nonhit` and hit records and their images for `hit`, changed by `options`.
[[nodiscard]] policy::Policy make_policy(std::chrono::seconds nonhit, std::chrono::seconds hit,
					 const PolicyOptions &options = {});

} // namespace lethe::test
