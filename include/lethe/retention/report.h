// SPDX-License-Identifier: GPL-3.0-or-later
// The retention report: what is kept, what was purged, how long a non-hit existed, policies.
//
// Built from the state directory alone (read-only), so `lethe retention report` works while
// the daemon runs and after it stopped. Fields are specified in docs/retention.md.
// report_json() is the canonical form: `--signed` (audit) signs exactly its dump().
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/common/result.h"
#include "lethe/retention/clock.h"

namespace lethe::retention {

struct ClassReport {
	std::string name;             ///< nonhit_digest, hit_record, hit_image
	std::int64_t kept = 0;        ///< records stored now
	std::int64_t purged = 0;      ///< records deleted so far (all time)
	std::int64_t not_stored = 0;  ///< reads never written because retention was 0
	std::optional<WallTime> oldest; ///< time of the oldest record kept
	std::int64_t longest_ms = 0;  ///< longest a record of this class existed (purged or kept)
	std::int64_t retention_s = -1; ///< retention of the effective policy (-1 unknown)
	std::int64_t keys = -1;       ///< live epoch keys of its purpose (-1: RAM mode, unknown)
};

struct PolicyRef {
	std::string id;
	std::uint64_t version = 0;
	std::string hash; ///< hex SHA-256 of the signed bundle ("" for the built-in strictest)
	bool in_force = true;
	std::string problem; ///< why it is not in force ("" if it is)
};

struct Report {
	WallTime generated{};
	std::string state_dir;
	bool database_present = false;
	std::string key_mode; ///< "file", "ram" or "" (unknown)
	std::vector<ClassReport> classes;
	/// Longest time any non-hit existed in any form: as a stored digest (purged or still
	/// kept) or as plaintext in the retention code (µs, rounded up to ms).
	std::int64_t nonhit_longest_ms = 0;
	std::int64_t nonhit_plaintext_max_us = 0;
	std::optional<WallTime> high_water; ///< last retention time persisted
	std::int64_t clock_setback_ms = 0;  ///< largest wall-clock setback detected at start-up
	/// The policy the retention engine last ran with (as recorded in the database).
	std::optional<PolicyRef> applied;
	/// Installed, signed policies (from the policy store) and the effective composition.
	std::vector<PolicyRef> installed;
	std::optional<PolicyRef> effective;
	bool effective_is_fallback = false;
};

/// Read everything from state_dir (never writes; a missing database gives zero counts).
[[nodiscard]] Result<Report> build_report(const std::filesystem::path &state_dir, WallTime now);

[[nodiscard]] nlohmann::json report_json(const Report &report);
[[nodiscard]] std::string report_text(const Report &report);

/// The retention ratchet's high-water mark as last persisted in STATE/retention.db (the time
/// lethed last knew; clock.h), or nothing without a database or mark. Never writes.
[[nodiscard]] std::optional<WallTime> persisted_high_water(const std::filesystem::path &state_dir);

/// "Now" for checks of validity windows outside the retention engine (`lethe policy install`,
/// `lethe hotlist install`, lethed's policy load): the wall clock, but never earlier than the
/// persisted high-water mark, so a clock set back cannot revive an expired bundle.
[[nodiscard]] WallTime trusted_now(const std::filesystem::path &state_dir,
				   WallTime wall = std::chrono::system_clock::now());

} // namespace lethe::retention
