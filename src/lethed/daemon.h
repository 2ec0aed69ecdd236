// SPDX-License-Identifier: GPL-3.0-or-later
// Daemon: assembles pipeline, policy, retention, hot lists, publishers, audit and the control socket.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "control.h"
#include "lethe/audit/audit_log.h"
#include "lethe/audit/roles.h"
#include "lethe/config/config.h"
#include "lethe/hotlist/hotlist.h"
#include "lethe/hotlist/store.h"
#include "lethe/pipeline/pipeline.h"
#include "lethe/policy/store.h"
#include "lethe/publish/outbox.h"
#include "lethe/publish/publisher.h"
#include "lethe/retention/purge_worker.h"
#include "lethe/retention/retention.h"
#include "lethe/route/hit_router.h"

namespace lethe::daemon {

using pipeline::Pipeline;
using pipeline::PipelineStats;
using pipeline::SnapshotResult;

class Daemon
{
public:
	[[nodiscard]] static Result<std::unique_ptr<Daemon>> create(config::Config config);
	~Daemon();
	Daemon(const Daemon &) = delete;
	Daemon &operator=(const Daemon &) = delete;

	[[nodiscard]] Status start();
	/// Stop capturing, end every track (hits go to the outbox), stop everything.
	void stop();
	/// SIGHUP: re-read the configuration file, the installed policies and hot lists.
	/// An invalid new configuration is refused (the running one stays). Queued hits are
	/// not lost: the pipeline drains into the outbox before it is rebuilt.
	[[nodiscard]] Status reload();

	/// Every (finite) source ended and every read went through match/publish/digest.
	[[nodiscard]] bool finished() const;
	/// Wait until every publisher's outbox is empty (acknowledged by the broker).
	[[nodiscard]] bool flush_outbox(std::chrono::milliseconds timeout) const;
	[[nodiscard]] bool frames_flowing(std::chrono::steady_clock::duration window) const;

	/// The figures of the status topic and of --exit-when-done's progress lines, from the
	/// counters `lethe status` shows: frames read, read events, hits, frames/s, and the
	/// oldest installed hot list's id and age. Never a plate.
	[[nodiscard]] publish::Health health() const;

	// Control socket requests (also used by tests through the socket).
	[[nodiscard]] nlohmann::json status_json() const;
	[[nodiscard]] nlohmann::json selftest_json() const;

private:
	explicit Daemon(config::Config config);
	[[nodiscard]] Status open_stores();
	[[nodiscard]] Status open_publishers();
	[[nodiscard]] Status build_pipeline();
	void load_policy();
	void load_hotlists();
	void on_event(track::ReadEvent &&event);
	/// Append an entry by the daemon itself: actor lethed, role system, its uid, the
	/// organisation and (unless set) the hash of the policy in force. Never fatal.
	void record(audit::AuditEntry entry);
	void record(const std::string &action, audit::Outcome outcome, audit::AuditTarget target,
		    const std::string &reason = {}, std::optional<std::int64_t> count = {});
	/// Purge worker thread, after each cycle: audit the batch, seal, apply audit retention.
	void on_purge_cycle(const Result<retention::PurgeResult> &result);
	void record_purge(const retention::PurgeResult &result, const std::string &when);
	/// Purge thread: audit the hits each outbox let expire unsent (after start() only).
	void record_outbox_expiry();
	/// Each broker's topics against the policy in force: "FAIL" when the hit topic (or a
	/// configured status topic) is refused — the device cannot publish there —, "warn" for a
	/// refused default status topic or no hit topic, else "ok". Empty under the strictest
	/// fallback (reported as such). Detail names broker, topic and policy.
	struct TopicCheck {
		std::string result;
		std::string detail;
	};
	[[nodiscard]] std::vector<TopicCheck> topic_checks() const;
	/// At start and after each reload: an ERROR per refused topic, a WARNING per warning.
	void log_topic_checks() const;
	[[nodiscard]] std::shared_ptr<audit::Authorizer> authorizer() const;
	void rejected(int fd, const std::string &reason);
	void throttled(uid_t uid, std::uint64_t busy, std::uint64_t dropped);
	/// A control command: its name on the socket, the action the authorizer decides on, and
	/// what it does (null: an investigation, answered by answer_investigation()).
	struct Command {
		std::string_view name;
		audit::Action action;
		nlohmann::json (*run)(Daemon &daemon, const nlohmann::json &request, uid_t uid);
	};
	static const std::vector<Command> &commands();
	nlohmann::json handle(const nlohmann::json &request, int fd);
	/// `query`, `hits.list` and `hits.crop` for investigators (investigate::ask): purpose,
	/// case and role checked, recorded.
	nlohmann::json answer_investigation(const nlohmann::json &request, int fd,
				   const audit::Principal &who, audit::Action action,
				   const policy::Policy &policy);
	/// `camera.snapshot`: the newest frame, plates masked, downscaled, rate-limited per uid.
	nlohmann::json snapshot_json(const nlohmann::json &request, uid_t uid);
	[[nodiscard]] bool take_snapshot_token(uid_t uid);
	nlohmann::json camera_list_json() const;
	[[nodiscard]] policy::Policy current_policy() const;

	// Lock order (a thread holding one may take only those below it): reload_mutex_,
	// pipeline_mutex_, config_mutex_, policy_mutex_, authz_mutex_, snapshot_mutex_. The
	// control thread, the pipeline's match thread (on_event), the purge thread and SIGHUP's
	// reload share these objects; counters are atomics.
	config::Config config_;           ///< written by reload() only (under config_mutex_)
	mutable std::mutex config_mutex_; ///< config_ for readers on other threads than reload's
	/// [device] as started: reload() never changes it (restart to apply), so it is read
	/// without a lock.
	const config::Device device_;
	std::mutex reload_mutex_;         ///< one reload at a time (SIGHUP, control socket)
	const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

	mutable std::mutex policy_mutex_;
	policy::EffectivePolicy effective_;
	std::shared_ptr<const std::vector<std::unique_ptr<hotlist::Matcher>>> matchers_;
	std::vector<hotlist::InstalledList> installed_lists_;
	std::string hotlist_error_;

	std::unique_ptr<audit::AuditLog> audit_;
	mutable std::mutex authz_mutex_;               ///< authorizer_ is replaced on reload
	std::shared_ptr<audit::Authorizer> authorizer_; ///< role map of the running config
	std::unique_ptr<retention::Retention> retention_;
	std::unique_ptr<retention::PurgeWorker> purger_;
	std::unique_ptr<hotlist::HotlistStore> hotlists_;
	std::unique_ptr<publish::KeyStoreOutboxKeys> outbox_keys_;
	struct Broker {
		std::string name;
		std::string address; ///< host:port, as policy recipients name it
		std::string topic;   ///< hit topic
		std::string status_topic;
		bool status_topic_set = false; ///< configured (not the default)
		std::unique_ptr<publish::Outbox> outbox;
		std::unique_ptr<publish::Publisher> publisher;
		std::uint64_t outbox_purged = 0; ///< expired entries already audited (purge thread)
	};
	std::vector<Broker> brokers_;
	std::unique_ptr<route::HitRouter> router_; ///< lends brokers_' publishers and retention_
	std::atomic<bool> publishers_started_{false};
	mutable std::mutex pipeline_mutex_; ///< guards pipeline_ replacement (reload)
	std::unique_ptr<Pipeline> pipeline_;
	std::unique_ptr<ControlServer> control_;

	/// Aim snapshots per uid: a burst of kSnapshotBurst, then one per kSnapshotEvery.
	static constexpr double kSnapshotBurst = 5;
	static constexpr std::chrono::seconds kSnapshotEvery{6};
	static constexpr int kSnapshotMaxWidth = 640;
	struct SnapshotBudget {
		double tokens;
		std::chrono::steady_clock::time_point refilled;
	};
	std::mutex snapshot_mutex_; ///< guards snapshot_budget_; taken alone (no other lock held)
	std::map<uid_t, SnapshotBudget> snapshot_budget_;

	// Purge-thread state (on_purge_cycle).
	std::chrono::steady_clock::time_point last_seal_check_{};
	std::chrono::system_clock::time_point next_audit_purge_{};
	bool purge_failing_ = false, audit_purge_failing_ = false;

	std::atomic<bool> stopped_{false};
};

} // namespace lethe::daemon

