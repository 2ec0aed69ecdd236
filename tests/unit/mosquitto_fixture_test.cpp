// SPDX-License-Identifier: GPL-3.0-or-later
// The test broker fixture itself: plain and TLS brokers start, deliver, restart on their port.
#include <gtest/gtest.h>

#include <mosquitto.h>

#include "support/mosquitto_fixture.h"

namespace lethe::test {
namespace {

using namespace std::chrono_literals;

/// Publish one QoS 1 message with a throwaway libmosquitto client; true once sent.
bool publish_once(const MosquittoBroker &b, const std::string &topic, const std::string &payload)
{
	mosquitto *m = mosquitto_new(nullptr, true, nullptr);
	if (b.tls_enabled())
		mosquitto_tls_set(m, b.tls().ca_cert.c_str(), nullptr, b.tls().client_cert.c_str(),
				  b.tls().client_key.c_str(), nullptr);
	bool ok = mosquitto_connect(m, b.host().c_str(), b.port(), 10) == MOSQ_ERR_SUCCESS;
	int mid = 0;
	ok = ok && mosquitto_publish(m, &mid, topic.c_str(), static_cast<int>(payload.size()),
				     payload.data(), 1, false) == MOSQ_ERR_SUCCESS;
	for (int i = 0; ok && i < 20; ++i)
		mosquitto_loop(m, 50, 1);
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	return ok;
}

TEST(MosquittoFixture, PlainBrokerDeliversAndRestartsOnSamePort)
{
	MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	const int port = broker.port();
	{
		MqttSubscriber sub(broker, "t/#");
		ASSERT_TRUE(sub.connected());
		ASSERT_TRUE(publish_once(broker, "t/1", "hello"));
		ASSERT_TRUE(sub.wait_for(1, 5s));
		EXPECT_EQ(sub.messages()[0].payload, "hello");
		EXPECT_EQ(sub.messages()[0].topic, "t/1");
	}
	broker.stop();
	EXPECT_FALSE(broker.running());
	ASSERT_TRUE(broker.start()) << broker.log_text();
	EXPECT_EQ(broker.port(), port);
	MqttSubscriber sub(broker, "t/#");
	EXPECT_TRUE(sub.connected());
}

TEST(MosquittoFixture, TlsBrokerWithClientCertificateDelivers)
{
	MosquittoBroker::Options o;
	o.tls = true;
	MosquittoBroker broker(o);
	ASSERT_FALSE(broker.tls().ca_cert.empty());
	ASSERT_TRUE(broker.start()) << broker.log_text();
	MqttSubscriber sub(broker, "t/#");
	ASSERT_TRUE(sub.connected()) << broker.log_text();
	ASSERT_TRUE(publish_once(broker, "t/tls", "secret"));
	ASSERT_TRUE(sub.wait_for(1, 5s));
	EXPECT_EQ(sub.messages()[0].payload, "secret");
}

} // namespace
} // namespace lethe::test
