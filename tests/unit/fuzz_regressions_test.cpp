// SPDX-License-Identifier: GPL-3.0-or-later
// Inputs found by the libFuzzer targets (tests/fuzz): each must now be refused cleanly.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lethe/config/config.h"
#include "lethe/hotlist/hotlist.h"
#include "lethe/publish/outbox.h"
#include "lethe/publish/publisher.h"
#include "lethe/store/database.h"
#include "support/lethed_fixture.h"
#include "support/mosquitto_fixture.h"
#include "support/temp_dir.h"

namespace lethe {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(FuzzRegressions, HotlistTimesBeyondClockRangeAreRefused)
{
	// 9135-01-01 overflowed system_clock::from_time_t (signed overflow, UBSan).
	EXPECT_FALSE(lethe::parse_utc("9135-01-01", lethe::UtcForm::DateOrDateTime).ok());
	EXPECT_FALSE(hotlist::parse_utc("9999-12-31T23:59:59Z").ok());
	EXPECT_FALSE(hotlist::parse_utc("2026-01-01T-1:00:00Z").ok());
	EXPECT_TRUE(lethe::parse_utc("2200-01-01", lethe::UtcForm::DateOrDateTime).ok());
}

TEST(FuzzRegressions, ConfigHugeNumbersAreRefusedWithoutOverflow)
{
	// config_fuzz: `port = 1.8e84` reached toml++'s value<long long>() on a float, an
	// out-of-range float-to-integer conversion (UBSan float-cast-overflow, clang). And a roi
	// of two huge integers overflowed `x + width` (signed overflow, caught here by GCC too).
	const std::string head = "[device]\nid = \"d\"\n";
	auto port = config::parse(head + "[[broker]]\nname = \"b\"\nport = 1.8e84\n", "f.toml");
	ASSERT_FALSE(port.ok());
	EXPECT_NE(port.error().message.find("f.toml:5: broker[0].port: must be an integer"),
	          std::string::npos)
	    << port.error().message;
	auto roi = config::parse(head + "[[camera]]\nid = \"c\"\nsource = \"replay\"\n"
	                                "uri = \"/r\"\nroi = [9223372036854775807, 0, "
	                                "9223372036854775807, 1]\n",
	                         "f.toml");
	ASSERT_FALSE(roi.ok());
	EXPECT_NE(roi.error().message.find("roi: must be [x, y, width, height]"), std::string::npos)
	    << roi.error().message;
}

TEST(FuzzRegressions, OutboxRowTimesBeyondClockRangeDoNotOverflow)
{
	// outbox_fuzz: a damaged row's created_ms/expires_ms (5099982185084405446) overflowed the
	// clock's nanoseconds in Outbox::peek (signed overflow, UBSan). They now saturate.
	test::TempDir dir;
	auto keys = publish::FileOutboxKeys::create(dir / "outbox.key");
	ASSERT_TRUE(keys.ok());
	auto outbox = publish::Outbox::open(dir / "outbox.db", **keys);
	ASSERT_TRUE(outbox.ok());
	const auto now = std::chrono::system_clock::now();
	ASSERT_TRUE((*outbox)->put("e1", "t", "payload", now, 1h).ok());
	{
		auto raw = store::Database::open(dir / "outbox.db");
		ASSERT_TRUE(raw.ok());
		auto st = (*raw)->prepare("UPDATE outbox SET created_ms = ?, expires_ms = ?");
		ASSERT_TRUE(st.ok());
		ASSERT_TRUE(st->bind(1, std::int64_t{5099982185084405446})
		                .bind(2, std::numeric_limits<std::int64_t>::max())
		                .run()
		                .ok());
	}
	auto items = (*outbox)->peek(4, now);
	ASSERT_TRUE(items.ok()) << items.error().message;
	ASSERT_EQ(items->size(), 1U);
	EXPECT_EQ(std::string(items->front().payload.begin(), items->front().payload.end()),
	          "payload");
	EXPECT_GT(items->front().expires, now);
	EXPECT_GT(items->front().created, now);
}

/// Send one request line to a unix socket, return the reply (empty if none).
std::string control_exchange(const fs::path &socket, const std::string &line)
{
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
	const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
		if (fd >= 0)
			::close(fd);
		return {};
	}
	(void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
	std::string reply;
	char buf[4096];
	for (;;) {
		pollfd p{fd, POLLIN, 0};
		if (::poll(&p, 1, 30000) <= 0)
			break;
		const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		reply.append(buf, static_cast<std::size_t>(n));
	}
	::close(fd);
	return reply;
}

TEST(FuzzRegressions, ControlSocketNonStringCameraIsRefusedAndDaemonStaysUp)
{
	// control_fuzz: {"command":"camera.snapshot","camera":1} from any local user made
	// json::value() throw inside lethed's control thread: std::terminate, daemon gone.
	test::TempDir dir;
	fs::create_directories(dir / "state");
	fs::create_directories(dir / "trust");
	const group *g = ::getgrgid(::getgid());
	ASSERT_NE(g, nullptr);
	const fs::path config = dir / "lethed.toml";
	test::write_file(config, "[device]\nid = \"fuzz-regression\"\nstate_dir = \"" +
	                             (dir / "state").string() + "\"\ntrust_dir = \"" +
	                             (dir / "trust").string() + "\"\nruntime_dir = \"" +
	                             (dir / "run").string() + "\"\nkey_mode = \"ram\"\n" +
	                             "[roles]\ntechnician = [\"" + g->gr_name + "\"]\n");
	const fs::path log = dir / "lethed.log";
	test::LethedProcess lethed(config, log, false);
	const fs::path socket = dir / "run" / "control.sock";
	auto status_ok = [&] {
		const auto r = nlohmann::json::parse(
		    control_exchange(socket, "{\"command\":\"status\"}\n"), nullptr, false);
		return r.is_object() && r.value("ok", false);
	};
	const auto deadline = std::chrono::steady_clock::now() + 60s;
	while (!status_ok() && std::chrono::steady_clock::now() < deadline)
		std::this_thread::sleep_for(100ms);
	ASSERT_TRUE(status_ok()) << test::read_file(log);

	for (const char *bad : {"{\"command\":\"camera.snapshot\",\"camera\":1}\n",
	                        "{\"command\":\"camera.snapshot\",\"camera\":null}\n",
	                        "{\"command\":\"camera.snapshot\",\"camera\":[\"cam0\"]}\n"}) {
		const auto reply =
		    nlohmann::json::parse(control_exchange(socket, bad), nullptr, false);
		ASSERT_TRUE(reply.is_object()) << bad << test::read_file(log);
		EXPECT_FALSE(reply.value("ok", true)) << bad;
		EXPECT_TRUE(status_ok()) << "daemon gone after " << bad << test::read_file(log);
	}

	// A clean exit within 30 s (killed when destroyed otherwise).
	lethed.signal(SIGTERM);
	EXPECT_EQ(lethed.wait(30s), 0) << test::read_file(log);
}

/// A fake MQTT broker on 127.0.0.1:port, plain TCP, one connection at a time: it reads the
/// device's CONNECT and hands the connection and the protocol level asked for to `serve`.
class FakeBroker
{
public:
	using Serve = std::function<void(int fd, int level)>;
	FakeBroker(int port, Serve serve) : serve_(std::move(serve))
	{
		fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		const int one = 1;
		::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons(static_cast<std::uint16_t>(port));
		listening_ = ::bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0 &&
		             ::listen(fd_, 4) == 0;
		if (listening_)
			thread_ = std::thread([this] { run(); });
	}
	~FakeBroker()
	{
		stop_ = true;
		if (thread_.joinable())
			thread_.join();
		::close(fd_);
	}
	[[nodiscard]] bool listening() const { return listening_; }
	[[nodiscard]] int connections(int level) const { return level == 5 ? v5_ : v4_; }

	/// The next whole packet from fd (empty on EOF, error, or after timeout).
	static std::string read_packet(int fd, std::chrono::milliseconds timeout)
	{
		const auto deadline = std::chrono::steady_clock::now() + timeout;
		std::string p;
		auto need = [&](std::size_t n) {
			while (p.size() < n) {
				pollfd q{fd, POLLIN, 0};
				if (std::chrono::steady_clock::now() > deadline || ::poll(&q, 1, 100) < 0)
					return false;
				if (!(q.revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				char c = 0;
				if (::recv(fd, &c, 1, 0) != 1)
					return false;
				p.push_back(c);
			}
			return true;
		};
		std::size_t remaining = 0;
		if (!need(2))
			return {};
		for (std::size_t i = 1, shift = 0;; ++i, shift += 7) {
			const auto b = static_cast<std::uint8_t>(p[i]);
			remaining |= static_cast<std::size_t>(b & 0x7f) << shift;
			if (!(b & 0x80))
				break;
			if (i == 4 || !need(i + 2))
				return {};
		}
		return need(p.size() + remaining) ? p : std::string{};
	}
	static void send_bytes(int fd, std::initializer_list<int> bytes)
	{
		std::string s;
		for (const int b : bytes)
			s.push_back(static_cast<char>(b));
		(void)!::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
	}
	/// Wait until the device closes the connection; false if it has not within timeout.
	static bool closed_by_device(int fd, std::chrono::milliseconds timeout)
	{
		const auto deadline = std::chrono::steady_clock::now() + timeout;
		char buf[4096];
		while (std::chrono::steady_clock::now() < deadline) {
			pollfd q{fd, POLLIN, 0};
			if (::poll(&q, 1, 100) > 0 && ::recv(fd, buf, sizeof(buf), 0) <= 0)
				return true;
		}
		return false;
	}

private:
	void run()
	{
		while (!stop_) {
			pollfd q{fd_, POLLIN, 0};
			if (::poll(&q, 1, 100) <= 0)
				continue;
			const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			const std::string connect = read_packet(c, 30s);
			// CONNECT: fixed header, remaining length, "\0\4MQTT", protocol level.
			const auto at = connect.find("MQTT");
			if (!connect.empty() && connect[0] == 0x10 && at != std::string::npos &&
			    at + 4 < connect.size()) {
				const int level = static_cast<std::uint8_t>(connect[at + 4]);
				++(level == 5 ? v5_ : v4_);
				serve_(c, level);
			}
			::close(c);
		}
	}

	Serve serve_;
	int fd_ = -1;
	bool listening_ = false;
	std::atomic<bool> stop_{false};
	std::atomic<int> v5_{0}, v4_{0};
	std::thread thread_;
};

/// Finding 4 (mqtt_broker_fuzz): libmosquitto 2.0.11 aborts the process on a broker packet
/// with an MQTT 5 property id it does not know. The broker is faked by `serve` on the port a
/// real mosquitto later takes over. The device (a real Publisher, in this process) must
/// survive each bad packet, count the failure with a clear error, reconnect, keep the hit in
/// its outbox, and deliver it once the real broker is back.
void survives_bad_broker(const std::function<void(int fd)> &serve, const std::string &where)
{
	const std::string topic = "lethe/hits/finding4";
	test::MosquittoBroker::Options o;
	o.persistence = true;
	test::MosquittoBroker broker(o);
	ASSERT_TRUE(broker.start()) << broker.log_text();
	{
		// A persistent consumer session: it gets the hit whenever it is delivered.
		test::MqttSubscriber reg(broker, topic, "consumer-finding4");
		ASSERT_TRUE(reg.connected());
	}
	broker.stop();

	test::TempDir dir;
	auto keys = std::move(publish::FileOutboxKeys::create(dir / "outbox.key")).value();
	auto outbox = std::move(publish::Outbox::open(dir / "outbox.db", *keys)).value();
	publish::PublisherConfig pc;
	pc.device_id = "finding4";
	pc.host = broker.host();
	pc.port = broker.port();
	pc.hit_topic = topic;
	pc.backoff_min = 200ms;
	pc.backoff_max = 400ms;
	policy::Policy policy;
	policy.id = "finding4";
	policy.version = 1;
	policy.retention.outbox = 1h;
	policy.recipients.push_back({"agency", pc.broker(), {topic}, "tests", true});
	auto pub = std::move(publish::Publisher::create(pc, *outbox, policy)).value();
	publish::HitEvent e;
	e.event_id = publish::new_event_id();
	e.camera_id = "cam0";
	e.time = std::chrono::system_clock::now();
	e.plate = "FND4444";
	e.confidence = 0.9;
	e.list_id = "list";
	e.category = "stolen";
	ASSERT_TRUE(pub->publish(e));

	std::atomic<int> bad{0};
	{
		FakeBroker fake(broker.port(), [&](int fd, int level) {
			if (level != 5)
				return; // 3.1.1 (the fallback after a failed CONNACK): go away
			serve(fd);
			// The device must drop the connection itself, at once.
			if (FakeBroker::closed_by_device(fd, 30s))
				++bad;
		});
		ASSERT_TRUE(fake.listening());
		pub->start();
		// Twice: the device survived the first bad packet and came back for another.
		const auto deadline = std::chrono::steady_clock::now() + 60s;
		bool seen = false;
		while (std::chrono::steady_clock::now() < deadline && (bad < 2 || !seen)) {
			seen = seen || pub->stats().last_error.find(where) != std::string::npos;
			std::this_thread::sleep_for(5ms);
		}
		EXPECT_GE(bad.load(), 2) << pub->stats().last_error;
		EXPECT_TRUE(seen) << "last_error: " << pub->stats().last_error;
	}
	// The fake broker has gone; the device notices its last connection drop (no timing window:
	// under qemu-user the publisher thread may lag the fake broker's view).
	for (const auto until = std::chrono::steady_clock::now() + 30s;
	     pub->stats().connected && std::chrono::steady_clock::now() < until;)
		std::this_thread::sleep_for(10ms);
	const auto st = pub->stats();
	EXPECT_FALSE(st.connected);
	EXPECT_GE(st.connect_failures, 2u);
	EXPECT_EQ(st.acked, 0u);
	EXPECT_EQ(st.outbox_depth, 1u) << "the hit must wait in the outbox";

	// The real broker takes the port back: the hit is delivered, once.
	ASSERT_TRUE(broker.start()) << broker.log_text();
	test::MqttSubscriber sub(broker, topic, "consumer-finding4");
	ASSERT_TRUE(sub.connected());
	EXPECT_TRUE(pub->wait_until_empty(60s)) << pub->stats().last_error;
	ASSERT_TRUE(sub.wait_for(1, 30s));
	EXPECT_NE(sub.messages()[0].payload.find(e.event_id), std::string::npos);
	EXPECT_EQ(pub->stats().acked, 1u);
	pub->stop();
}

TEST(FuzzRegressions, BrokerUnknownPropertyInConnackDropsTheConnectionNotTheDevice)
{
	// The six bytes of finding 4: CONNACK, success, a property block holding id 0.
	survives_bad_broker(
	    [](int fd) { FakeBroker::send_bytes(fd, {0x20, 0x05, 0x00, 0x00, 0x02, 0x00, 0x02}); },
	    "broker sent an MQTT 5 property libmosquitto cannot parse (id 0x00 in "
	    "CONNACK): connection dropped");
}

TEST(FuzzRegressions, BrokerUnknownPropertyInPubackDropsTheConnectionNotTheDevice)
{
	// A good CONNACK; then the device's hit is answered by a PUBACK for its packet id whose
	// property block holds id 0.
	survives_bad_broker(
	    [](int fd) {
		    FakeBroker::send_bytes(fd, {0x20, 0x03, 0x00, 0x00, 0x00});
		    for (;;) {
			    const std::string p = FakeBroker::read_packet(fd, 30s);
			    if (p.empty())
				    return;
			    if ((static_cast<std::uint8_t>(p[0]) & 0xf0) != 0x30 ||
				p.find("lethe/hits/finding4") == std::string::npos)
				    continue; // not the hit (e.g. a PINGREQ)
			    // PUBLISH QoS 1: fixed header, remaining length, topic, packet id.
			    std::size_t at = 1;
			    while (static_cast<std::uint8_t>(p[at]) & 0x80)
				    ++at;
			    ++at;
			    const std::size_t tlen = (static_cast<std::uint8_t>(p[at]) << 8) |
			                             static_cast<std::uint8_t>(p[at + 1]);
			    const std::size_t mid = at + 2 + tlen;
			    FakeBroker::send_bytes(fd, {0x40, 0x05, static_cast<std::uint8_t>(p[mid]),
			                                static_cast<std::uint8_t>(p[mid + 1]), 0x00, 0x01,
			                                0x00});
			    return;
		    }
	    },
	    "(id 0x00 in PUBACK): connection dropped");
}

TEST(FuzzRegressions, BrokerUnknownPropertyInDisconnectDropsTheConnectionNotTheDevice)
{
	// A good CONNACK, then a DISCONNECT (reason 0) whose property block holds id 0.
	survives_bad_broker(
	    [](int fd) {
		    FakeBroker::send_bytes(fd, {0x20, 0x03, 0x00, 0x00, 0x00});
		    FakeBroker::send_bytes(fd, {0xe0, 0x03, 0x00, 0x01, 0x00});
	    },
	    "(id 0x00 in DISCONNECT): connection dropped");
}

} // namespace
} // namespace lethe
