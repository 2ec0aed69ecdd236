// SPDX-License-Identifier: GPL-3.0-or-later
// Local access for CLI commands: caller's roles, the audit log, the policy in force.
#include "cli/local_access.h"

#include <cstdio>
#include <cstdlib>

#include "lethe/policy/store.h"

namespace lethe::cli {

std::string default_state_dir()
{
	const char *env = std::getenv("LETHE_STATE_DIR");
	return env && *env ? env : "/var/lib/lethe";
}

std::string default_config_path()
{
	const char *env = std::getenv("LETHE_CONFIG");
	return env && *env ? env : "/etc/lethe/lethed.toml";
}

std::string default_trust_dir()
{
	const char *env = std::getenv("LETHE_TRUST_DIR");
	return env && *env ? env : "/etc/lethe/trust";
}

policy::Policy policy_in_force(const std::filesystem::path &state_dir,
			       const std::filesystem::path &trust_dir)
{
	return policy::load_effective(state_dir, trust_dir).policy;
}

Result<std::vector<SightingRow>> find_sightings(const std::filesystem::path &state_dir,
						const policy::Policy &policy, std::string_view plate,
						audit::TimePoint since)
{
	(void)state_dir;
	(void)policy;
	(void)plate;
	(void)since;
	return make_error(-ENOSYS, "the retention store is not available in this build");
}

Result<std::vector<HitRow>> list_hits(const std::filesystem::path &state_dir,
				      const policy::Policy &policy, audit::TimePoint since)
{
	(void)state_dir;
	(void)policy;
	(void)since;
	return make_error(-ENOSYS, "the retention store is not available in this build");
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
