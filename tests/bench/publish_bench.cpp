// SPDX-License-Identifier: GPL-3.0-or-later
// Publish path figures on loopback: hit → broker → subscriber latency, outbox throughput.
//
// Usage: publish_bench [LATENCY_HITS] [THROUGHPUT_HITS]   (defaults 500 and 2000)
// Starts a real mosquitto (tests/support fixture) and a subscriber on 127.0.0.1.
//  * latency: one hit at a time: Publisher::publish() (JSON, AES-GCM seal, SQLite insert with
//    fsync) → MQTT 5 QoS 1 → broker → subscriber callback; p50/p99/max.
//  * throughput: THROUGHPUT_HITS published back to back, time until every one is PUBACKed and
//    deleted from the outbox; and Outbox::put alone (the durable-store cost).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

#include "lethe/publish/publisher.h"
#include "support/mosquitto_fixture.h"
#include "support/temp_dir.h"

using namespace lethe;
using namespace lethe::publish;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

int main(int argc, char **argv)
{
	const std::size_t n_lat = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 500;
	const std::size_t n_tp = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2000;
	test::MosquittoBroker broker;
	if (!broker.start()) {
		std::fprintf(stderr, "mosquitto did not start:\n%s\n", broker.log_text().c_str());
		return 1;
	}
	test::MqttSubscriber sub(broker, "bench/hits");
	test::TempDir dir;
	auto keys = std::move(FileOutboxKeys::create(dir / "k")).value();
	auto outbox = std::move(Outbox::open(dir / "outbox.db", *keys)).value();
	policy::Policy pol;
	pol.id = "bench";
	pol.version = 1;
	pol.retention.outbox = 3600s;
	pol.recipients.push_back({"bench", broker.address(), {"bench/hits"}, "bench", true});
	PublisherConfig cfg;
	cfg.device_id = "bench";
	cfg.host = broker.host();
	cfg.port = broker.port();
	cfg.hit_topic = "bench/hits";
	auto pub = std::move(Publisher::create(cfg, *outbox, pol)).value();
	pub->start();
	if (!pub->wait_connected(5s)) {
		std::fprintf(stderr, "not connected: %s\n", pub->stats().last_error.c_str());
		return 1;
	}
	HitEvent e;
	e.camera_id = "cam0";
	e.plate = "ABC1234";
	e.confidence = 0.9;
	e.list_id = "bench";
	e.category = "stolen";
	e.crop_jpeg.assign(6000, 0x55); // a typical plate crop: ~6 kB of JPEG

	std::vector<double> lat_ms;
	for (std::size_t i = 0; i < n_lat; ++i) {
		e.event_id = new_event_id();
		e.time = std::chrono::system_clock::now();
		const auto t0 = Clock::now();
		if (!pub->publish(e))
			return 1;
		if (!sub.wait_for(i + 1, 10s)) {
			std::fprintf(stderr, "hit %zu not delivered\n", i);
			return 1;
		}
		lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
	}
	std::sort(lat_ms.begin(), lat_ms.end());
	auto pct = [&](double p) {
		return lat_ms[std::min(lat_ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(lat_ms.size())))];
	};
	std::printf("latency publish()->subscriber, %zu hits, 6 kB crop, QoS 1, loopback: "
		    "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		    lat_ms.size(), pct(0.50), pct(0.99), lat_ms.back());

	const auto t0 = Clock::now();
	for (std::size_t i = 0; i < n_tp; ++i) {
		e.event_id = new_event_id();
		if (!pub->publish(e))
			return 1;
	}
	const auto t1 = Clock::now();
	if (!pub->wait_until_empty(120s)) {
		std::fprintf(stderr, "outbox did not drain\n");
		return 1;
	}
	const auto t2 = Clock::now();
	const double s_put = std::chrono::duration<double>(t1 - t0).count();
	const double s_all = std::chrono::duration<double>(t2 - t0).count();
	std::printf("throughput: %zu hits stored in %.2f s (%.0f hits/s durable outbox puts), all "
		    "PUBACKed and deleted after %.2f s (%.0f hits/s end to end)\n",
		    n_tp, s_put, static_cast<double>(n_tp) / s_put, s_all,
		    static_cast<double>(n_tp) / s_all);
	pub->stop();
	return 0;
}
