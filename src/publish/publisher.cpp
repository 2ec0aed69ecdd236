// SPDX-License-Identifier: GPL-3.0-or-later
// MQTT publisher thread: policy-checked topics, outbox-backed QoS 1 delivery, status and will.
#include "lethe/publish/publisher.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <csignal>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <nlohmann/json.hpp>

#include "broker_relay.h"
#include "lethe/common/thread_entry.h"
#include "lethe/common/atomic_file.h"
#include "lethe/common/crypto.h"
#include "lethe/common/log.h"
#include "lethe/common/rounding.h"
#include "lethe/common/utc_time.h"
#include "lethe/common/uuid.h"

namespace lethe::publish {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

void lib_init()
{
	static std::once_flag once;
	std::call_once(once, [] { mosquitto_lib_init(); });
}

bool readable(const std::string &path)
{
	return path.empty() || ::access(path.c_str(), R_OK) == 0;
}

/// A libmosquitto loop error for last_error (what `lethe status` shows a technician). err is
/// errno as libmosquitto left it. It clears errno before each read and reports a read that
/// hits the end of the stream inside a packet as MOSQ_ERR_ERRNO, so errno 0 there means the
/// broker closed the connection mid-packet (strerror would say "Success").
std::string loop_error(int rc, int err)
{
	if (rc != MOSQ_ERR_ERRNO)
		return mosquitto_strerror(rc);
	if (err == 0)
		return "the broker closed the connection in the middle of a packet";
	return std::strerror(err);
}

} // namespace

bool Publisher::allowed(const policy::Policy &policy, const std::string &broker,
			const std::string &topic)
{
	if (topic.empty())
		return false;
	for (const auto &r : policy.recipients) {
		if (r.broker != broker)
			continue;
		if (std::find(r.topics.begin(), r.topics.end(), topic) != r.topics.end())
			return true;
	}
	return false;
}

Result<std::unique_ptr<Publisher>> Publisher::create(PublisherConfig config, Outbox &outbox,
						     policy::Policy policy)
{
	if (config.device_id.empty())
		return make_error(-EINVAL, "publisher: device_id is required");
	if (config.port <= 0 || config.port > 65535)
		return make_error(-EINVAL, "publisher: bad port " + std::to_string(config.port));
	if (config.tls) {
		if (config.ca_file.empty())
			return make_error(-EINVAL, "publisher: TLS needs a CA file (server verification)");
		for (const auto *f : {&config.ca_file, &config.cert_file, &config.key_file})
			if (!readable(*f))
				return make_error(-ENOENT, "publisher: cannot read " + *f);
		if (config.cert_file.empty() != config.key_file.empty())
			return make_error(-EINVAL, "publisher: client certificate and key go together");
	}
	if (!config.password_file.empty()) {
		if (config.username.empty())
			return make_error(-EINVAL, "publisher: a password file needs a username");
		if (auto s = fsutil::check_private_file(config.password_file); !s)
			return make_error(s.error().code, "publisher: " + s.error().message);
	}
	if (config.client_id.empty())
		config.client_id = "lethe-" + config.device_id;
	if (config.max_inflight == 0)
		config.max_inflight = 1;
	lib_init();
	// A write to a socket the broker closed must not kill the device (OpenSSL writes with
	// write(2), which raises SIGPIPE). Only replaces the default disposition.
	struct sigaction sa {};
	if (::sigaction(SIGPIPE, nullptr, &sa) == 0 && sa.sa_handler == SIG_DFL)
		std::signal(SIGPIPE, SIG_IGN);
	std::unique_ptr<Publisher> p(new Publisher(std::move(config), outbox, std::move(policy)));
	p->wake_fd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	if (!p->wake_fd_.isValid())
		return make_error(-errno, "publisher: eventfd failed");
	return p;
}

Publisher::Publisher(PublisherConfig config, Outbox &outbox, policy::Policy policy)
	: config_(std::move(config)), outbox_(outbox), policy_(std::move(policy)),
	  protocol_(config_.mqtt5 ? 5 : 4)
{
}

Publisher::~Publisher()
{
	stop();
	if (mosq_)
		mosquitto_destroy(mosq_);
}

void Publisher::start()
{
	std::lock_guard lock(mutex_);
	if (thread_.joinable())
		return;
	stop_ = false;
	thread_ = std::thread([this] {
		run_thread("publisher " + config_.broker(), [this] { run(); }, [this] {
			std::lock_guard stopping(mutex_);
			return stop_;
		});
	});
}

void Publisher::stop()
{
	{
		std::lock_guard lock(mutex_);
		stop_ = true;
	}
	cv_.notify_all();
	wake();
	if (thread_.joinable())
		thread_.join();
}

void Publisher::wake()
{
	const std::uint64_t one = 1;
	if (wake_fd_.isValid())
		(void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void Publisher::set_error(const std::string &e)
{
	std::lock_guard lock(mutex_);
	stats_.last_error = e;
}

Status Publisher::publish(const HitEvent &event)
{
	return publish(event, config_.hit_topic);
}

Status Publisher::publish(const HitEvent &event, const std::string &topic)
{
	HitEvent e = event;
	std::chrono::seconds retention{0};
	{
		std::lock_guard lock(mutex_);
		if (!allowed(policy_, config_.broker(), topic)) {
			++stats_.refused;
			return make_error(-EPERM, "policy '" + policy_.id + "' does not allow topic '" +
							  topic + "' on broker " + config_.broker());
		}
		if (e.stale && !policy_.hotlist.publish_stale) {
			++stats_.refused;
			return make_error(-EPERM, "stale hit and the policy does not publish stale hits");
		}
		retention = policy_.retention.outbox;
		e.policy_id = policy_.id;
		e.policy_version = policy_.version;
	}
	e.plate = hotlist::normalise(e.plate);
	if (e.plate.empty())
		return make_error(-EINVAL, "hit without a valid plate text");
	if (!(e.confidence >= 0 && e.confidence <= 1))
		return make_error(-EINVAL, "confidence must be within 0..1");
	if (e.event_id.empty()) {
		auto id = new_uuid4(); // the RNG failed: no event goes out under a made-up id
		if (!id)
			return id.error();
		e.event_id = std::move(id).value();
	}
	if (e.device_id.empty())
		e.device_id = config_.device_id;
	std::string payload = to_json(e);
	auto s = outbox_.put(e.event_id, topic, payload, retention_now(), retention);
	crypto::wipe(payload);
	if (!s) {
		std::lock_guard lock(mutex_);
		++stats_.refused;
		return s;
	}
	{
		std::lock_guard lock(mutex_);
		++stats_.queued;
		maybe_pending_ = true;
	}
	wake();
	return {};
}

void Publisher::set_policy(policy::Policy policy)
{
	{
		std::lock_guard lock(mutex_);
		policy_ = std::move(policy);
		blocked_.clear();
		maybe_pending_ = true;
	}
	wake();
}

void Publisher::set_health(const Health &health)
{
	std::lock_guard lock(mutex_);
	health_ = health;
}

Publisher::Stats Publisher::stats() const
{
	Stats s;
	{
		std::lock_guard lock(mutex_);
		s = stats_;
	}
	s.outbox_depth = outbox_.depth();
	return s;
}

bool Publisher::wait_until_empty(std::chrono::milliseconds timeout) const
{
	const auto deadline = Clock::now() + timeout;
	const auto busy = [this] {
		std::lock_guard lock(mutex_);
		return !inflight_.empty();
	};
	while (outbox_.depth() != 0 || busy()) {
		if (Clock::now() > deadline)
			return false;
		std::this_thread::sleep_for(5ms);
	}
	return true;
}

bool Publisher::wait_connected(std::chrono::milliseconds timeout) const
{
	std::unique_lock lock(mutex_);
	return cv_.wait_for(lock, timeout, [this] { return stats_.connected; });
}

std::string Publisher::status_json(bool online) const
{
	nlohmann::json j;
	j["schema"] = "lethe.status/1";
	j["device_id"] = config_.device_id;
	j["state"] = online ? "online" : "offline";
	j["time"] = format_utc_ms(std::chrono::system_clock::now());
	if (online) {
		std::lock_guard lock(mutex_);
		j["frames_per_second"] = round_decimals(health_.frames_per_second, 2);
		j["frames"] = health_.frames;
		j["reads"] = health_.reads;
		j["hits"] = health_.hits;
		j["outbox_depth"] = outbox_.depth();
		j["hits_published"] = stats_.acked;
		j["hotlist"] = {{"id", health_.hotlist_id}};
		if (health_.hotlist_age_s)
			j["hotlist"]["age_s"] = *health_.hotlist_age_s;
		else
			j["hotlist"]["age_s"] = nullptr;
		j["policy"] = {{"id", policy_.id}, {"version", policy_.version}};
		j["mqtt_protocol"] = protocol_ == 5 ? "5" : "3.1.1";
	}
	return j.dump();
}

void Publisher::send_status(bool online)
{
	if (config_.status_topic.empty() || !mosq_)
		return;
	{
		std::lock_guard lock(mutex_);
		if (!allowed(policy_, config_.broker(), config_.status_topic))
			return;
	}
	if (online && config_.health) {
		Health now = config_.health(); // unlocked: the provider may take its own locks
		std::lock_guard lock(mutex_);
		health_ = std::move(now);
	}
	const std::string body = status_json(online);
	mosquitto_publish(mosq_, nullptr, config_.status_topic.c_str(), static_cast<int>(body.size()),
			  body.data(), 1, true);
}

Status Publisher::set_credentials()
{
	if (config_.username.empty())
		return {};
	std::string password;
	if (!config_.password_file.empty()) {
		// Read for each connection: a changed password needs no restart, and it is in
		// our memory only while libmosquitto copies it.
		auto read = fsutil::read_private_file(config_.password_file);
		if (!read)
			return make_error(read.error().code, "broker password: " + read.error().message);
		password = std::move(read).value();
		while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
			password.back() = '\0';
			password.pop_back();
		}
	}
	const int rc = mosquitto_username_pw_set(mosq_, config_.username.c_str(),
						 config_.password_file.empty() ? nullptr : password.c_str());
	crypto::wipe(password);
	if (rc != MOSQ_ERR_SUCCESS)
		return make_error(-EINVAL, std::string("broker user name or password: ") +
						   mosquitto_strerror(rc));
	return {};
}

bool Publisher::connect_once()
{
	relay_.reset();
	if (mosq_) {
		mosquitto_destroy(mosq_);
		mosq_ = nullptr;
	}
	int protocol = 5;
	{
		std::lock_guard lock(mutex_);
		connack_ = false;
		connack_rc_ = 0;
		inflight_.clear();
		blocked_.clear();
		protocol = protocol_;
	}
	// The broker connection (and TLS) is the relay's; libmosquitto connects to the relay.
	BrokerRelay::Options ro;
	ro.host = config_.host;
	ro.port = config_.port;
	ro.tls = config_.tls;
	ro.ca_file = config_.ca_file;
	ro.cert_file = config_.cert_file;
	ro.key_file = config_.key_file;
	ro.cancelled = [this] {
		std::lock_guard lock(mutex_);
		return stop_;
	};
	auto relay = BrokerRelay::connect(std::move(ro));
	if (!relay) {
		set_error(relay.error().message);
		return false;
	}
	relay_ = std::move(relay).value();
	mosq_ = mosquitto_new(config_.client_id.c_str(), true, this);
	if (!mosq_) {
		set_error("mosquitto_new failed");
		return false;
	}
	mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION,
			     protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
	mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
	if (Status s = set_credentials(); !s) {
		set_error(s.error().message);
		return false;
	}
	mosquitto_connect_v5_callback_set(mosq_, &Publisher::on_connect);
	mosquitto_disconnect_v5_callback_set(mosq_, &Publisher::on_disconnect);
	mosquitto_publish_v5_callback_set(mosq_, &Publisher::on_publish);
	if (!config_.status_topic.empty()) {
		bool will_allowed = false;
		{
			std::lock_guard lock(mutex_);
			will_allowed = allowed(policy_, config_.broker(), config_.status_topic);
		}
		if (will_allowed) {
			const std::string will = status_json(false);
			mosquitto_will_set(mosq_, config_.status_topic.c_str(),
					   static_cast<int>(will.size()), will.data(), 1, true);
		}
	}
	const int keepalive = static_cast<int>(std::max<std::int64_t>(5, config_.keepalive.count()));
	const int port = relay_->local_port();
	const int rc = protocol == 5 ? mosquitto_connect_bind_v5(mosq_, "127.0.0.1", port, keepalive,
								  nullptr, nullptr)
				     : mosquitto_connect(mosq_, "127.0.0.1", port, keepalive);
	if (rc != MOSQ_ERR_SUCCESS) {
		std::string why = mosquitto_strerror(rc);
		if (rc == MOSQ_ERR_ERRNO)
			why = std::strerror(errno);
		set_error("relay for " + config_.broker() + ": libmosquitto cannot connect to it: " +
			  why);
		return false;
	}
	auto accepted = relay_->accept_client(mosquitto_socket(mosq_), 10s);
	if (!accepted) {
		LOG(Publish, Warning) << "broker " << config_.broker() << ": "
				      << accepted.error().message;
		set_error(accepted.error().message);
		return false;
	}
	return true;
}

void Publisher::on_connect(struct mosquitto *, void *obj, int rc, int, const mqtt5__property *)
{
	auto *self = static_cast<Publisher *>(obj);
	std::lock_guard lock(self->mutex_);
	self->connack_ = true;
	self->connack_rc_ = rc;
}

void Publisher::on_disconnect(struct mosquitto *, void *obj, int rc, const mqtt5__property *)
{
	auto *self = static_cast<Publisher *>(obj);
	std::lock_guard lock(self->mutex_);
	if (self->stats_.connected && rc != 0) {
		LOG(Publish, Warning) << "lost connection to " << self->config_.broker() << " ("
				      << mosquitto_strerror(rc) << ")";
	}
	self->stats_.connected = false;
	self->inflight_.clear();
}

void Publisher::on_publish(struct mosquitto *, void *obj, int mid, int rc,
			   const mqtt5__property *)
{
	auto *self = static_cast<Publisher *>(obj);
	std::pair<std::string, std::string> key;
	{
		std::lock_guard lock(self->mutex_);
		auto it = self->inflight_.find(mid);
		if (it == self->inflight_.end())
			return; // a status message
		if (rc >= 128) {
			// Refused by the broker (e.g. not authorised): keep it, do not resend
			// on this connection (it stays in inflight_), let it expire.
			self->stats_.last_error = "broker refused a hit: reason " + std::to_string(rc);
			return;
		}
		key = it->second;
	}
	auto s = self->outbox_.remove(key.first, key.second);
	std::lock_guard lock(self->mutex_);
	self->inflight_.erase(mid);
	self->maybe_pending_ = true;
	if (!s)
		self->stats_.last_error = s.error().message;
	else
		++self->stats_.acked;
	self->cv_.notify_all();
}

void Publisher::send_pending()
{
	std::vector<std::pair<std::string, std::string>> skip;
	std::size_t room = 0;
	{
		std::lock_guard lock(mutex_);
		if (!maybe_pending_ || inflight_.size() >= config_.max_inflight)
			return;
		maybe_pending_ = false;
		room = config_.max_inflight - inflight_.size();
		for (const auto &[mid, k] : inflight_)
			skip.push_back(k);
		skip.insert(skip.end(), blocked_.begin(), blocked_.end());
	}
	auto items = outbox_.peek(room, retention_now(), skip);
	if (!items) {
		set_error(items.error().message);
		return;
	}
	if (items->size() == room) {
		std::lock_guard lock(mutex_);
		maybe_pending_ = true;
	}
	for (auto &it : *items) {
		bool ok = false;
		{
			std::lock_guard lock(mutex_);
			ok = allowed(policy_, config_.broker(), it.topic);
		}
		if (!ok) {
			// The policy changed since the hit was stored: never send it.
			LOG(Publish, Warning) << "outbox event " << it.event_id << ": topic '" << it.topic
					      << "' no longer allowed; held until it expires";
			std::lock_guard lock(mutex_);
			blocked_.emplace_back(it.event_id, it.topic);
			maybe_pending_ = true;
			continue;
		}
		int mid = 0;
		const int rc = mosquitto_publish(mosq_, &mid, it.topic.c_str(),
						 static_cast<int>(it.payload.size()), it.payload.data(),
						 1, false);
		if (rc != MOSQ_ERR_SUCCESS) {
			set_error(std::string("publish: ") + mosquitto_strerror(rc));
			std::lock_guard lock(mutex_);
			maybe_pending_ = true;
			return;
		}
		std::lock_guard lock(mutex_);
		inflight_[mid] = {it.event_id, it.topic};
		++stats_.sent;
	}
}

void Publisher::run()
{
	auto backoff = config_.backoff_min;
	auto last_status = Clock::now();
	auto last_purge = Clock::time_point{};
	bool connected = false;
	bool awaiting = false;
	auto connack_deadline = Clock::now();

	auto fail = [&](bool before_connack) {
		connected = awaiting = false;
		relay_.reset(); // the broker connection goes now, not after the back-off
		{
			std::lock_guard lock(mutex_);
			stats_.connected = false;
			++stats_.connect_failures;
			inflight_.clear();
			if (before_connack && config_.mqtt5)
				protocol_ = protocol_ == 5 ? 4 : 5; // 3.1.1 fallback, then back
		}
		std::unique_lock lock(mutex_);
		cv_.wait_for(lock, backoff, [this] { return stop_; });
		backoff = std::min(backoff * 2, config_.backoff_max);
	};

	// The broker answered CONNACK with a refusal: say why, and as whom for a login.
	const auto refused = [&](int crc) {
		awaiting = false;
		// Login refused (MQTT 5: 134, 135; 3.1.1: 4, 5).
		const bool login = crc == 134 || crc == 135 || (protocol_ != 5 && (crc == 4 || crc == 5));
		std::string who;
		if (login)
			who = config_.username.empty() ? " (no username configured)"
						       : " (as user '" + config_.username + "')";
		set_error("broker refused the connection: " + std::string(mosquitto_reason_string(crc)) +
			  who);
		fail(crc == 1 || crc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION);
	};

	for (;;) {
		{
			std::lock_guard lock(mutex_);
			if (stop_)
				break;
		}
		const auto now = Clock::now();
		if (now - last_purge >= 1s) {
			last_purge = now;
			auto n = outbox_.purge_expired(retention_now());
			if (n && *n > 0) {
				LOG(Publish, Warning) << *n << " unsent hit(s) expired in the outbox";
				std::lock_guard lock(mutex_);
				stats_.purged += *n;
			}
		}
		if (!connected && !awaiting) {
			if (!connect_once()) {
				fail(false);
				continue;
			}
			awaiting = true;
			connack_deadline = Clock::now() + 10s;
		}

		pollfd fds[4] = {
			{mosquitto_socket(mosq_), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}, {}, {}};
		if (mosquitto_want_write(mosq_))
			fds[0].events |= POLLOUT;
		if (fds[0].fd < 0 || !relay_) {
			fail(awaiting);
			continue;
		}
		relay_->poll_fds(fds[2], fds[3]);
		::poll(fds, 4, relay_->ready() ? 0 : 100);
		if (fds[1].revents & POLLIN) {
			std::uint64_t v = 0;
			(void)!::read(wake_fd_.get(), &v, sizeof(v));
		}
		// The relay first: a broker packet reaches libmosquitto only once it has passed.
		if (auto relayed = relay_->pump(); !relayed) {
			const std::string why = relayed.error().message + ": connection dropped";
			LOG(Publish, Warning) << "broker " << config_.broker() << ": " << why;
			set_error(why);
			fail(awaiting);
			continue;
		}
		int rc = MOSQ_ERR_SUCCESS;
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
			rc = mosquitto_loop_read(mosq_, 16);
		if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(mosq_))
			rc = mosquitto_loop_write(mosq_, 16);
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_loop_misc(mosq_);
		if (rc != MOSQ_ERR_SUCCESS) {
			// A broker that refuses a login sends its CONNACK and closes at once: libmosquitto
			// reports the close, but the refusal is what the technician needs to read.
			int crc = 0;
			{
				std::lock_guard lock(mutex_);
				crc = awaiting && connack_ ? connack_rc_ : 0;
			}
			if (crc != 0) {
				refused(crc);
				continue;
			}
			set_error("connection to " + config_.broker() + ": " + loop_error(rc, errno));
			fail(awaiting);
			continue;
		}
		if (awaiting) {
			bool got = false;
			int crc = 0;
			{
				std::lock_guard lock(mutex_);
				got = connack_;
				crc = connack_rc_;
			}
			if (!got) {
				if (Clock::now() > connack_deadline) {
					set_error("no CONNACK from " + config_.broker());
					fail(true);
				}
				continue;
			}
			awaiting = false;
			if (crc != 0) {
				refused(crc);
				continue;
			}
			connected = true;
			backoff = config_.backoff_min;
			{
				std::lock_guard lock(mutex_);
				stats_.connected = true;
				stats_.protocol = protocol_;
				++stats_.connects;
				maybe_pending_ = true;
			}
			cv_.notify_all();
			LOG(Publish, Info) << "connected to " << config_.broker() << " (MQTT "
					   << (protocol_ == 5 ? "5" : "3.1.1") << ")";
			send_status(true);
			last_status = Clock::now();
		}
		send_pending();
		if (Clock::now() - last_status >= config_.status_interval) {
			send_status(true);
			last_status = Clock::now();
		}
	}

	if (connected && mosq_) {
		send_status(false);
		mosquitto_disconnect(mosq_);
		const auto deadline = Clock::now() + 1s;
		while (mosquitto_want_write(mosq_) && Clock::now() < deadline)
			if (mosquitto_loop_write(mosq_, 16) != MOSQ_ERR_SUCCESS)
				break;
		if (relay_) // forward the offline status and the DISCONNECT to the broker
			relay_->flush(std::chrono::duration_cast<std::chrono::milliseconds>(
			    std::max(Clock::duration(100ms), deadline - Clock::now())));
	}
	relay_.reset();
	std::lock_guard lock(mutex_);
	stats_.connected = false;
}

} // namespace lethe::publish
