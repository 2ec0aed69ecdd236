// SPDX-License-Identifier: GPL-3.0-or-later
// MQTT publisher for hits: policy-checked topics, durable outbox, QoS 1, status with last will.
//
// One thread per Publisher owns the libmosquitto connection (MQTT 5, falling back to 3.1.1 if
// the broker refuses 5). libmosquitto never talks to the broker itself: it speaks plain MQTT
// to a validating relay on 127.0.0.1 (src/publish/broker_relay.h) that holds the broker
// connection (TLS with server verification and optional client certificate) and drops it on
// a broker packet libmosquitto 2.0 would abort the process on (mqtt_inspect.h). A hit
// handed to publish() is checked against the policy (topic on this broker's allowlist, stale
// rule), sealed into the Outbox (fsync'd) and only then queued; the thread sends it (QoS 1,
// never retained) and deletes it from the outbox on PUBACK. After an outage or a crash the
// outbox is resent, so a consumer may see an event twice: it deduplicates by event_id.
// Bounded: at most max_inflight unacknowledged messages; the outbox is the queue (bounded by
// the policy's outbox retention, after which entries are purged).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lethe/common/result.h"
#include "lethe/common/unique_fd.h"
#include "lethe/policy/policy.h"
#include "lethe/publish/event.h"
#include "lethe/publish/outbox.h"

struct mosquitto;
struct mqtt5__property;

namespace lethe::publish {

class BrokerRelay;

struct PublisherConfig {
	std::string device_id;           ///< required; in events and status
	std::string host = "127.0.0.1";  ///< broker host name or address
	int port = 1883;
	std::string client_id;           ///< default "lethe-" + device_id
	bool tls = false;
	std::string ca_file;             ///< with tls: CA that must have signed the broker's cert
	std::string cert_file, key_file; ///< with tls: client certificate and key (mTLS), optional
	std::string username;            ///< MQTT user name; empty: none
	/// With username: file holding the password (trailing newline ignored), a regular file
	/// group and others can neither read nor write. Read at each connection, wiped after.
	std::string password_file;
	std::string hit_topic;           ///< topic for publish(event); must be allowed by the policy
	std::string status_topic;        ///< retained status + last will; empty: none
	std::chrono::seconds keepalive{30};
	std::chrono::milliseconds status_interval{30000};
	std::chrono::milliseconds backoff_min{250}; ///< reconnect back-off, doubling up to max
	std::chrono::milliseconds backoff_max{30000};
	std::size_t max_inflight = 32;   ///< unacknowledged QoS 1 messages at once
	bool mqtt5 = true;               ///< false: speak MQTT 3.1.1 only
	/// The clock outbox deadlines are kept on. lethed lends retention time (the ratchet that a
	/// wall clock set back cannot rewind, retention/clock.h) so that setting the clock back
	/// never keeps a hit in the outbox longer than the policy allows. Empty: the wall clock.
	std::function<std::chrono::system_clock::time_point()> retention_now;
	/// Figures for each online status message, asked for by the publisher thread just before
	/// it sends one (outside the publisher's locks: it may take the caller's own). Empty: the
	/// figures last given to set_health().
	std::function<Health()> health;

	/// "host:port": what a policy recipient's `broker` must equal.
	[[nodiscard]] std::string broker() const { return host + ":" + std::to_string(port); }
};

class Publisher
{
public:
	/// Checks the configuration (TLS files readable, password file private, device id set). outbox is lent and must
	/// outlive the Publisher. Does not connect: call start().
	[[nodiscard]] static Result<std::unique_ptr<Publisher>>
	create(PublisherConfig config, Outbox &outbox, policy::Policy policy);
	~Publisher();
	Publisher(const Publisher &) = delete;
	Publisher &operator=(const Publisher &) = delete;

	/// Start the network thread (connects with back-off, resends the outbox).
	void start();
	/// Publish "offline" status, disconnect, join the thread. Unsent hits stay in the outbox.
	void stop();

	/// Queue a hit for config.hit_topic / for topic. Returns once the hit is durably in the
	/// outbox. Refused (-EPERM, nothing stored, nothing sent) if the policy does not allow the
	/// topic on this broker, if the hit is stale and the policy does not publish stale hits,
	/// or if the policy keeps no outbox.
	[[nodiscard]] Status publish(const HitEvent &event);
	[[nodiscard]] Status publish(const HitEvent &event, const std::string &topic);

	/// Replace the policy (e.g. after `lethe policy install`). Queued hits whose topic the new
	/// policy no longer allows are not sent (they expire in the outbox).
	void set_policy(policy::Policy policy);
	/// Figures for the next status message (sent every status_interval while connected),
	/// for a publisher without config.health.
	void set_health(const Health &health);

	struct Stats {
		bool connected = false;
		int protocol = 0;          ///< 5 or 4 (3.1.1) once connected
		std::uint64_t queued = 0;  ///< hits stored in the outbox by publish()
		std::uint64_t refused = 0; ///< publish() calls refused by the policy
		std::uint64_t sent = 0;    ///< PUBLISH packets handed to the socket (incl. resends)
		std::uint64_t acked = 0;   ///< PUBACKs (hits removed from the outbox)
		std::uint64_t purged = 0;  ///< expired outbox entries deleted unsent
		std::uint64_t connects = 0;
		std::uint64_t connect_failures = 0;
		std::size_t outbox_depth = 0;
		std::string last_error;
	};
	[[nodiscard]] Stats stats() const;
	/// Wait until the outbox is empty (everything acknowledged); false on timeout.
	[[nodiscard]] bool wait_until_empty(std::chrono::milliseconds timeout) const;
	/// Wait until connected; false on timeout.
	[[nodiscard]] bool wait_connected(std::chrono::milliseconds timeout) const;

	/// Is topic on broker ("host:port") in some recipient's allowlist?
	[[nodiscard]] static bool allowed(const policy::Policy &policy, const std::string &broker,
					  const std::string &topic);

private:
	Publisher(PublisherConfig config, Outbox &outbox, policy::Policy policy);
	void run();
	bool connect_once();
	[[nodiscard]] Status set_credentials();
	void send_pending();
	[[nodiscard]] std::chrono::system_clock::time_point retention_now() const
	{
		return config_.retention_now ? config_.retention_now() : std::chrono::system_clock::now();
	}
	void send_status(bool online);
	[[nodiscard]] std::string status_json(bool online) const;
	void wake();
	void set_error(const std::string &e);

	static void on_connect(struct mosquitto *, void *obj, int rc, int flags,
			       const mqtt5__property *props);
	static void on_disconnect(struct mosquitto *, void *obj, int rc,
				  const mqtt5__property *props);
	static void on_publish(struct mosquitto *, void *obj, int mid, int rc,
			       const mqtt5__property *props);

	PublisherConfig config_;
	Outbox &outbox_;
	struct mosquitto *mosq_ = nullptr;
	std::unique_ptr<BrokerRelay> relay_; ///< libmosquitto's only way to the broker
	UniqueFD wake_fd_;

	mutable std::mutex mutex_; ///< guards everything below
	mutable std::condition_variable cv_;
	policy::Policy policy_;
	Health health_;
	Stats stats_;
	int protocol_ = 5;
	bool connack_ = false;      ///< a CONNACK arrived for the current connection attempt
	int connack_rc_ = 0;
	std::map<int, std::pair<std::string, std::string>> inflight_; ///< mid → (event, topic)
	std::vector<std::pair<std::string, std::string>> blocked_; ///< topic no longer allowed
	bool maybe_pending_ = true;
	bool stop_ = false;
	std::thread thread_;
};

} // namespace lethe::publish
