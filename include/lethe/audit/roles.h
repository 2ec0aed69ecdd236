// SPDX-License-Identifier: GPL-3.0-or-later
// Roles, the permission matrix, and the Authorizer that decides and audits every request.
//
// A caller's role comes from its unix credentials: SO_PEERCRED on the daemon's control socket
// (uid, gid, pid) plus its supplementary groups (getgrouplist), mapped to roles by group name
// in the [roles] table of the configuration. Every refusal is written to the audit log.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "lethe/audit/audit_target.h"
#include "lethe/common/result.h"
#include "lethe/policy/policy.h"

namespace lethe::config {
struct Roles;
} // namespace lethe::config

namespace lethe::audit {

class AuditLog;

enum class Role : std::uint8_t {
	None,           ///< no mapped group: may do nothing
	Technician,     ///< config, camera, status, selftest: no access to reads
	PrivacyOfficer, ///< policies, hot-list installs, audit verify/export, retention report
	Investigator,   ///< hit records and retro-hit queries, always with purpose and case
	System,         ///< lethed itself (publish, purge); never granted to a peer
};

/// "none", "technician", "privacy_officer", "investigator", "system".
[[nodiscard]] std::string_view role_name(Role role);
[[nodiscard]] std::optional<Role> role_from_name(std::string_view name);

/// Everything a caller can ask for. Names (action_name) are what the control socket carries.
enum class Action : std::uint8_t {
	Status,          ///< "status"
	ConfigShow,      ///< "config.show"
	ConfigChange,    ///< "config.change" (incl. reload)
	CameraList,      ///< "camera.list"
	CameraSnapshot,  ///< "camera.snapshot"
	SelfTest,        ///< "selftest"
	PolicyShow,      ///< "policy.show"
	PolicyInstall,   ///< "policy.install"
	HotlistShow,     ///< "hotlist.show" (list ids, versions, ages: no plates)
	HotlistInstall,  ///< "hotlist.install"
	AuditVerify,     ///< "audit.verify"
	AuditExport,     ///< "audit.export"
	RetentionReport, ///< "retention.report"
	KeyDestroy,      ///< "keys.destroy" (crypto-erase on demand)
	HitsList,        ///< "hits.list" (needs purpose + case)
	HitsCrop,        ///< "hits.crop": a hit's stored image (needs purpose + case)
	RetroHitQuery,   ///< "query" (needs purpose + case + policy.retro_hit_queries)
	Publish,         ///< "publish" (System only)
	Purge,           ///< "purge" (System only)
	Count
};

[[nodiscard]] std::string_view action_name(Action action);
[[nodiscard]] std::optional<Action> action_from_name(std::string_view name);
[[nodiscard]] const std::vector<Action> &all_actions();
[[nodiscard]] const std::vector<Role> &all_roles();

/// The permission matrix (docs/audit.md): may `role` perform `action` at all?
[[nodiscard]] bool authorize(Role role, Action action);
/// Actions that touch reads of vehicles and so need a purpose code and a case number.
[[nodiscard]] bool requires_purpose(Action action);

/// Group names -> roles, from the [roles] table of the configuration:
///
///     [roles]
///     technician = ["lethe-tech"]
///     privacy_officer = ["lethe-privacy"]
///     investigator = ["lethe-investigator"]
///     organisation = "Example County Sheriff"
///     purpose_codes = ["investigation", "stolen-vehicle", "missing-person"]  # optional
struct RoleMap {
	std::vector<std::string> technician{"lethe-tech"};
	std::vector<std::string> privacy_officer{"lethe-privacy"};
	std::vector<std::string> investigator{"lethe-investigator"};
	std::string organisation;                ///< written into every entry
	std::vector<std::string> purpose_codes;  ///< empty: any well-formed code

	/// Roles held by a member of these groups (never System).
	[[nodiscard]] std::set<Role> roles_for(const std::vector<std::string> &groups) const;

	/// From lethed's parsed configuration (config::Config::roles): the one way a RoleMap is
	/// built from a configuration (lethed, and load() below for the CLI).
	[[nodiscard]] static RoleMap from_config(const config::Roles &roles);
	/// The [roles] table of a configuration file, read by config::load() with the same rules
	/// lethed applies (errors name FILE:LINE); the file's other tables are not read. Refused
	/// if the file is writable by anyone but its owner, or owned by someone other than root
	/// or the current user (a role map anyone can edit grants anything). A missing file gives
	/// the defaults above.
	[[nodiscard]] static Result<RoleMap> load(const std::filesystem::path &path);
};

/// Who is asking: unix credentials and the roles they map to.
struct Principal {
	uid_t uid = static_cast<uid_t>(-1);
	gid_t gid = static_cast<gid_t>(-1);
	pid_t pid = 0;
	std::string user;                 ///< login name (or "uid:N" if unknown)
	std::vector<std::string> groups;  ///< primary and supplementary group names
	std::set<Role> roles;
	std::string organisation;
};

/// Resolve credentials into a Principal (getpwuid_r, getgrouplist, getgrgid_r).
[[nodiscard]] Principal principal_from_ids(uid_t uid, gid_t gid, pid_t pid, const RoleMap &map);
/// The peer of a connected unix socket (SO_PEERCRED).
[[nodiscard]] Result<Principal> peer_principal(int fd, const RoleMap &map);
/// The current process (for CLI paths that act locally).
[[nodiscard]] Principal local_principal(const RoleMap &map);

/// What is asked for. target/recipient describe it for the audit entry.
struct AccessRequest {
	Action action = Action::Status;
	std::string purpose;
	std::string case_number;
	AuditTarget target;        ///< object name, hit plate, or digest of the query terms
	std::string recipient;
};

/// Decides requests and records them. The daemon's control socket holds one; CLI paths that
/// act locally build one over the local AuditLog (see check_local below).
class Authorizer
{
public:
	Authorizer(RoleMap map, AuditLog &log) : map_(std::move(map)), log_(log) {}

	[[nodiscard]] Result<Principal> identify_peer(int fd) const
	{
		return peer_principal(fd, map_);
	}
	[[nodiscard]] Principal identify_local() const { return local_principal(map_); }

	/// Decide. Ok: the role that grants it (the caller then performs the action and calls
	/// record()). Refused (-EACCES, reason in the message): already recorded in the audit
	/// log as outcome "refused". Refusals: no role allows the action; purpose or case missing
	/// or malformed where required; retro-hit queries not allowed by the policy.
	[[nodiscard]] Result<Role> authorize(const Principal &who, const AccessRequest &request,
					     const policy::Policy &policy);

	/// Record what a granted request did (outcome, result count). target, if given, replaces
	/// request.target (e.g. a query's digest becomes the hit plate once it has results).
	[[nodiscard]] Status record(const Principal &who, Role role, const AccessRequest &request,
				    const policy::Policy &policy, Outcome outcome,
				    std::optional<std::int64_t> result_count,
				    const AuditTarget *target = nullptr, std::string reason = {});

	[[nodiscard]] const RoleMap &role_map() const { return map_; }
	[[nodiscard]] AuditLog &log() { return log_; }

private:
	RoleMap map_;
	AuditLog &log_;
};

/// Well-formed purpose code / case number (letters, digits, . _ : / # -; 1..32 / 1..64). A
/// purpose code follows config::valid_purpose_code(), the rule for [roles].purpose_codes.
[[nodiscard]] bool valid_purpose(std::string_view code);
[[nodiscard]] bool valid_case_number(std::string_view id);

} // namespace lethe::audit
