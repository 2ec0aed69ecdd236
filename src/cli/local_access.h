// SPDX-License-Identifier: GPL-3.0-or-later
// Shared by CLI commands that act on device state locally: state dir, role map, audit log.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lethe/audit/audit_log.h"
#include "lethe/audit/roles.h"
#include "lethe/common/result.h"
#include "lethe/policy/policy.h"

namespace lethe::cli {

/// $LETHE_STATE_DIR or /var/lib/lethe.
[[nodiscard]] std::string default_state_dir();
/// $LETHE_CONFIG or /etc/lethe/lethed.toml (its [roles] table maps groups to roles).
[[nodiscard]] std::string default_config_path();
/// $LETHE_TRUST_DIR or /etc/lethe/trust (trusted officers' keys, for the policy in force).
[[nodiscard]] std::string default_trust_dir();

/// The caller (local unix credentials), the audit log and the policy in force, for a CLI
/// path that acts on the state directory itself rather than through the daemon.
struct LocalAccess {
	audit::RoleMap roles;
	audit::Principal who;
	std::unique_ptr<audit::AuditLog> log;
	policy::Policy policy;
	std::unique_ptr<audit::Authorizer> authorizer;

	[[nodiscard]] static Result<std::unique_ptr<LocalAccess>>
	open(const std::filesystem::path &state_dir, const std::filesystem::path &config,
	     const std::filesystem::path &trust_dir = default_trust_dir());

	/// authorize() and print the refusal to stderr; true if granted (role in *granted).
	[[nodiscard]] bool check(const audit::AccessRequest &request, audit::Role *granted);
};

/// The policy in force for state_dir (policy::load_effective: the built-in strictest unless
/// valid signed policies are installed).
[[nodiscard]] policy::Policy policy_in_force(const std::filesystem::path &state_dir,
					     const std::filesystem::path &trust_dir);

/// Record an action taken by a local CLI path that the file permissions on the state directory
/// authorise (policy and hot-list installs run by root or the lethe user): actor and roles
/// from the caller's credentials and the [roles] map of default_config_path(). Never fatal: a
/// failure to record is reported on stderr.
void record_local(const std::filesystem::path &state_dir, std::string_view action,
		  const audit::AuditTarget &target, audit::Outcome outcome, std::string reason,
		  std::string policy_hash);

/// Where and when a plate was seen (a retro-hit answer).
struct SightingRow {
	std::string camera;
	audit::TimePoint seen{};
};
/// A stored hit record.
struct HitRow {
	std::int64_t id = 0;
	std::string plate, camera, list_id, category;
	audit::TimePoint seen{};
};

/// Retro-hit lookup in the retention store (retention::Retention::find_digest; key store in
/// file mode: with keys in RAM only the daemon can answer).
[[nodiscard]] Result<std::vector<SightingRow>>
find_sightings(const std::filesystem::path &state_dir, const policy::Policy &policy,
	       std::string_view plate, audit::TimePoint since);
/// Hit records in the retention store (retention::Retention::hits).
[[nodiscard]] Result<std::vector<HitRow>> list_hits(const std::filesystem::path &state_dir,
						    const policy::Policy &policy,
						    audit::TimePoint since);

} // namespace lethe::cli
