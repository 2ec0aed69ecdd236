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
#include "lethe/common/crypto.h"
#include "lethe/common/result.h"
#include "lethe/policy/policy.h"
#include "lethe/retention/lookup.h"

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

/// The trusted officers' keys that go with the configuration `config`: $LETHE_TRUST_DIR if
/// set, else its `[device] trust_dir`, else /etc/lethe/trust (no file, or one that does not
/// parse).
[[nodiscard]] std::string trust_dir_of(const std::filesystem::path &config);

/// The policy in force for state_dir (policy::load_effective: the built-in strictest unless
/// valid signed policies are installed).
[[nodiscard]] policy::Policy policy_in_force(const std::filesystem::path &state_dir,
					     const std::filesystem::path &trust_dir);

/// Is state_dir the device's state directory: the `[device] state_dir` of the configuration
/// file `config` (/var/lib/lethe if the file does not set it or does not exist)? Paths are
/// compared after resolving symbolic links. A configuration that exists but cannot be read
/// or parsed counts as naming state_dir (fail closed).
[[nodiscard]] bool is_device_state_dir(const std::filesystem::path &state_dir,
				       const std::filesystem::path &config);

/// Gate for local commands that change the device's state or speak for it (policy install,
/// hot-list install, signed retention report). On the device's state directory
/// (is_device_state_dir) the caller must hold a role that may `action` (docs/audit.md); a
/// refusal is printed with `command` and recorded in the audit log, and false is returned.
/// On any other directory (staging an image, tests) no role is checked. Either way the caller
/// records what it then does with record_local().
[[nodiscard]] bool authorize_local_change(const std::filesystem::path &state_dir,
					  const std::filesystem::path &config,
					  const std::filesystem::path &trust_dir,
					  audit::Action action, const audit::AuditTarget &target,
					  const char *command);

/// Record an action taken by a local CLI path on a state directory: actor, uid and roles from
/// the caller's credentials and the [roles] map of `config`. Never fatal: a failure to record
/// is reported on stderr.
void record_local(const std::filesystem::path &state_dir, std::string_view action,
		  const audit::AuditTarget &target, audit::Outcome outcome, std::string reason,
		  std::string policy_hash,
		  const std::filesystem::path &config = default_config_path());

} // namespace lethe::cli
