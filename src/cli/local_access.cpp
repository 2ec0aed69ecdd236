// SPDX-License-Identifier: GPL-3.0-or-later
// Local access for CLI commands: caller's roles, the audit log, the policy in force.
#include "cli/local_access.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "cli/arguments.h"
#include "lethe/config/config.h"
#include "lethe/policy/store.h"
#include "lethe/common/crypto.h"
#include "lethe/retention/digest.h"
#include "lethe/retention/lookup.h"
#include "lethe/retention/retention.h"

namespace lethe::cli {

std::string default_state_dir()
{
	return env_or("LETHE_STATE_DIR", "/var/lib/lethe");
}

std::string default_config_path()
{
	return env_or("LETHE_CONFIG", "/etc/lethe/lethed.toml");
}

std::string default_trust_dir()
{
	return env_or("LETHE_TRUST_DIR", "/etc/lethe/trust");
}

policy::Policy policy_in_force(const std::filesystem::path &state_dir,
			       const std::filesystem::path &trust_dir)
{
	return policy::load_effective(state_dir, trust_dir).policy;
}

Result<std::unique_ptr<LocalAccess>> LocalAccess::open(const std::filesystem::path &state_dir,
						       const std::filesystem::path &config,
						       const std::filesystem::path &trust_dir)
{
	auto map = audit::RoleMap::load(config);
	if (!map)
		return map.error();
	audit::AuditLogOptions opts;
	opts.state_dir = state_dir;
	auto log = audit::AuditLog::open(opts);
	if (!log)
		return make_error(log.error().code, "audit log: " + log.error().message);
	auto access = std::make_unique<LocalAccess>();
	access->roles = std::move(map.value());
	access->who = audit::local_principal(access->roles);
	access->log = std::move(log.value());
	access->policy = policy_in_force(state_dir, trust_dir);
	access->authorizer = std::make_unique<audit::Authorizer>(access->roles, *access->log);
	return access;
}

namespace {

/// The [device] table of the configuration file `config`, read by config::load() as lethed
/// reads it (the rest of the file is not read): the defaults if the file is not there; nullopt
/// if it exists but cannot be read, or lethed would refuse its [device] table.
std::optional<config::Device> device_of(const std::filesystem::path &config)
{
	std::error_code ec;
	if (!std::filesystem::exists(config, ec))
		return ec ? std::nullopt : std::optional<config::Device>(config::Device{});
	auto parsed = config::load(config, {.only = {"device"}});
	if (!parsed)
		return std::nullopt;
	return parsed->device;
}

} // namespace

std::string trust_dir_of(const std::filesystem::path &config)
{
	const char *env = std::getenv("LETHE_TRUST_DIR");
	if (env && *env)
		return env;
	return device_of(config).value_or(config::Device{}).trust_dir;
}

bool is_device_state_dir(const std::filesystem::path &state_dir,
			 const std::filesystem::path &config)
{
	namespace fs = std::filesystem;
	const auto device = device_of(config);
	if (!device)
		return true; // cannot tell: treat it as the device's
	auto canonical = [](const fs::path &p) {
		std::error_code e;
		auto c = fs::weakly_canonical(fs::absolute(p, e), e);
		return e ? fs::absolute(p).lexically_normal() : c;
	};
	return canonical(state_dir) == canonical(device->state_dir);
}

bool authorize_local_change(const std::filesystem::path &state_dir,
			    const std::filesystem::path &config,
			    const std::filesystem::path &trust_dir, audit::Action action,
			    const audit::AuditTarget &target, const char *command)
{
	if (!is_device_state_dir(state_dir, config))
		return true;
	auto access = LocalAccess::open(state_dir, config, trust_dir);
	if (!access) {
		std::fprintf(stderr, "lethe %s: refused: cannot check the caller's role: %s\n", command,
			     access.error().message.c_str());
		return false;
	}
	audit::AccessRequest req;
	req.action = action;
	req.target = target;
	auto role = (*access)->authorizer->authorize((*access)->who, req, (*access)->policy);
	if (!role) {
		std::fprintf(stderr, "lethe %s: refused: %s (nothing changed)\n", command,
			     role.error().message.c_str());
		return false;
	}
	return true;
}

void record_local(const std::filesystem::path &state_dir, std::string_view action,
		  const audit::AuditTarget &target, audit::Outcome outcome, std::string reason,
		  std::string policy_hash, const std::filesystem::path &config)
{
	auto map = audit::RoleMap::load(config);
	const auto who = audit::local_principal(map ? *map : audit::RoleMap{});
	audit::AuditLogOptions opts;
	opts.state_dir = state_dir;
	auto log = audit::AuditLog::open(opts);
	if (!log) {
		std::fprintf(stderr, "lethe: could not open the audit log: %s\n",
			     log.error().message.c_str());
		return;
	}
	audit::AuditEntry e;
	e.actor = who.user;
	e.uid = static_cast<std::int64_t>(who.uid);
	for (auto r : who.roles)
		e.role += (e.role.empty() ? "" : ",") + std::string(audit::role_name(r));
	if (e.role.empty())
		e.role = "none";
	e.organisation = who.organisation;
	e.action = std::string(action);
	e.target = target;
	e.outcome = outcome;
	e.reason = std::move(reason);
	e.policy_hash = std::move(policy_hash);
	auto st = (*log)->append(std::move(e));
	if (!st)
		std::fprintf(stderr, "lethe: could not record %.*s in the audit log: %s\n",
			     static_cast<int>(action.size()), action.data(),
			     st.error().message.c_str());
}

bool LocalAccess::check(const audit::AccessRequest &request, audit::Role *granted)
{
	auto r = authorizer->authorize(who, request, policy);
	if (!r) {
		std::fprintf(stderr, "refused: %s\n", r.error().message.c_str());
		return false;
	}
	if (granted)
		*granted = *r;
	return true;
}

} // namespace lethe::cli
