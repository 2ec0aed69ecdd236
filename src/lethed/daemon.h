// SPDX-License-Identifier: GPL-3.0-or-later
// Daemon: assembles pipeline, policy, retention, hot lists, publishers, audit and the control socket.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "control.h"
#include "lethe/audit/audit_log.h"
#include "lethe/audit/roles.h"
#include "lethe/config/config.h"
#include "lethe/hotlist/hotlist.h"
#include "lethe/hotlist/store.h"
#include "lethe/policy/store.h"
#include "lethe/publish/outbox.h"
#include "lethe/publish/publisher.h"
#include "lethe/retention/purge_worker.h"
#include "lethe/retention/retention.h"
#include "pipeline.h"

namespace lethe::daemon {

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
	/// The policy recipient a broker's hit topic goes to: "NAME (mqtt HOST:PORT TOPIC)".
	[[nodiscard]] std::string recipient_of(const std::string &broker_address,
					       const std::string &topic,
					       const policy::Policy &policy) const;
	[[nodiscard]] std::shared_ptr<audit::Authorizer> authorizer() const;
	void rejected(int fd, const std::string &reason);
	nlohmann::json handle(const nlohmann::json &request, int fd);
	/// `query`, `hits.list` and `hits.crop` for investigators: purpose, case and role checked,
	/// recorded.
	nlohmann::json investigate(const nlohmann::json &request, int fd,
				   const audit::Principal &who, audit::AccessRequest req,
				   const policy::Policy &policy);
	nlohmann::json snapshot_json(const nlohmann::json &request);
	nlohmann::json camera_list_json() const;
	[[nodiscard]] policy::Policy current_policy() const;

	config::Config config_;
	mutable std::mutex config_mutex_; ///< config_ fields that reload() may change
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
		std::unique_ptr<publish::Outbox> outbox;
		std::unique_ptr<publish::Publisher> publisher;
		std::uint64_t outbox_purged = 0; ///< expired entries already audited (purge thread)
	};
	std::vector<Broker> brokers_;
	mutable std::mutex pipeline_mutex_; ///< guards pipeline_ replacement (reload)
	std::unique_ptr<Pipeline> pipeline_;
	std::unique_ptr<ControlServer> control_;

	// Purge-thread state (on_purge_cycle).
	std::chrono::steady_clock::time_point last_seal_check_{};
	std::chrono::system_clock::time_point next_audit_purge_{};
	bool purge_failing_ = false, audit_purge_failing_ = false;

	std::atomic<bool> stopped_{false};
	std::atomic<std::uint64_t> hits_{0}, nonhits_{0}, hits_unpublished_{0}, store_errors_{0};
};

} // namespace lethe::daemon

