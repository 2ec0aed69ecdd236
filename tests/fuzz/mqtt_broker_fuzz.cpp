// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: what the device accepts from its MQTT broker — CONNACK, PUBACK, PUBLISH,
// PINGRESP, DISCONNECT, AUTH with any properties — through libmosquitto into the Publisher.
//
// The device subscribes to nothing: the broker's packets are the only MQTT input. One real
// Publisher (outbox on tmpfs, a policy allowing its hit and status topics) connects to a
// fake broker in this process. Each input is one connection: the fake broker reads the
// device's CONNECT, then writes the input in up to 8 chunks split at "\xFE\xFE\xFE\xFE",
// reading what the device sends between chunks (so that PUBACKs can answer real PUBLISHes),
// then closes. Input byte 0 picks the protocol the device must be speaking (bit 0: MQTT 5 or
// 3.1.1; the device falls back between them) so that an input means the same on every run.
// The device must reconnect for the next input: a device that stops connecting is a finding.
// Packets libmosquitto 2.0.11 would abort the process on (an unknown MQTT 5 property id,
// docs/fuzzing.md finding 4) are not skipped: the Publisher's broker relay must drop the
// connection before libmosquitto sees them. The relay's framing and checks are Lethe code,
// so the fuzzer now gets coverage feedback from them.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_io.h"
#include "lethe/common/log.h"
#include "lethe/publish/event.h"
#include "lethe/publish/outbox.h"
#include "lethe/publish/publisher.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::string_view kSplit = "\xFE\xFE\xFE\xFE";
const std::string kHitTopic = "lethe/fuzz/hits";
const std::string kStatusTopic = "lethe/fuzz/status";

struct Device {
	fs::path dir;
	int listener = -1;
	std::unique_ptr<lethe::publish::FileOutboxKeys> keys;
	std::unique_ptr<lethe::publish::Outbox> outbox;
	std::unique_ptr<lethe::publish::Publisher> publisher;
	~Device()
	{
		publisher.reset();
		outbox.reset();
		if (listener >= 0)
			::close(listener);
		std::error_code ec;
		if (!dir.empty())
			fs::remove_all(dir, ec);
	}
};

Device *g_device = nullptr;
/// The inputs before the current one (a device that stops reconnecting was broken by one).
std::deque<std::string> g_recent;

Device &device()
{
	static const bool started = [] {
		g_device = new Device;
		Device &d = *g_device;
		(void)lethe::log::set_levels("*:Fatal");
		const fs::path base =
		    fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
		d.dir = base / ("lethe-mqtt-fuzz-" + std::to_string(::getpid()));
		fs::create_directories(d.dir);
		d.listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof(a);
		if (d.listener < 0 ||
		    ::bind(d.listener, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0 ||
		    ::listen(d.listener, 4) != 0 ||
		    ::getsockname(d.listener, reinterpret_cast<sockaddr *>(&a), &len) != 0)
			__builtin_trap();
		auto keys = lethe::publish::FileOutboxKeys::create(d.dir / "outbox.key");
		if (!keys)
			__builtin_trap();
		d.keys = std::move(keys).value();
		auto ob = lethe::publish::Outbox::open(d.dir / "outbox.db", *d.keys);
		if (!ob)
			__builtin_trap();
		d.outbox = std::move(ob).value();

		lethe::publish::PublisherConfig pc;
		pc.device_id = "fuzz-dev";
		pc.port = ntohs(a.sin_port);
		pc.hit_topic = kHitTopic;
		pc.status_topic = kStatusTopic;
		pc.backoff_min = 1ms;
		pc.backoff_max = 1ms;
		pc.max_inflight = 4;
		lethe::policy::Policy policy;
		policy.id = "fuzz";
		policy.version = 1;
		policy.retention.outbox = std::chrono::hours(1);
		policy.recipients.push_back(
		    {"fuzz", pc.broker(), {kHitTopic, kStatusTopic}, "fuzz", true});
		auto p = lethe::publish::Publisher::create(pc, *d.outbox, policy);
		if (!p)
			__builtin_trap();
		d.publisher = std::move(p).value();
		d.publisher->start();
		// Stop the publisher before OpenSSL's exit handler, registered during setup, runs.
		std::atexit([] { delete g_device; });
		return true;
	}();
	(void)started;
	return *g_device;
}

/// Wait up to timeout for bytes from fd; append them. False on EOF or error.
bool read_some(int fd, std::string &into, int timeout_ms)
{
	if (lethe::fuzz::wait_readable(fd, timeout_ms) <= 0)
		return true; // nothing yet
	char buf[16384];
	const ssize_t n = lethe::fuzz::recv_retry(fd, buf, sizeof(buf));
	if (n <= 0)
		return false;
	into.append(buf, static_cast<std::size_t>(n));
	return true;
}

/// Length of the first complete MQTT packet in s, or 0 if incomplete.
std::size_t packet_length(const std::string &s)
{
	std::size_t remaining = 0, i = 1;
	for (int shift = 0; shift < 28; shift += 7, ++i) {
		if (i >= s.size())
			return 0;
		const auto b = static_cast<std::uint8_t>(s[i]);
		remaining |= static_cast<std::size_t>(b & 0x7F) << shift;
		if (!(b & 0x80))
			return s.size() >= i + 1 + remaining ? i + 1 + remaining : 0;
	}
	return 0;
}

/// Accept the device's next connection and read its CONNECT; the protocol level it asks for.
int accept_connect(int listener, int &client)
{
	// The device gives up on a connection that gets no CONNACK after 10 s (publisher.cpp) and
	// then reconnects after its back-off (1 ms here): it must be back within 15 s.
	const int ready = lethe::fuzz::wait_readable(listener, 15000);
	if (ready <= 0) {
		const int err = errno;
		const auto st = g_device->publisher->stats();
		std::fprintf(stderr,
		             "device stopped reconnecting (%s): connected %d protocol %d "
		             "sent %llu acked %llu connects %llu failures %llu last_error '%s'\n",
		             ready == 0 ? "no connection within 15 s" : std::strerror(err),
		             st.connected, st.protocol, static_cast<unsigned long long>(st.sent),
		             static_cast<unsigned long long>(st.acked),
		             static_cast<unsigned long long>(st.connects),
		             static_cast<unsigned long long>(st.connect_failures),
		             st.last_error.c_str());
		for (const auto &r : g_recent) {
			std::fprintf(stderr, "earlier input:");
			for (const char c : r)
				std::fprintf(stderr, " %02x",
				             static_cast<unsigned>(static_cast<std::uint8_t>(c)));
			std::fprintf(stderr, "\n");
		}
		__builtin_trap(); // the device stopped reconnecting
	}
	do
		client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
	while (client < 0 && errno == EINTR);
	if (client < 0)
		__builtin_trap();
	std::string in;
	const auto deadline = std::chrono::steady_clock::now() + 10s;
	while (packet_length(in) == 0) {
		if (!read_some(client, in, 100) || std::chrono::steady_clock::now() > deadline)
			return 0;
	}
	// CONNECT: fixed header, remaining length, then "\0\4MQTT" and the level byte.
	const std::size_t at = in.find("MQTT");
	if (static_cast<std::uint8_t>(in[0]) != 0x10 || at == std::string::npos ||
	    at + 4 >= in.size())
		__builtin_trap(); // the device's first packet must be a CONNECT
	return static_cast<std::uint8_t>(in[at + 4]);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	auto &d = device();
	if (size == 0)
		return 0;
	g_recent.emplace_back(reinterpret_cast<const char *>(data), size);
	if (g_recent.size() > 4)
		g_recent.pop_front();
	const int want = (data[0] & 1) ? 5 : 4;
	const std::string_view input(reinterpret_cast<const char *>(data) + 1, size - 1);

	// Something to send: a hit waits in the outbox (PUBACKs in the input can remove it).
	if (d.outbox->depth() < 2) {
		lethe::publish::HitEvent e;
		e.camera_id = "cam0";
		e.time = std::chrono::system_clock::now();
		e.plate = "ABC123";
		e.confidence = 0.9;
		e.list_id = "fuzz-list";
		e.category = "stolen-vehicle";
		(void)d.publisher->publish(e);
	}

	int client = -1;
	// The device alternates between MQTT 5 and 3.1.1 after a connection that ends before
	// CONNACK: close until it speaks the wanted one (at most two tries).
	for (int tries = 0;; ++tries) {
		const int level = accept_connect(d.listener, client);
		if (level == want)
			break;
		::close(client);
		if (tries >= 3)
			__builtin_trap(); // the fallback no longer alternates
	}

	std::string from_device;
	std::size_t pos = 0;
	for (int chunk = 0; chunk < 8 && pos <= input.size(); ++chunk) {
		std::size_t end = input.find(kSplit, pos);
		const bool last = end == std::string_view::npos || chunk == 7;
		if (last)
			end = input.size();
		const std::string_view part = input.substr(pos, end - pos);
		if (!part.empty() && !lethe::fuzz::send_all(client, part.data(), part.size()))
			break;
		pos = end + kSplit.size();
		if (last)
			break;
		// Let the device answer (CONNACK → status and hits) before the next chunk.
		if (!read_some(client, from_device, 5))
			break;
	}
	::shutdown(client, SHUT_WR);
	// Drain until the device closes the connection (it sees EOF and reconnects).
	const auto deadline = std::chrono::steady_clock::now() + 10s;
	for (;;) {
		if (!read_some(client, from_device, 100))
			break;
		if (std::chrono::steady_clock::now() > deadline)
			__builtin_trap(); // the device did not notice the broker went away
	}
	::close(client);

	const auto st = d.publisher->stats();
	if (st.acked > st.sent)
		__builtin_trap(); // a PUBACK removed a hit that was never sent
	return 0;
}
