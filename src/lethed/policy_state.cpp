// SPDX-License-Identifier: GPL-3.0-or-later
// Daemon: the policy and hot lists in force — loaded at start and on reload, every refusal audited.
#include "daemon.h"

#include "lethe/common/log.h"
#include "lethe/retention/report.h"

namespace lethe::daemon {

void Daemon::load_policy()
{
	auto eff = policy::load_effective(device_.state_dir, device_.trust_dir,
					  retention::trusted_now(device_.state_dir));
	if (eff.fallback)
		LOG(Policy, Warning) << "no valid policy in force (" << eff.why
				     << "): strictest mode — nothing retained, nothing published";
	else
		LOG(Policy, Info) << "policy in force: " << eff.policy.id << " v" << eff.policy.version;
	// Audit: every installed bundle the daemon refuses, then what it applies.
	std::vector<audit::AuditEntry> entries;
	for (const auto &ip : eff.installed) {
		if (!ip.problem)
			continue;
		audit::AuditEntry e;
		e.action = "policy.load";
		e.target = audit::AuditTarget::object(
			(ip.id.empty() ? ip.file.filename().string() : ip.id) + " v" +
			std::to_string(ip.version));
		e.outcome = audit::Outcome::Refused;
		e.reason = ip.problem->describe();
		e.policy_hash = ip.hash;
		entries.push_back(std::move(e));
	}
	{
		audit::AuditEntry e;
		e.action = "policy.load";
		if (eff.fallback) {
			e.target = audit::AuditTarget::object("strictest");
			e.outcome = audit::Outcome::Failed;
			e.reason = "no valid policy in force (" + eff.why +
				   "): strictest mode, nothing retained or published";
		} else {
			std::string sources;
			for (const auto &ip : eff.installed)
				if (ip.in_force)
					sources += (sources.empty() ? "" : ", ") + ip.id + " v" +
						   std::to_string(ip.version);
			e.target = audit::AuditTarget::object(sources.empty() ? eff.policy.id : sources);
			e.outcome = audit::Outcome::Success;
		}
		e.policy_hash = eff.policy.hash;
		entries.push_back(std::move(e));
	}
	{
		std::lock_guard lock(policy_mutex_);
		effective_ = std::move(eff);
	}
	for (auto &e : entries)
		record(std::move(e));
}

policy::Policy Daemon::current_policy() const
{
	std::lock_guard lock(policy_mutex_);
	return effective_.policy;
}

void Daemon::load_hotlists()
{
	auto all = hotlists_->load_all();
	std::vector<hotlist::InstalledList> lists;
	{
		std::lock_guard lock(policy_mutex_);
		if (!all) {
			// Keep matching against what was loaded before rather than against nothing.
			hotlist_error_ = all.error().message;
			LOG(Hotlist, Error) << "hot lists not (re)loaded: " << hotlist_error_;
		} else {
			hotlist_error_.clear();
			matchers_ = std::make_shared<const std::vector<std::unique_ptr<hotlist::Matcher>>>(
				std::move(all).value());
			installed_lists_ = hotlists_->list();
			lists = installed_lists_;
			LOG(Hotlist, Info) << matchers_->size() << " hot list(s) loaded";
		}
	}
	// Audit (outside the lock: record() reads the policy). Compiled lists hold digests only;
	// errors name files and lines, never an entry.
	if (!all) {
		record("hotlist.load", audit::Outcome::Failed, audit::AuditTarget::object("hotlists"),
		       "hot lists not (re)loaded, the previous ones stay in use: " +
			       all.error().message);
		return;
	}
	for (const auto &l : lists) {
		audit::AuditEntry e;
		e.action = "hotlist.load";
		e.target = audit::AuditTarget::object(l.info.id + " v" + std::to_string(l.info.version));
		e.result_count = static_cast<std::int64_t>(l.entries);
		for (const auto &[category, n] : l.categories)
			e.counts[category] = static_cast<std::int64_t>(n);
		record(std::move(e));
	}
}

} // namespace lethe::daemon
