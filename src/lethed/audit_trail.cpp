// SPDX-License-Identifier: GPL-3.0-or-later
// Daemon: its own audit entries — start and stop, purges, sealing and the audit log's retention.
#include "daemon.h"

#include <algorithm>

#include "lethe/common/log.h"

namespace lethe::daemon {

using json = nlohmann::json;
using namespace std::chrono_literals;

void Daemon::record(audit::AuditEntry e)
{
	if (!audit_)
		return;
	e.actor = "lethed";
	e.uid = static_cast<std::int64_t>(::getuid());
	e.role = std::string(audit::role_name(audit::Role::System));
	{
		std::lock_guard lock(config_mutex_);
		e.organisation = config_.roles.organisation;
	}
	if (e.policy_hash.empty())
		e.policy_hash = current_policy().hash;
	const std::string action = e.action;
	if (Status s = audit_->append(std::move(e)); !s) {
		LOG(Audit, Error) << "audit entry " << action << " not written: " << s.error().message;
	}
}

void Daemon::record(const std::string &action, audit::Outcome outcome, audit::AuditTarget target,
		    const std::string &reason, std::optional<std::int64_t> count)
{
	audit::AuditEntry e;
	e.action = action;
	e.target = std::move(target);
	e.result_count = count;
	e.outcome = outcome;
	e.reason = reason;
	record(std::move(e));
}

void Daemon::record_purge(const retention::PurgeResult &r, const std::string &when)
{
	if (r.total()) {
		audit::AuditEntry e;
		e.action = "purge";
		e.target = audit::AuditTarget::object("retention:" + when);
		e.result_count = r.total();
		for (retention::DataClass c : retention::kDataClasses)
			e.counts[std::string(retention::class_name(c))] =
			    r.purged[static_cast<int>(c)];
		if (!r.wal_truncated)
			e.reason = "WAL not truncated yet (a reader is active): retried next cycle";
		record(std::move(e));
	}
	if (r.keys_destroyed) {
		audit::AuditEntry e;
		e.action = "keys.destroy";
		e.target = audit::AuditTarget::object("epoch-keys:" + when);
		e.result_count = r.keys_destroyed;
		e.counts["epoch_keys"] = r.keys_destroyed;
		record(std::move(e));
	}
}

void Daemon::record_outbox_expiry()
{
	// Hits that expired in an outbox unsent (the publisher deletes them).
	for (auto &b : brokers_) {
		const std::uint64_t purged = b.publisher->stats().purged;
		if (purged > b.outbox_purged) {
			audit::AuditEntry e;
			e.action = "purge";
			e.target = audit::AuditTarget::object("outbox:" + b.name);
			e.result_count = static_cast<std::int64_t>(purged - b.outbox_purged);
			e.counts["outbox"] = *e.result_count;
			e.reason = "expired unsent (outbox retention)";
			record(std::move(e));
			b.outbox_purged = purged;
		}
	}
}

void Daemon::on_purge_cycle(const Result<retention::PurgeResult> &r)
{
	if (!r) {
		// Once per failing streak, not every 250 ms.
		if (!purge_failing_)
			record("purge", audit::Outcome::Failed,
			       audit::AuditTarget::object("retention"), r.error().message);
		purge_failing_ = true;
	} else {
		if (purge_failing_)
			record("purge", audit::Outcome::Success,
			       audit::AuditTarget::object("retention"), "purging works again");
		purge_failing_ = false;
		record_purge(*r, "deadline");
	}
	// brokers_ is built while this thread already runs: read it only once start() has
	// published it.
	if (publishers_started_.load(std::memory_order_acquire))
		record_outbox_expiry();
	if (!audit_)
		return;
	// Seal on time (seal_interval) even when nothing else is appended.
	const auto mono = std::chrono::steady_clock::now();
	if (mono - last_seal_check_ >= 5s) {
		last_seal_check_ = mono;
		if (Status s = audit_->tick(); !s) {
			LOG(Audit, Error) << "audit log not sealed: " << s.error().message;
		}
	}
	// Audit-log retention: the policy's, never below its minimum (AuditLog::purge), applied
	// at least hourly, more often when the retention itself is short.
	const auto now = std::chrono::system_clock::now();
	if (now < next_audit_purge_)
		return;
	const policy::Policy policy = current_policy();
	const auto keep = std::max(policy.retention.audit_log, policy.retention.audit_log_minimum);
	next_audit_purge_ = now + std::clamp<std::chrono::system_clock::duration>(
	                              keep / 4, std::chrono::seconds{1}, std::chrono::hours{1});
	auto purged = audit_->purge(policy, now, std::chrono::steady_clock::now());
	if (!purged) {
		LOG(Audit, Error) << "audit log retention not applied: " << purged.error().message;
		if (!audit_purge_failing_)
			record("audit.purge", audit::Outcome::Failed,
			       audit::AuditTarget::object("audit.log"), purged.error().message);
		audit_purge_failing_ = true;
		return;
	}
	audit_purge_failing_ = false;
	if (purged->purged) {
		LOG(Audit, Info) << "audit log retention: " << purged->purged
		                 << " record(s) purged, " << purged->kept << " kept";
	}
}

} // namespace lethe::daemon
