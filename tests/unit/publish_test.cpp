// SPDX-License-Identifier: GPL-3.0-or-later
// Publishing hits to a real mosquitto: round trip, outage, crash, policy allowlist, TLS.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "lethe/common/utc_time.h"
#include "lethe/publish/mqtt_inspect.h"
#include "lethe/publish/publisher.h"
#include "support/lethed_fixture.h"
#include "support/mosquitto_fixture.h"
#include "support/policies.h"
#include "support/required_tool.h"
#include "support/temp_dir.h"

namespace lethe::test {
namespace {

using namespace lethe::publish;
using namespace std::chrono_literals;

const std::string kHitTopic = "lethe/hits/agency";
const std::string kStatusTopic = "lethe/status/dev1";

policy::Policy allow(const MosquittoBroker &broker, std::vector<std::string> topics = {kHitTopic,
										       kStatusTopic})
{
	return make_policy(0s, 0s,
			   {.version = 7,
			    .outbox = 3600s,
			    .hotlist_categories = {"stolen"},
			    .recipients = {
				{"agency", broker.address(), std::move(topics), "tests", true}}});
}

PublisherConfig config(const MosquittoBroker &broker)
{
	PublisherConfig c;
	c.device_id = "dev1";
	c.host = broker.host();
	c.port = broker.port();
	c.hit_topic = kHitTopic;
	c.status_topic = kStatusTopic;
	c.backoff_min = 50ms;
	c.backoff_max = 400ms;
	if (broker.tls_enabled()) {
		c.tls = true;
		c.ca_file = broker.tls().ca_cert;
		c.cert_file = broker.tls().client_cert;
		c.key_file = broker.tls().client_key;
	}
	return c;
}

HitEvent hit(const std::string &plate)
{
	HitEvent e;
	e.event_id = new_event_id();
	e.camera_id = "cam0";
	e.time = std::chrono::system_clock::now();
	e.plate = plate;
	e.confidence = 0.93;
	e.region = "CA";
	e.list_id = "ncic-stolen";
	e.category = "stolen";
	e.match_type = hotlist::MatchType::Confusion;
	e.crop_jpeg = {0xff, 0xd8, 0xff, 0xd9};
	e.location = Location{37.77, -122.42, 5.0};
	return e;
}

/// Event ids of the hit messages received (all copies, duplicates included).
std::vector<std::string> hit_ids(const MqttSubscriber &sub)
{
	std::vector<std::string> ids;
	for (const auto &m : sub.messages())
		if (m.topic == kHitTopic)
			ids.push_back(nlohmann::json::parse(m.payload).at("event_id").get<std::string>());
	return ids;
}

/// Wait until the distinct hit event ids received cover `want`; returns them.
std::set<std::string> wait_unique(const MqttSubscriber &sub, std::size_t want,
				  std::chrono::milliseconds timeout)
{
	const auto deadline = std::chrono::steady_clock::now() + timeout;
	std::set<std::string> unique;
	for (;;) {
		const auto ids = hit_ids(sub);
		unique = std::set<std::string>(ids.begin(), ids.end());
		if (unique.size() >= want || std::chrono::steady_clock::now() > deadline)
			return unique;
		std::this_thread::sleep_for(20ms);
	}
}

struct Rig {
	TempDir dir;
	std::unique_ptr<FileOutboxKeys> keys;
	std::unique_ptr<Outbox> outbox;
	explicit Rig(const std::filesystem::path &state = {})
	{
		const auto base = state.empty() ? dir.path() : state;
		keys = std::move(FileOutboxKeys::create(base / "outbox.key")).value();
		outbox = std::move(Outbox::open(base / "outbox.db", *keys)).value();
	}
};

TEST(Publish, RoundTripOverMqtt5WithStatus)
{
	MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	MqttSubscriber sub(broker, "lethe/#");
	ASSERT_TRUE(sub.connected());
	Rig rig;
	auto pub = Publisher::create(config(broker), *rig.outbox, allow(broker));
	ASSERT_TRUE(pub) << pub.error().message;
	(*pub)->start();
	ASSERT_TRUE((*pub)->wait_connected(5s)) << (*pub)->stats().last_error;
	EXPECT_EQ((*pub)->stats().protocol, 5);

	const HitEvent e = hit("7XYZ89");
	ASSERT_TRUE((*pub)->publish(e));
	ASSERT_TRUE((*pub)->wait_until_empty(5s));
	ASSERT_TRUE(sub.wait_for(2, 5s));
	bool seen_hit = false, seen_status = false;
	for (const auto &m : sub.messages()) {
		if (m.topic == kHitTopic) {
			seen_hit = true;
			EXPECT_FALSE(m.retain);
			EXPECT_EQ(m.qos, 1);
			auto got = event_from_json(m.payload);
			ASSERT_TRUE(got) << got.error().message << "\n" << m.payload;
			EXPECT_EQ(got->event_id, e.event_id);
			EXPECT_EQ(got->plate, "7XYZ89");
			EXPECT_EQ(got->device_id, "dev1");
			EXPECT_EQ(got->policy_id, "test-policy");
			EXPECT_EQ(got->policy_version, 7u);
			EXPECT_EQ(got->match_type, hotlist::MatchType::Confusion);
			EXPECT_EQ(got->crop_jpeg, e.crop_jpeg);
			ASSERT_TRUE(got->location);
			EXPECT_DOUBLE_EQ(got->location->latitude, 37.77);
			EXPECT_EQ(nlohmann::json::parse(m.payload).at("verification_required"), true);
		} else if (m.topic == kStatusTopic) {
			seen_status = true;
			const auto j = nlohmann::json::parse(m.payload);
			EXPECT_EQ(j.at("state"), "online");
			EXPECT_EQ(j.at("policy").at("version"), 7);
			EXPECT_TRUE(j.contains("outbox_depth"));
			EXPECT_EQ(m.payload.find("7XYZ89"), std::string::npos);
		}
	}
	EXPECT_TRUE(seen_hit);
	EXPECT_TRUE(seen_status);
	EXPECT_EQ((*pub)->stats().acked, 1u);

	// Clean stop leaves a retained "offline" status for late subscribers.
	(*pub)->stop();
	MqttSubscriber late(broker, kStatusTopic);
	ASSERT_TRUE(late.wait_for(1, 5s));
	EXPECT_TRUE(late.messages()[0].retain);
	EXPECT_EQ(nlohmann::json::parse(late.messages()[0].payload).at("state"), "offline");
}

TEST(Publish, PeriodicHealthStatusCarriesFiguresAndNoPlates)
{
	MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	MqttSubscriber sub(broker, kStatusTopic);
	Rig rig;
	auto cfg = config(broker);
	cfg.status_interval = 150ms;
	auto pub = std::move(Publisher::create(cfg, *rig.outbox, allow(broker))).value();
	pub->set_health({12.5, 1000, 40, 2, 3600, "ncic-me"});
	pub->start();
	ASSERT_TRUE(pub->wait_connected(5s));
	ASSERT_TRUE(pub->publish(hit("HLT1234")));
	ASSERT_TRUE(sub.wait_for(4, 5s));
	const auto last = nlohmann::json::parse(sub.messages().back().payload);
	EXPECT_EQ(last.at("state"), "online");
	EXPECT_DOUBLE_EQ(last.at("frames_per_second").get<double>(), 12.5);
	EXPECT_EQ(last.at("reads"), 40);
	EXPECT_EQ(last.at("hits"), 2);
	EXPECT_EQ(last.at("hotlist").at("age_s"), 3600);
	EXPECT_EQ(last.at("policy").at("id"), "test-policy");
	EXPECT_TRUE(last.contains("outbox_depth"));
	for (const auto &m : sub.messages())
		EXPECT_EQ(m.payload.find("HLT1234"), std::string::npos);
}

TEST(Publish, Mqtt311RoundTrip)
{
	MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	MqttSubscriber sub(broker, kHitTopic);
	Rig rig;
	auto cfg = config(broker);
	cfg.mqtt5 = false;
	auto pub = std::move(Publisher::create(cfg, *rig.outbox, allow(broker))).value();
	pub->start();
	ASSERT_TRUE(pub->wait_connected(5s));
	EXPECT_EQ(pub->stats().protocol, 4);
	ASSERT_TRUE(pub->publish(hit("ABC1234")));
	ASSERT_TRUE(sub.wait_for(1, 5s));
	EXPECT_TRUE(pub->wait_until_empty(5s));
}

/// What an MQTT 3.1.1-only broker (mosquitto 1.x, many embedded brokers) looks like on the
/// wire, in front of the real mosquitto: a CONNECT at protocol level 5 is answered with a
/// 3.1.1 CONNACK "unacceptable protocol version" (0x01) and closed; any other connection is
/// relayed byte for byte to the real broker. Debian's mosquitto 2.0 cannot be told to refuse
/// MQTT 5 itself, so this gate is the smallest stand-in for such a broker.
class V311OnlyGate
{
public:
	explicit V311OnlyGate(int upstream_port) : upstream_(upstream_port)
	{
		listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof(a);
		const int one = 1;
		::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (::bind(listen_fd_, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0 ||
		    ::listen(listen_fd_, 8) != 0 ||
		    ::getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&a), &len) != 0)
			return;
		port_ = ntohs(a.sin_port);
		thread_ = std::thread([this] { serve(); });
	}
	~V311OnlyGate()
	{
		stop_ = true;
		::shutdown(listen_fd_, SHUT_RDWR);
		if (thread_.joinable())
			thread_.join();
		::close(listen_fd_);
	}
	[[nodiscard]] int port() const { return port_; }
	[[nodiscard]] int refused_v5() const { return refused_v5_; }
	[[nodiscard]] int relayed() const { return relayed_; }

private:
	static bool read_exact(int fd, std::string &buf, std::size_t n)
	{
		char c;
		while (n--) {
			if (::recv(fd, &c, 1, 0) != 1)
				return false;
			buf.push_back(c);
		}
		return true;
	}
	void serve()
	{
		while (!stop_) {
			pollfd p{listen_fd_, POLLIN, 0};
			if (::poll(&p, 1, 100) <= 0)
				continue;
			const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
			if (client < 0)
				continue;
			handle(client);
			::close(client);
		}
	}
	void handle(int client)
	{
		// CONNECT: fixed header, remaining length (varint), protocol name, protocol level.
		std::string packet;
		if (!read_exact(client, packet, 1) || static_cast<unsigned char>(packet[0]) != 0x10)
			return;
		std::size_t remaining = 0;
		for (int shift = 0; shift < 28; shift += 7) {
			if (!read_exact(client, packet, 1))
				return;
			const auto b = static_cast<unsigned char>(packet.back());
			remaining |= static_cast<std::size_t>(b & 0x7f) << shift;
			if (!(b & 0x80))
				break;
		}
		const std::size_t header = packet.size();
		if (!read_exact(client, packet, remaining) || remaining < 7)
			return;
		const auto level = static_cast<unsigned char>(packet[header + 6]);
		if (level == 5) {
			const unsigned char connack[] = {0x20, 0x02, 0x00, 0x01};
			(void)!::send(client, connack, sizeof(connack), MSG_NOSIGNAL);
			++refused_v5_;
			return;
		}
		++relayed_;
		const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons(static_cast<std::uint16_t>(upstream_));
		if (::connect(up, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0 ||
		    ::send(up, packet.data(), packet.size(), MSG_NOSIGNAL) !=
			    static_cast<ssize_t>(packet.size())) {
			::close(up);
			return;
		}
		char buf[4096];
		while (!stop_) {
			pollfd fds[2] = {{client, POLLIN, 0}, {up, POLLIN, 0}};
			if (::poll(fds, 2, 100) < 0)
				break;
			bool closed = false;
			for (int i = 0; i < 2 && !closed; ++i) {
				if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				const ssize_t n = ::recv(fds[i].fd, buf, sizeof(buf), 0);
				const int to = i == 0 ? up : client;
				closed = n <= 0 || ::send(to, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n;
			}
			if (closed)
				break;
		}
		::close(up);
	}

	int upstream_;
	int listen_fd_ = -1;
	int port_ = 0;
	std::atomic<bool> stop_{false};
	std::atomic<int> refused_v5_{0}, relayed_{0};
	std::thread thread_;
};

TEST(Publish, FallsBackToMqtt311WhenTheBrokerRefusesMqtt5)
{
	MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	V311OnlyGate gate(broker.port());
	ASSERT_NE(gate.port(), 0);
	MqttSubscriber sub(broker, kHitTopic);
	ASSERT_TRUE(sub.connected());
	Rig rig;
	auto cfg = config(broker);
	cfg.port = gate.port(); // MQTT 5 asked for; the broker only speaks 3.1.1
	auto policy = allow(broker);
	policy.recipients[0].broker = cfg.broker();
	auto pub = std::move(Publisher::create(cfg, *rig.outbox, policy)).value();
	pub->start();
	ASSERT_TRUE(pub->wait_connected(10s)) << pub->stats().last_error;
	EXPECT_EQ(pub->stats().protocol, 4) << "connected, but not over 3.1.1";
	EXPECT_GE(gate.refused_v5(), 1) << "MQTT 5 was never tried";
	EXPECT_GE(gate.relayed(), 1);
	const HitEvent e = hit("FBK3111");
	ASSERT_TRUE(pub->publish(e));
	ASSERT_TRUE(sub.wait_for(1, 5s));
	EXPECT_EQ(hit_ids(sub), std::vector<std::string>{e.event_id});
	EXPECT_TRUE(pub->wait_until_empty(5s));
	pub->stop();
}

/// A broker that reads each CONNECT, answers with the start of a packet only (a CONNACK header
/// announcing 3 bytes, then 1 of them) and hangs up.
class HangUpMidPacketBroker
{
public:
	HangUpMidPacketBroker()
	{
		listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof(a);
		if (::bind(listen_fd_, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0 ||
		    ::listen(listen_fd_, 8) != 0 ||
		    ::getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&a), &len) != 0)
			return;
		port_ = ntohs(a.sin_port);
		thread_ = std::thread([this] { serve(); });
	}
	~HangUpMidPacketBroker()
	{
		stop_ = true;
		if (thread_.joinable())
			thread_.join();
		::close(listen_fd_);
	}
	[[nodiscard]] int port() const { return port_; }
	[[nodiscard]] int hung_up() const { return hung_up_; }

private:
	/// Wait up to 2 s for bytes; append them. False on EOF, error or time-out.
	bool read_some(int fd, std::string &into) const
	{
		pollfd p{fd, POLLIN, 0};
		if (::poll(&p, 1, 2000) <= 0)
			return false;
		char buf[4096];
		const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return false;
		into.append(buf, static_cast<std::size_t>(n));
		return true;
	}
	void serve()
	{
		while (!stop_) {
			pollfd p{listen_fd_, POLLIN, 0};
			if (::poll(&p, 1, 50) <= 0)
				continue;
			const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
			if (client < 0)
				continue;
			// The whole CONNECT first (closing with it unread would reset the connection).
			std::string in;
			bool complete = false;
			while (!complete && read_some(client, in)) {
				std::size_t remaining = 0, i = 1;
				for (int shift = 0; i < in.size() && shift < 28; shift += 7, ++i) {
					const auto byte = static_cast<unsigned char>(in[i]);
					remaining |= static_cast<std::size_t>(byte & 0x7f) << shift;
					if (!(byte & 0x80)) {
						complete = in.size() >= i + 1 + remaining;
						break;
					}
				}
			}
			const unsigned char part[] = {0x20, 0x03, 0x00};
			if (complete && ::send(client, part, sizeof(part), MSG_NOSIGNAL) == 3) {
				::shutdown(client, SHUT_WR);
				std::string rest;
				while (read_some(client, rest)) // until the device closes
					;
				++hung_up_;
			}
			::close(client);
		}
	}

	int listen_fd_ = -1;
	int port_ = 0;
	std::atomic<bool> stop_{false};
	std::atomic<int> hung_up_{0};
	std::thread thread_;
};

TEST(Publish, BrokerHangingUpMidPacketIsReportedClearlyAndRetried)
{
	// libmosquitto reports a connection that ends inside a packet as MOSQ_ERR_ERRNO with errno
	// cleared, which last_error (`lethe status`) showed as "connection: Success" (docs/fuzzing.md,
	// finding 7). The device must also keep coming back.
	HangUpMidPacketBroker broker;
	ASSERT_NE(broker.port(), 0);
	Rig rig;
	PublisherConfig c;
	c.device_id = "dev1";
	c.port = broker.port();
	c.hit_topic = kHitTopic;
	c.status_topic = kStatusTopic;
	c.backoff_min = 10ms;
	c.backoff_max = 50ms;
	const auto p = make_policy(
	    0s, 0s,
	    {.outbox = 3600s,
	     .recipients = {{"agency", c.broker(), {kHitTopic, kStatusTopic}, "tests", true}}});
	auto pub = std::move(Publisher::create(c, *rig.outbox, p)).value();
	pub->start();
	ASSERT_TRUE(pub->publish(hit("CUT1234")));
	const auto deadline = std::chrono::steady_clock::now() + 20s;
	while (broker.hung_up() < 3 && std::chrono::steady_clock::now() < deadline)
		std::this_thread::sleep_for(10ms);
	pub->stop();
	EXPECT_GE(broker.hung_up(), 3) << "the device stopped reconnecting";
	const auto st = pub->stats();
	EXPECT_FALSE(st.connected);
	EXPECT_EQ(st.connects, 0u);
	EXPECT_GE(st.connect_failures, 2u);
	RecordProperty("last_error", st.last_error);
	const std::string prefix = "connection to " + c.broker() + ": ";
	EXPECT_EQ(st.last_error.substr(0, prefix.size()), prefix) << st.last_error;
	EXPECT_EQ(st.last_error.find("Success"), std::string::npos) << st.last_error;
	EXPECT_EQ(rig.outbox->depth(), 1u) << "the hit waits in the outbox";
}

TEST(Publish, TopicOrBrokerOutsidePolicyNeverReachesTheWire)
{
	MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	MqttSubscriber sub(broker, "#");
	ASSERT_TRUE(sub.connected());
	Rig rig;
	// Allowed: only the hit topic on ANOTHER broker. Nothing may be sent to this one.
	auto p = allow(broker);
	p.recipients[0].broker = "127.0.0.1:1";
	auto pub = std::move(Publisher::create(config(broker), *rig.outbox, p)).value();
	pub->start();
	ASSERT_TRUE(pub->wait_connected(5s));
	auto s = pub->publish(hit("ABC1234"));
	ASSERT_FALSE(s);
	EXPECT_EQ(s.error().code, -EPERM);
	// Right broker, topic not on the allowlist.
	pub->set_policy(allow(broker, {kHitTopic}));
	auto s2 = pub->publish(hit("ABC1234"), "lethe/hits/elsewhere");
	ASSERT_FALSE(s2);
	EXPECT_EQ(s2.error().code, -EPERM);
	EXPECT_EQ(rig.outbox->depth(), 0u);
	EXPECT_EQ(pub->stats().refused, 2u);
	// A stale hit under a policy that does not publish stale hits.
	auto stale = hit("ABC1234");
	stale.stale = true;
	EXPECT_FALSE(pub->publish(stale));
	// Policy revoked after the hit was queued: it stays in the outbox, unsent.
	pub->stop();
	ASSERT_TRUE(pub->publish(hit("QUEUED1")));
	pub->set_policy(allow(broker, {"lethe/other"}));
	pub->start();
	// Connected again (the second CONNACK): the publisher thread goes over the outbox in the
	// iteration that connects, and stop() joins the thread, so the queued hit has been passed
	// over by then if it was ever going to be sent.
	ASSERT_TRUE(wait_until([&] { return pub->stats().connects >= 2; }, 10s))
		<< pub->stats().last_error;
	pub->stop();
	EXPECT_EQ(rig.outbox->depth(), 1u);
	EXPECT_EQ(pub->stats().sent, 0u);
	// The status topic was not allowed either (only kHitTopic): nothing at all arrived.
	EXPECT_EQ(sub.count(), 0u);
	for (const auto &m : sub.messages())
		ADD_FAILURE() << "unexpected message on " << m.topic;
}

TEST(Publish, BrokerOutageLosesNothing)
{
	MosquittoBroker::Options o;
	o.persistence = true;
	MosquittoBroker broker(o);
	ASSERT_TRUE(broker.start()) << broker.log_text();
	MqttSubscriber sub(broker, kHitTopic, "consumer-outage");
	ASSERT_TRUE(sub.connected());
	Rig rig;
	auto pub = std::move(Publisher::create(config(broker), *rig.outbox, allow(broker))).value();
	pub->start();
	ASSERT_TRUE(pub->wait_connected(5s));

	std::set<std::string> sent;
	for (int i = 0; i < 5; ++i) {
		auto e = hit("ABC" + std::to_string(1000 + i));
		sent.insert(e.event_id);
		ASSERT_TRUE(pub->publish(e));
	}
	ASSERT_TRUE(pub->wait_until_empty(5s));
	broker.stop();
	for (int i = 0; i < 20; ++i) {
		auto e = hit("OUT" + std::to_string(1000 + i));
		sent.insert(e.event_id);
		ASSERT_TRUE(pub->publish(e)); // stored while the broker is down
	}
	// The publisher has gone round since the hits were stored: two more connection failures
	// (the outage noticed, or a reconnection refused) after the last publish.
	const auto failures = pub->stats().connect_failures;
	ASSERT_TRUE(wait_until([&] { return pub->stats().connect_failures >= failures + 2; }, 10s))
		<< pub->stats().last_error;
	EXPECT_EQ(rig.outbox->depth(), 20u);
	EXPECT_FALSE(pub->stats().connected);
	ASSERT_TRUE(broker.start()) << broker.log_text();
	ASSERT_TRUE(pub->wait_until_empty(15s)) << pub->stats().last_error;
	EXPECT_EQ(wait_unique(sub, sent.size(), 15s), sent); // every hit, each once after dedupe by event id
	EXPECT_GE(pub->stats().connects, 2u);
}

TEST(Publish, KilledMidPublishIsDeliveredAfterRestart)
{
	MosquittoBroker::Options o;
	o.persistence = true;
	MosquittoBroker broker(o);
	ASSERT_TRUE(broker.start()) << broker.log_text();
	{
		// Register a persistent consumer session, then go away (no threads before fork).
		MqttSubscriber reg(broker, "lethe/#", "consumer-crash");
		ASSERT_TRUE(reg.connected());
	}
	TempDir state;
	constexpr int kHits = 10;
	int to_parent[2], to_child[2];
	ASSERT_EQ(pipe(to_parent), 0);
	ASSERT_EQ(pipe(to_child), 0);
	const pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		Rig rig(state.path());
		auto pub = std::move(Publisher::create(config(broker), *rig.outbox, allow(broker)))
				   .value();
		pub->start();
		char c = pub->wait_connected(5s) ? 'C' : 'F';
		(void)!write(to_parent[1], &c, 1);
		(void)!read(to_child[0], &c, 1); // parent froze the broker
		for (int i = 0; i < kHits; ++i)
			if (!pub->publish(hit("KIL" + std::to_string(1000 + i))))
				_exit(3);
		std::this_thread::sleep_for(200ms); // PUBLISH packets are on the socket, no PUBACK
		c = 'P';
		(void)!write(to_parent[1], &c, 1);
		for (;;)
			pause();
	}
	char c = 0;
	ASSERT_EQ(read(to_parent[0], &c, 1), 1);
	ASSERT_EQ(c, 'C');
	::kill(broker.pid(), SIGSTOP);
	(void)!write(to_child[1], &c, 1);
	ASSERT_EQ(read(to_parent[0], &c, 1), 1);
	ASSERT_EQ(c, 'P');
	::kill(child, SIGKILL);
	int status = 0;
	waitpid(child, &status, 0);
	::kill(broker.pid(), SIGCONT);

	MqttSubscriber sub(broker, "lethe/#", "consumer-crash");
	ASSERT_TRUE(sub.connected());
	Rig rig(state.path());
	EXPECT_EQ(rig.outbox->depth(), static_cast<std::size_t>(kHits)); // nothing was acked
	auto pending = rig.outbox->peek(100, std::chrono::system_clock::now());
	ASSERT_TRUE(pending);
	std::set<std::string> expected;
	for (const auto &it : *pending)
		expected.insert(it.event_id);
	auto pub = std::move(Publisher::create(config(broker), *rig.outbox, allow(broker))).value();
	pub->start();
	ASSERT_TRUE(pub->wait_until_empty(15s)) << pub->stats().last_error;
	EXPECT_EQ(wait_unique(sub, expected.size(), 10s), expected);
	// The killed publisher's last will announced it offline.
	bool offline = false;
	for (const auto &m : sub.messages())
		if (m.topic == kStatusTopic &&
		    nlohmann::json::parse(m.payload).at("state") == "offline")
			offline = true;
	EXPECT_TRUE(offline);
}

TEST(Publish, TlsWithClientCertificateRoundTrip)
{
	MosquittoBroker::Options o;
	o.tls = true;
	MosquittoBroker broker(o);
	ASSERT_TRUE(broker.start()) << broker.log_text();
	MqttSubscriber sub(broker, kHitTopic);
	ASSERT_TRUE(sub.connected());
	Rig rig;
	auto pub = std::move(Publisher::create(config(broker), *rig.outbox, allow(broker))).value();
	pub->start();
	ASSERT_TRUE(pub->wait_connected(5s)) << pub->stats().last_error;
	ASSERT_TRUE(pub->publish(hit("TLS1234")));
	ASSERT_TRUE(sub.wait_for(1, 5s));
	EXPECT_TRUE(pub->wait_until_empty(5s));
}

const std::string kBrokerUser = "lethe-dev1";
const std::string kBrokerPassword = "horse-battery-42";

/// A password file for the publisher, mode 0600 (what the config check requires).
std::filesystem::path password_file(const TempDir &dir, const std::string &password)
{
	const auto path = dir / "broker.pass";
	write_file(path, password + "\n");
	std::filesystem::permissions(path, std::filesystem::perms::owner_read |
						   std::filesystem::perms::owner_write);
	return path;
}

// [[broker]] username / password_file reach the broker: a mosquitto with allow_anonymous false
// gets the hits, over plain TCP and over TLS (the relay forwards the CONNECT as it is).
TEST(Publish, HitsReachAPasswordProtectedBroker)
{
	for (const bool tls : {false, true}) {
		SCOPED_TRACE(tls ? "TLS" : "plain");
		MosquittoBroker::Options o;
		o.tls = tls;
		o.username = kBrokerUser;
		o.password = kBrokerPassword;
		MosquittoBroker broker(o);
		ASSERT_TRUE(broker.start()) << broker.log_text();
		MqttSubscriber sub(broker, kHitTopic);
		ASSERT_TRUE(sub.connected()) << broker.log_text();
		Rig rig;
		auto cfg = config(broker);
		cfg.username = kBrokerUser;
		cfg.password_file = password_file(rig.dir, kBrokerPassword);
		auto pub = Publisher::create(cfg, *rig.outbox, allow(broker));
		ASSERT_TRUE(pub) << pub.error().message;
		(*pub)->start();
		ASSERT_TRUE((*pub)->wait_connected(5s)) << (*pub)->stats().last_error;
		ASSERT_TRUE((*pub)->publish(hit("PW12345")));
		ASSERT_TRUE(sub.wait_for(1, 5s)) << broker.log_text();
		EXPECT_TRUE((*pub)->wait_until_empty(5s));
		EXPECT_EQ((*pub)->stats().last_error, "");
		EXPECT_EQ(broker.log_text().find(kBrokerPassword), std::string::npos);
	}
}

// A wrong password (or none) is what `lethe status` shows: the publisher's last_error names the
// refusal and the user, never the password; the hit stays in the outbox.
TEST(Publish, RefusedBrokerLoginShowsInLastError)
{
	MosquittoBroker::Options o;
	o.username = kBrokerUser;
	o.password = kBrokerPassword;
	MosquittoBroker broker(o);
	ASSERT_TRUE(broker.start()) << broker.log_text();
	for (const bool anonymous : {false, true}) {
		SCOPED_TRACE(anonymous ? "no username" : "wrong password");
		Rig rig;
		auto cfg = config(broker);
		if (!anonymous) {
			cfg.username = kBrokerUser;
			cfg.password_file = password_file(rig.dir, "wrong-password-7");
		}
		auto pub = std::move(Publisher::create(cfg, *rig.outbox, allow(broker))).value();
		pub->start();
		ASSERT_TRUE(pub->publish(hit("PW99999")));
		const std::string want = anonymous ? "(no username configured)"
						   : "(as user '" + kBrokerUser + "')";
		ASSERT_TRUE(wait_until(
			[&] { return pub->stats().last_error.find(want) != std::string::npos; }, 10s))
			<< pub->stats().last_error;
		const auto st = pub->stats();
		EXPECT_EQ(st.last_error.rfind("broker refused the connection: ", 0), 0u) << st.last_error;
		EXPECT_EQ(st.last_error.find("wrong-password-7"), std::string::npos) << st.last_error;
		EXPECT_FALSE(st.connected);
		EXPECT_EQ(st.outbox_depth, 1u);
		pub->stop();
	}
}

// A password file that group or others can read or write, or that is not a regular file, is
// refused before anything connects.
TEST(Publish, PasswordFileOthersCanReadIsRefused)
{
	MosquittoBroker broker;
	Rig rig;
	auto cfg = config(broker);
	cfg.username = kBrokerUser;
	cfg.password_file = password_file(rig.dir, kBrokerPassword);
	std::filesystem::permissions(cfg.password_file, std::filesystem::perms::group_read |
								 std::filesystem::perms::others_read,
				     std::filesystem::perm_options::add);
	auto pub = Publisher::create(cfg, *rig.outbox, allow(broker));
	ASSERT_FALSE(pub);
	EXPECT_EQ(pub.error().code, -EPERM);
	EXPECT_NE(pub.error().message.find(cfg.password_file + " is readable or writable by group or "
								 "others (mode 0644)"),
		  std::string::npos)
		<< pub.error().message;

	cfg.password_file = rig.dir.path().string(); // a directory
	pub = Publisher::create(cfg, *rig.outbox, allow(broker));
	ASSERT_FALSE(pub);
	EXPECT_NE(pub.error().message.find("is not a regular file"), std::string::npos)
		<< pub.error().message;
}

TEST(Publish, BrokerWithWrongCaIsRefused)
{
	MosquittoBroker::Options o;
	o.tls = true;
	MosquittoBroker broker(o);
	ASSERT_TRUE(broker.start()) << broker.log_text();
	MqttSubscriber sub(broker, "#");
	ASSERT_TRUE(sub.connected());
	TlsFiles other;
	ASSERT_TRUE(make_tls_files(broker.dir() / "other", "other", other));
	Rig rig;
	auto cfg = config(broker);
	cfg.ca_file = other.ca_cert; // trusts a CA that did not sign the broker's certificate
	auto pub = std::move(Publisher::create(cfg, *rig.outbox, allow(broker))).value();
	pub->start();
	ASSERT_TRUE(pub->publish(hit("CA12345")));
	// Handshakes tried and refused, twice (not merely not tried yet): never connected.
	ASSERT_TRUE(wait_until([&] { return pub->stats().connect_failures >= 2; }, 10s))
		<< pub->stats().last_error;
	const auto st = pub->stats();
	EXPECT_FALSE(st.connected);
	EXPECT_EQ(st.connects, 0u);
	EXPECT_GE(st.connect_failures, 1u);
	EXPECT_NE(st.last_error.find("TLS"), std::string::npos) << st.last_error;
	EXPECT_EQ(st.outbox_depth, 1u); // kept, not sent
	pub->stop();
	EXPECT_EQ(sub.count(), 0u);
}

TEST(Publish, BrokerCertificateForAnotherNameIsRefused)
{
	// The broker's certificate is signed by the trusted CA, but for another host: the relay
	// checks the name (here an IP address) as libmosquitto did, and refuses.
	MosquittoBroker::Options o;
	o.tls = true;
	o.server_names = "DNS:broker.example.org";
	MosquittoBroker broker(o);
	ASSERT_TRUE(broker.start()) << broker.log_text();
	Rig rig;
	auto pub = std::move(Publisher::create(config(broker), *rig.outbox, allow(broker))).value();
	pub->start();
	ASSERT_TRUE(pub->publish(hit("NAM1234")));
	// Handshakes tried and refused, twice (not merely not tried yet): never connected.
	ASSERT_TRUE(wait_until([&] { return pub->stats().connect_failures >= 2; }, 10s))
		<< pub->stats().last_error;
	const auto st = pub->stats();
	EXPECT_FALSE(st.connected);
	EXPECT_EQ(st.connects, 0u);
	EXPECT_GE(st.connect_failures, 1u);
	EXPECT_NE(st.last_error.find("TLS"), std::string::npos) << st.last_error;
	EXPECT_NE(st.last_error.find("mismatch"), std::string::npos) << st.last_error;
	EXPECT_EQ(st.outbox_depth, 1u);
	pub->stop();
	// No MQTT client ever got past the handshake (a subscriber checking names cannot either).
	EXPECT_EQ(broker.log_text().find("New client connected"), std::string::npos)
	    << broker.log_text();
}

TEST(Publish, TlsByHostNameChecksTheNameAndDelivers)
{
	// A broker reached by a DNS name ("localhost", in the certificate): SNI and the name check
	// take the host-name path, not the IP-address one.
	MosquittoBroker::Options o;
	o.tls = true;
	MosquittoBroker broker(o);
	ASSERT_TRUE(broker.start()) << broker.log_text();
	MqttSubscriber sub(broker, kHitTopic);
	ASSERT_TRUE(sub.connected());
	Rig rig;
	auto cfg = config(broker);
	cfg.host = "localhost";
	auto policy = allow(broker);
	policy.recipients[0].broker = cfg.broker();
	auto pub = std::move(Publisher::create(cfg, *rig.outbox, policy)).value();
	pub->start();
	ASSERT_TRUE(pub->wait_connected(10s)) << pub->stats().last_error;
	ASSERT_TRUE(pub->publish(hit("DNS1234")));
	ASSERT_TRUE(sub.wait_for(1, 10s));
	EXPECT_TRUE(pub->wait_until_empty(10s));
	pub->stop();
}

TEST(Publish, OutboxDeadlinesFollowRetentionTimeNotTheWallClock)
{
	// No broker is listening: the hit waits in the outbox. Its deadline is kept on the clock
	// lethed lends (retention time, which a wall clock set back cannot rewind): once that
	// clock passes the policy's outbox retention, the hit is gone, whatever the wall says.
	Rig rig;
	PublisherConfig cfg;
	cfg.device_id = "dev1";
	cfg.host = "127.0.0.1";
	cfg.port = free_port();
	cfg.hit_topic = kHitTopic;
	cfg.backoff_min = 50ms;
	cfg.backoff_max = 100ms;
	std::atomic<std::int64_t> offset_s{0};
	// Never connected, the publisher thread asks this clock only for an outbox purge pass
	// (one a second); publish() asks it on this thread.
	const auto test_thread = std::this_thread::get_id();
	std::atomic<int> purge_passes{0};
	cfg.retention_now = [&] {
		if (std::this_thread::get_id() != test_thread)
			++purge_passes;
		return std::chrono::system_clock::now() + std::chrono::seconds(offset_s.load());
	};
	const auto p = make_policy(
	    0s, 0s,
	    {.outbox = 60s, .recipients = {{"agency", cfg.broker(), {kHitTopic}, "tests", true}}});
	auto pub = std::move(Publisher::create(cfg, *rig.outbox, p)).value();
	pub->start();
	ASSERT_TRUE(pub->publish(hit("OLD1234")));
	// A purge pass that began after the hit was stored has looked at it.
	const int passes = purge_passes.load();
	ASSERT_TRUE(wait_until([&] { return purge_passes.load() > passes; }, 10s));
	EXPECT_EQ(rig.outbox->depth(), 1u) << "purged before its deadline";
	offset_s = 61; // retention time is a minute on (the wall clock was set back meanwhile)
	const auto deadline = std::chrono::steady_clock::now() + 5s;
	while (rig.outbox->depth() != 0 && std::chrono::steady_clock::now() < deadline)
		std::this_thread::sleep_for(50ms);
	EXPECT_EQ(rig.outbox->depth(), 0u) << "kept past the policy's outbox retention";
	pub->stop();
}

std::string bytes(std::initializer_list<int> b)
{
	std::string s;
	for (const int c : b)
		s.push_back(static_cast<char>(c));
	return s;
}

TEST(MqttInspect, FlagsUnknownPropertiesWhereLibmosquittoParsesThem)
{
	using mqtt::check_from_broker;
	// Finding 4: CONNACK, property id 0. libmosquitto 2.0.11 aborts on it.
	auto s = check_from_broker(bytes({0x20, 0x05, 0x00, 0x00, 0x02, 0x00, 0x02}), 5);
	ASSERT_FALSE(s);
	EXPECT_EQ(s.error().code, -EPROTO);
	EXPECT_EQ(s.error().message,
		  "broker sent an MQTT 5 property libmosquitto cannot parse (id 0x00 in CONNACK)");
	// MQTT 3.1.1 packets carry no properties: libmosquitto never reads them.
	EXPECT_TRUE(check_from_broker(bytes({0x20, 0x05, 0x00, 0x00, 0x02, 0x00, 0x02}), 4));
	// Known properties pass: CONNACK with receive maximum (33) and a reason string (31).
	EXPECT_TRUE(check_from_broker(
	    bytes({0x20, 0x0a, 0x00, 0x00, 0x07, 0x21, 0x00, 0x0a, 0x1f, 0x00, 0x01, 'x'}), 5));
	// PUBACK (id 1, reason 0, unknown property 0x7f), PUBREC, PUBREL, PUBCOMP alike.
	for (const int type : {0x40, 0x50, 0x62, 0x70}) {
		auto p = check_from_broker(bytes({type, 0x05, 0x00, 0x01, 0x00, 0x01, 0x7f}), 5);
		ASSERT_FALSE(p) << type;
		EXPECT_NE(p.error().message.find("id 0x7f in PUB"), std::string::npos)
		    << p.error().message;
	}
	// PUBACK without properties, and with a reason code only.
	EXPECT_TRUE(check_from_broker(bytes({0x40, 0x02, 0x00, 0x01}), 5));
	EXPECT_TRUE(check_from_broker(bytes({0x40, 0x03, 0x00, 0x01, 0x87}), 5));
	// DISCONNECT and AUTH: reason code, then properties.
	EXPECT_FALSE(check_from_broker(bytes({0xe0, 0x03, 0x00, 0x01, 0x00}), 5));
	EXPECT_FALSE(check_from_broker(bytes({0xf0, 0x03, 0x18, 0x01, 0x05}), 5));
	EXPECT_TRUE(check_from_broker(bytes({0xe0, 0x01, 0x8e}), 5));
	// SUBACK and UNSUBACK: packet id, then properties.
	EXPECT_FALSE(check_from_broker(bytes({0x90, 0x05, 0x00, 0x01, 0x01, 0x00, 0x00}), 5));
	EXPECT_FALSE(check_from_broker(bytes({0xb0, 0x05, 0x00, 0x01, 0x01, 0x00, 0x00}), 5));
	// PUBLISH QoS 1: topic "t", packet id, properties (unknown 0x04), payload.
	EXPECT_FALSE(check_from_broker(
	    bytes({0x32, 0x08, 0x00, 0x01, 't', 0x00, 0x07, 0x01, 0x04, 'p'}), 5));
	// The same at QoS 0 has no packet id: the block starts right after the topic.
	EXPECT_TRUE(check_from_broker(bytes({0x30, 0x06, 0x00, 0x01, 't', 0x02, 0x01, 0x01}), 5));
	// PINGRESP has no properties.
	EXPECT_TRUE(check_from_broker(bytes({0xd0, 0x00}), 5));
	// libmosquitto's length arithmetic wraps: a block of length 1 holding a 5-byte property
	// (session expiry, 17) makes it read on, and reach the unknown id 0 behind it.
	auto w = check_from_broker(
	    bytes({0x20, 0x09, 0x00, 0x00, 0x01, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00}), 5);
	ASSERT_FALSE(w);
	EXPECT_NE(w.error().message.find("id 0x00 in CONNACK"), std::string::npos);
	// An unknown id beyond the end of the packet is never read.
	EXPECT_TRUE(check_from_broker(bytes({0x20, 0x04, 0x00, 0x00, 0x05, 0x11}), 5));
}

TEST(MqttInspect, FramesPacketsAndReadsTheConnectLevel)
{
	using mqtt::frame_length;
	EXPECT_EQ(frame_length("").value(), 0u);
	EXPECT_EQ(frame_length(bytes({0x20})).value(), 0u);
	EXPECT_EQ(frame_length(bytes({0x20, 0x02, 0x00})).value(), 0u);
	EXPECT_EQ(frame_length(bytes({0x20, 0x02, 0x00, 0x00, 0xd0})).value(), 4u);
	// Remaining length 200 (two bytes): 203 in all.
	std::string big = bytes({0x30, 0xc8, 0x01});
	big.resize(203, 'x');
	EXPECT_EQ(frame_length(big).value(), 203u);
	auto too_big = frame_length(bytes({0x30, 0xff, 0xff, 0x7f}));
	ASSERT_FALSE(too_big);
	EXPECT_EQ(too_big.error().code, -EMSGSIZE);
	EXPECT_NE(too_big.error().message.find("PUBLISH of 2097155 bytes"), std::string::npos)
	    << too_big.error().message;
	auto bad = frame_length(bytes({0x30, 0xff, 0xff, 0xff, 0xff, 0x01}));
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().code, -EPROTO);

	using mqtt::connect_protocol_level;
	const std::string v5 = bytes({0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02});
	EXPECT_EQ(connect_protocol_level(v5).value(), 5);
	EXPECT_EQ(connect_protocol_level(v5.substr(0, 8)).value(), 0);
	EXPECT_EQ(connect_protocol_level(bytes({0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04}))
		      .value(),
		  4);
	EXPECT_FALSE(connect_protocol_level(bytes({0x30, 0x00})));
}

TEST(Outbox, EncryptedExpiresAndSurvivesReopen)
{
	TempDir dir;
	auto keys = std::move(FileOutboxKeys::create(dir / "k")).value();
	const auto now = std::chrono::system_clock::now();
	{
		auto ob = std::move(Outbox::open(dir / "o.db", *keys)).value();
		ASSERT_TRUE(ob->put("e1", "t", "{\"plate\":\"SECRET12\"}", now, 60s));
		ASSERT_TRUE(ob->put("e1", "t", "{\"plate\":\"SECRET12\"}", now, 60s)); // idempotent
		ASSERT_TRUE(ob->put("e2", "t", "{\"plate\":\"SHORT99\"}", now, 1s));
		EXPECT_FALSE(ob->put("e3", "t", "x", now, 0s)); // policy keeps no outbox
		EXPECT_EQ(ob->depth(), 2u);
	}
	for (const auto &f : std::filesystem::directory_iterator(dir.path())) {
		const auto bytes = read_file(f.path());
		EXPECT_EQ(bytes.find("SECRET12"), std::string::npos) << f.path();
		EXPECT_EQ(bytes.find("SHORT99"), std::string::npos) << f.path();
	}
	auto ob = std::move(Outbox::open(dir / "o.db", *keys)).value();
	auto items = ob->peek(10, now + 2s);
	ASSERT_TRUE(items);
	ASSERT_EQ(items->size(), 1u);
	EXPECT_EQ(std::string(items->at(0).payload.begin(), items->at(0).payload.end()),
		  "{\"plate\":\"SECRET12\"}");
	auto purged = ob->purge_expired(now + 2s);
	ASSERT_TRUE(purged);
	EXPECT_EQ(*purged, 1u);
	ASSERT_TRUE(ob->remove("e1", "t"));
	EXPECT_EQ(ob->depth(), 0u);

	// Another key cannot read entries: they are dropped, not returned.
	ASSERT_TRUE(ob->put("e4", "t", "x", now, 60s));
	auto other = std::move(FileOutboxKeys::create(dir / "k2")).value();
	auto ob2 = std::move(Outbox::open(dir / "o.db", *other)).value();
	auto none = ob2->peek(10, now);
	ASSERT_TRUE(none);
	EXPECT_TRUE(none->empty());
}

TEST(Event, JsonRoundTripAndValidation)
{
	auto e = hit("ABC1234");
	e.device_id = "dev1";
	e.policy_id = "p";
	e.policy_version = 3;
	const std::string j = to_json(e);
	auto back = event_from_json(j);
	ASSERT_TRUE(back) << back.error().message;
	EXPECT_EQ(back->event_id, e.event_id);
	EXPECT_EQ(format_utc_ms(back->time), format_utc_ms(e.time));
	EXPECT_TRUE(back->location_text.empty());
	EXPECT_EQ(j.find("location_text"), std::string::npos); // omitted when there is none
	// A free-text location is published as written, and read back.
	e.location_text = "North gate, lane 2";
	auto with_text = event_from_json(to_json(e));
	ASSERT_TRUE(with_text) << with_text.error().message;
	EXPECT_EQ(with_text->location_text, "North gate, lane 2");
	auto bad = nlohmann::json::parse(j);
	bad["location_text"] = "";
	EXPECT_FALSE(event_from_json(bad.dump()));
	bad = nlohmann::json::parse(j);
	bad["verification_required"] = false;
	EXPECT_FALSE(event_from_json(bad.dump()));
	bad = nlohmann::json::parse(j);
	bad["event_id"] = "not-a-uuid";
	EXPECT_FALSE(event_from_json(bad.dump()));
	bad = nlohmann::json::parse(j);
	bad["confidence"] = 1.5;
	EXPECT_FALSE(event_from_json(bad.dump()));
	std::set<std::string> ids;
	for (int i = 0; i < 1000; ++i)
		ids.insert(new_event_id());
	EXPECT_EQ(ids.size(), 1000u);
}

TEST(Event, ValidatesAgainstThePublishedJsonSchema)
{
	if (auto why = lethe::test::missing_tool("python3 -c 'import jsonschema'", "python3-jsonschema");
	    !why.empty())
		LETHE_SKIP_OR_FAIL(why);
	TempDir dir;
	auto e = hit("ABC1234");
	e.device_id = "dev1";
	e.policy_id = "p";
	e.policy_version = 3;
	write_file(dir / "with-location.json", to_json(e));
	e.location.reset();
	e.location_text = "North gate, lane 2";
	write_file(dir / "with-location-text.json", to_json(e));
	e.location_text.clear();
	e.region.clear();
	write_file(dir / "minimal.json", to_json(e));
	auto bad = nlohmann::json::parse(to_json(e));
	bad["retain"] = true;
	write_file(dir / "bad.json", bad.dump());
	const std::string schema = std::string(LETHE_SOURCE_DIR) + "/docs/mqtt-event.schema.json";
	auto check = [&](const std::string &file) {
		return run_command("python3 -c 'import json,sys,jsonschema; "
				   "jsonschema.validate(json.load(open(sys.argv[2])), "
				   "json.load(open(sys.argv[1])))' '" +
					   schema + "' '" + (dir / file).string() + "'",
				   true);
	};
	auto r = check("with-location.json");
	EXPECT_EQ(r.status, 0) << r.output;
	r = check("with-location-text.json");
	EXPECT_EQ(r.status, 0) << r.output;
	r = check("minimal.json");
	EXPECT_EQ(r.status, 0) << r.output;
	EXPECT_NE(check("bad.json").status, 0); // additionalProperties: false
}

} // namespace
} // namespace lethe::test
