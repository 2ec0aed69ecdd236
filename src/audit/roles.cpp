// SPDX-License-Identifier: GPL-3.0-or-later
// Roles from unix credentials, the permission matrix, and the auditing Authorizer.
#include "lethe/audit/roles.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lethe/audit/audit_log.h"
#include "lethe/common/log.h"
#include "lethe/config/config.h"

namespace lethe::audit {

namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(Action::Count)> kActionNames = {
	"status",       "config.show",     "config.change", "camera.list",  "camera.snapshot",
	"selftest",     "policy.show",     "policy.install", "hotlist.show", "hotlist.install",
	"audit.verify", "audit.export",    "retention.report", "keys.destroy", "hits.list",
	"hits.crop",    "query",           "publish",         "purge",
};

bool charset_ok(std::string_view s, std::size_t max, std::string_view extra)
{
	if (s.empty() || s.size() > max)
		return false;
	return std::all_of(s.begin(), s.end(), [&](char c) {
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		       extra.find(c) != std::string_view::npos;
	});
}

std::string join_roles(const std::set<Role> &roles)
{
	std::string out;
	for (Role r : roles) {
		if (!out.empty())
			out += ",";
		out += role_name(r);
	}
	return out.empty() ? std::string(role_name(Role::None)) : out;
}

} // namespace

std::string_view role_name(Role role)
{
	switch (role) {
	case Role::None:
		return "none";
	case Role::Technician:
		return "technician";
	case Role::PrivacyOfficer:
		return "privacy_officer";
	case Role::Investigator:
		return "investigator";
	case Role::System:
		return "system";
	}
	return "none";
}

std::optional<Role> role_from_name(std::string_view name)
{
	for (Role r : {Role::None, Role::Technician, Role::PrivacyOfficer, Role::Investigator,
		       Role::System})
		if (role_name(r) == name)
			return r;
	return std::nullopt;
}

std::string_view action_name(Action action)
{
	const auto i = static_cast<std::size_t>(action);
	return i < kActionNames.size() ? kActionNames[i] : "unknown";
}

std::optional<Action> action_from_name(std::string_view name)
{
	for (std::size_t i = 0; i < kActionNames.size(); ++i)
		if (kActionNames[i] == name)
			return static_cast<Action>(i);
	return std::nullopt;
}

const std::vector<Action> &all_actions()
{
	static const std::vector<Action> all = [] {
		std::vector<Action> v;
		for (std::size_t i = 0; i < static_cast<std::size_t>(Action::Count); ++i)
			v.push_back(static_cast<Action>(i));
		return v;
	}();
	return all;
}

const std::vector<Role> &all_roles()
{
	static const std::vector<Role> all = {Role::None, Role::Technician, Role::PrivacyOfficer,
					      Role::Investigator, Role::System};
	return all;
}

bool authorize(Role role, Action action)
{
	switch (role) {
	case Role::None:
		return false;
	case Role::Technician:
		switch (action) {
		case Action::Status:
		case Action::ConfigShow:
		case Action::ConfigChange:
		case Action::CameraList:
		case Action::CameraSnapshot:
		case Action::SelfTest:
			return true;
		default:
			return false;
		}
	case Role::PrivacyOfficer:
		switch (action) {
		case Action::PolicyShow:
		case Action::PolicyInstall:
		case Action::HotlistShow:
		case Action::HotlistInstall:
		case Action::AuditVerify:
		case Action::AuditExport:
		case Action::RetentionReport:
		case Action::KeyDestroy:
			return true;
		default:
			return false;
		}
	case Role::Investigator:
		switch (action) {
		case Action::HitsList:
		case Action::HitsCrop:
		case Action::RetroHitQuery:
		case Action::PolicyShow:
			return true;
		default:
			return false;
		}
	case Role::System:
		switch (action) {
		case Action::Publish:
		case Action::Purge:
		case Action::Status:
		case Action::SelfTest:
		case Action::PolicyShow:
		case Action::PolicyInstall:
		case Action::HotlistInstall:
		case Action::RetentionReport:
		case Action::AuditVerify:
			return true;
		default:
			return false;
		}
	}
	return false;
}

bool requires_purpose(Action action)
{
	return action == Action::HitsList || action == Action::HitsCrop ||
	       action == Action::RetroHitQuery;
}

bool valid_purpose(std::string_view code)
{
	return config::valid_purpose_code(code);
}
bool valid_case_number(std::string_view id) { return charset_ok(id, 64, "._:/#-"); }

// ---------------------------------------------------------------------------------------
// RoleMap

std::set<Role> RoleMap::roles_for(const std::vector<std::string> &groups) const
{
	std::set<Role> roles;
	auto member = [&](const std::vector<std::string> &names) {
		return std::any_of(names.begin(), names.end(), [&](const std::string &n) {
			return std::find(groups.begin(), groups.end(), n) != groups.end();
		});
	};
	if (member(technician))
		roles.insert(Role::Technician);
	if (member(privacy_officer))
		roles.insert(Role::PrivacyOfficer);
	if (member(investigator))
		roles.insert(Role::Investigator);
	return roles;
}

RoleMap RoleMap::from_config(const config::Roles &roles)
{
	RoleMap map;
	map.technician = roles.technician;
	map.privacy_officer = roles.privacy_officer;
	map.investigator = roles.investigator;
	map.organisation = roles.organisation;
	map.purpose_codes = roles.purpose_codes;
	return map;
}

Result<RoleMap> RoleMap::load(const std::filesystem::path &path)
{
	struct stat st {};
	if (::stat(path.c_str(), &st) != 0) {
		if (errno == ENOENT)
			return RoleMap{};
		return make_error(-errno, path.string() + ": " + std::strerror(errno));
	}
	if (st.st_uid != 0 && st.st_uid != ::geteuid())
		return make_error(-EPERM, path.string() +
						  ": role map must be owned by root or the current user");
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return make_error(-EPERM, path.string() +
						  ": role map is writable by group or others; refusing it");
	// The [roles] table as lethed reads it, by the same rules; the rest of the file is
	// lethed's business (a CLI tool may be given a file with only [roles]).
	auto config = config::load(path, {.only = {"roles"}});
	if (!config)
		return config.error();
	return from_config(config->roles);
}

// ---------------------------------------------------------------------------------------
// Principals

Principal principal_from_ids(uid_t uid, gid_t gid, pid_t pid, const RoleMap &map)
{
	Principal p;
	p.uid = uid;
	p.gid = gid;
	p.pid = pid;
	p.organisation = map.organisation;
	std::vector<char> buf(16384);
	struct passwd pw {};
	struct passwd *pwp = nullptr;
	std::vector<gid_t> gids{gid};
	if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &pwp) == 0 && pwp) {
		p.user = pw.pw_name;
		int n = 64;
		gids.assign(static_cast<std::size_t>(n), 0);
		if (getgrouplist(pw.pw_name, gid, gids.data(), &n) < 0) {
			gids.assign(static_cast<std::size_t>(n), 0);
			if (getgrouplist(pw.pw_name, gid, gids.data(), &n) < 0)
				n = 0;
		}
		gids.resize(static_cast<std::size_t>(std::max(n, 0)));
		if (std::find(gids.begin(), gids.end(), gid) == gids.end())
			gids.push_back(gid);
	} else {
		p.user = "uid:" + std::to_string(uid);
	}
	for (gid_t g : gids) {
		struct group gr {};
		struct group *grp = nullptr;
		if (getgrgid_r(g, &gr, buf.data(), buf.size(), &grp) == 0 && grp)
			p.groups.emplace_back(gr.gr_name);
	}
	std::sort(p.groups.begin(), p.groups.end());
	p.groups.erase(std::unique(p.groups.begin(), p.groups.end()), p.groups.end());
	p.roles = map.roles_for(p.groups);
	return p;
}

Result<Principal> peer_principal(int fd, const RoleMap &map)
{
	struct ucred cred {};
	socklen_t len = sizeof(cred);
	if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
		return make_error(-errno, std::string("SO_PEERCRED: ") + std::strerror(errno));
	return principal_from_ids(cred.uid, cred.gid, cred.pid, map);
}

Principal local_principal(const RoleMap &map)
{
	return principal_from_ids(::getuid(), ::getgid(), ::getpid(), map);
}

// ---------------------------------------------------------------------------------------
// Authorizer

Result<Role> Authorizer::authorize(const Principal &who, const AccessRequest &request,
				   const policy::Policy &policy)
{
	std::optional<Role> granted;
	for (Role r : who.roles)
		if (audit::authorize(r, request.action)) {
			granted = r;
			break;
		}
	std::string reason;
	if (!granted) {
		reason = "role " + join_roles(who.roles) + " may not " +
			 std::string(action_name(request.action));
	} else if (requires_purpose(request.action)) {
		if (request.purpose.empty())
			reason = "a purpose code is required";
		else if (!valid_purpose(request.purpose))
			reason = "malformed purpose code";
		else if (!map_.purpose_codes.empty() &&
			 std::find(map_.purpose_codes.begin(), map_.purpose_codes.end(),
				   request.purpose) == map_.purpose_codes.end())
			reason = "purpose code '" + request.purpose + "' is not an accepted code";
		else if (request.case_number.empty())
			reason = "a case number is required";
		else if (!valid_case_number(request.case_number))
			reason = "malformed case number";
		else if (request.action == Action::RetroHitQuery && !policy.retro_hit_queries)
			reason = "the policy in force (" + policy.id +
				 ") does not allow retro-hit queries";
	}
	if (reason.empty())
		return *granted;

	AuditEntry e;
	e.actor = who.user;
	if (who.uid != static_cast<uid_t>(-1))
		e.uid = static_cast<std::int64_t>(who.uid);
	e.role = granted ? std::string(role_name(*granted)) : join_roles(who.roles);
	e.organisation = who.organisation;
	e.action = std::string(action_name(request.action));
	e.target = request.target;
	// Malformed values are not copied into the log (they could carry anything).
	e.purpose = valid_purpose(request.purpose) ? request.purpose : std::string();
	e.case_number = valid_case_number(request.case_number) ? request.case_number
								: std::string();
	e.recipient = request.recipient;
	e.outcome = Outcome::Refused;
	e.reason = reason;
	e.policy_hash = policy.hash;
	auto st = log_.append(std::move(e));
	if (!st) {
		LOG(Audit, Error) << "cannot record a refusal: " << st.error().message;
		return make_error(-EACCES, reason + " (and the refusal could not be recorded: " +
						   st.error().message + ")");
	}
	LOG(Audit, Info) << "refused " << action_name(request.action) << " to " << who.user
			 << ": " << reason;
	return make_error(-EACCES, reason);
}

Status Authorizer::record(const Principal &who, Role role, const AccessRequest &request,
			  const policy::Policy &policy, Outcome outcome,
			  std::optional<std::int64_t> result_count, const AuditTarget *target,
			  std::string reason)
{
	AuditEntry e;
	e.actor = who.user;
	if (who.uid != static_cast<uid_t>(-1))
		e.uid = static_cast<std::int64_t>(who.uid);
	e.role = std::string(role_name(role));
	e.organisation = who.organisation;
	e.action = std::string(action_name(request.action));
	if (target)
		e.target = *target;
	else
		e.target = request.target;
	e.purpose = request.purpose;
	e.case_number = request.case_number;
	e.result_count = result_count;
	e.recipient = request.recipient;
	e.outcome = outcome;
	e.reason = std::move(reason);
	e.policy_hash = policy.hash;
	return log_.append(std::move(e));
}

} // namespace lethe::audit
