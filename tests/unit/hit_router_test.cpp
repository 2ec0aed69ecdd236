// SPDX-License-Identifier: GPL-3.0-or-later
// HitRouter in process: real hot list, real retention store, real outbox and mosquitto.
#include <gtest/gtest.h>

#include <mutex>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "lethe/common/crypto.h"
#include "lethe/publish/outbox.h"
#include "lethe/retention/lookup.h"
#include "lethe/route/hit_router.h"
#include "support/mosquitto_fixture.h"
#include "support/temp_dir.h"

namespace lethe::test {
namespace {

using namespace std::chrono_literals;

const std::string kTopic = "lethe/hits/agency";

/// A router wired as lethed wires it: one broker, its outbox, the retention store.
struct Rig {
	TempDir dir;
	MosquittoBroker broker;
	policy::Policy policy;
	std::unique_ptr<retention::Retention> retention;
	std::unique_ptr<publish::FileOutboxKeys> keys;
	std::unique_ptr<publish::Outbox> outbox;
	std::unique_ptr<publish::Publisher> publisher;
	std::unique_ptr<route::HitRouter> router;
	std::mutex mutex;
	std::vector<audit::AuditEntry> recorded;

	Rig()
	{
		policy = policy::strictest();
		policy.id = "router-test";
		policy.version = 2;
		policy.hash = std::string(64, 'b');
		policy.retention.nonhit_digest = 3600s;
		policy.retention.hit_record = 3600s;
		policy.retention.hit_image = 3600s;
		policy.retention.outbox = 3600s;
		policy.retention.key_rotation = 600s;
		policy.retro_hit_queries = true;
		policy.hotlist.categories = {"stolen"};
		EXPECT_TRUE(broker.start()) << broker.log_text();
		policy::Recipient r;
		r.name = "agency";
		r.broker = broker.address();
		r.topics = {kTopic};
		r.purpose = "tests";
		policy.recipients.push_back(r);

		retention::Config rc;
		rc.state_dir = dir.path() / "state";
		rc.digest.log2_n = 8; // cheap for tests; the construction is the same
		retention = std::move(retention::Retention::create(rc, policy)).value();
		keys =
		    std::move(publish::FileOutboxKeys::create(dir.path() / "outbox.key")).value();
		outbox = std::move(publish::Outbox::open(dir.path() / "outbox.db", *keys)).value();
		publish::PublisherConfig pc;
		pc.device_id = "dev1";
		pc.host = broker.host();
		pc.port = broker.port();
		pc.hit_topic = kTopic;
		publisher = std::move(publish::Publisher::create(pc, *outbox, policy)).value();
		router = std::make_unique<route::HitRouter>(
		    *retention,
		    std::vector<route::Recipient>{
		        {"main", broker.address(), kTopic, publisher.get()}},
		    [this](audit::AuditEntry e) {
			    std::lock_guard lock(mutex);
			    recorded.push_back(std::move(e));
		    });
	}

	/// The context lethed would route under, with one list holding `plate`, made
	/// `list_age` ago.
	route::RouteContext context(const std::string &plate, std::chrono::seconds list_age = 0s)
	{
		hotlist::Entry e;
		e.plate = plate;
		e.list_id = "ncic-stolen";
		e.category = "stolen";
		e.entered = std::chrono::system_clock::now() - 48h;
		hotlist::ListInfo info{"ncic-stolen", 1,
		                       std::chrono::system_clock::now() - list_age};
		auto key = crypto::random_bytes(32);
		auto m = hotlist::Matcher::compile(info, {e}, *key);
		EXPECT_TRUE(m) << m.error().message;
		auto matchers = std::make_shared<route::Matchers>();
		matchers->push_back(std::move(m).value());
		route::RouteContext c;
		c.policy = policy;
		c.matchers = matchers;
		c.device_id = "dev1";
		c.location = "37.77,-122.42";
		return c;
	}

	static track::ReadEvent read(const std::string &text)
	{
		track::ReadEvent ev;
		ev.camera_id = "cam0";
		ev.text = text;
		ev.confidence = 0.9;
		ev.region = "us";
		ev.sightings = 3;
		ev.first_seen = ev.last_seen = std::chrono::system_clock::now();
		ev.crop = cv::Mat(24, 96, CV_8UC3, cv::Scalar(200, 200, 200));
		return ev;
	}

	std::vector<audit::AuditEntry> entries()
	{
		std::lock_guard lock(mutex);
		return recorded;
	}
};

TEST(HitRouter, HitReachesTheBrokerOnceWithOneAuditEntryAndIsKept)
{
	Rig rig;
	MqttSubscriber sub(rig.broker, "lethe/#");
	ASSERT_TRUE(sub.connected());
	rig.publisher->start();
	const auto since = std::chrono::system_clock::now() - 1min;
	rig.router->route(Rig::read("7XYZ89"), rig.context("7XYZ89"));

	const route::RouterStats s = rig.router->stats();
	EXPECT_EQ(s.hits, 1u);
	EXPECT_EQ(s.nonhits, 0u);
	EXPECT_EQ(s.hits_unpublished, 0u);
	EXPECT_EQ(s.store_errors, 0u);
	ASSERT_TRUE(sub.wait_for(1, 10s));
	const auto event = nlohmann::json::parse(sub.messages().front().payload);
	EXPECT_EQ(event.at("plate"), "7XYZ89");
	EXPECT_EQ(event.at("device_id"), "dev1");
	EXPECT_EQ(event.at("policy").at("id"), "router-test");
	EXPECT_DOUBLE_EQ(event.at("location").at("lat").get<double>(), 37.77);
	const std::string id = event.at("event_id");

	const auto entries = rig.entries();
	ASSERT_EQ(entries.size(), 1u);
	EXPECT_EQ(entries[0].action, "publish");
	EXPECT_EQ(entries[0].outcome, audit::Outcome::Success);
	EXPECT_EQ(entries[0].event, id);
	EXPECT_EQ(entries[0].recipient,
	          "agency (mqtt " + rig.broker.address() + " " + kTopic + ")");
	EXPECT_EQ(entries[0].policy_hash, rig.policy.hash);

	auto kept = rig.retention->hits(since);
	ASSERT_TRUE(kept) << kept.error().message;
	ASSERT_EQ(kept->size(), 1u);
	EXPECT_EQ((*kept)[0].hit.event_id, id);
	EXPECT_EQ((*kept)[0].hit.plate, "7XYZ89");
	EXPECT_EQ((*kept)[0].hit.list_id, "ncic-stolen");
	EXPECT_TRUE((*kept)[0].has_image);
}

TEST(HitRouter, NonHitLeavesOnlyAKeyedDigest)
{
	Rig rig;
	const auto since = std::chrono::system_clock::now() - 1min;
	rig.router->route(Rig::read("ABC123"), rig.context("7XYZ89"));

	EXPECT_EQ(rig.router->stats().nonhits, 1u);
	EXPECT_EQ(rig.router->stats().hits, 0u);
	EXPECT_TRUE(rig.entries().empty()); // nothing was published, so nothing to record
	EXPECT_EQ(rig.publisher->stats().queued, 0u);
	auto kept = rig.retention->hits(since);
	ASSERT_TRUE(kept);
	EXPECT_TRUE(kept->empty());
	// The digest answers a retro-hit query for the same plate, and only for it.
	auto found = retention::find_plate(*rig.retention, "ABC123", since, rig.policy.hotlist);
	ASSERT_TRUE(found) << found.error().message;
	EXPECT_EQ(found->sightings.size(), 1u);
	auto other = retention::find_plate(*rig.retention, "ABC124", since, rig.policy.hotlist);
	ASSERT_TRUE(other);
	EXPECT_TRUE(other->sightings.empty());
}

TEST(HitRouter, StaleHitIsRefusedForEveryRecipientButKept)
{
	Rig rig;
	ASSERT_FALSE(rig.policy.hotlist.publish_stale);
	const auto since = std::chrono::system_clock::now() - 1min;
	rig.router->route(Rig::read("7XYZ89"),
	                  rig.context("7XYZ89", rig.policy.hotlist.max_age + 3600s));

	const route::RouterStats s = rig.router->stats();
	EXPECT_EQ(s.hits, 1u);
	EXPECT_EQ(s.hits_unpublished, 1u);
	EXPECT_EQ(rig.publisher->stats().queued, 0u);
	const auto entries = rig.entries();
	ASSERT_EQ(entries.size(), 1u);
	EXPECT_EQ(entries[0].outcome, audit::Outcome::Refused);
	EXPECT_NE(entries[0].reason.find("stale"), std::string::npos);
	auto kept = rig.retention->hits(since);
	ASSERT_TRUE(kept);
	EXPECT_EQ(kept->size(), 1u); // the device's own record of a hit, as the policy keeps it
}

TEST(HitRouter, LocationIsCoordinatesOrFreeText)
{
	auto c = route::parse_location("52.52, 13.40");
	ASSERT_TRUE(c);
	EXPECT_DOUBLE_EQ(c->latitude, 52.52);
	EXPECT_FALSE(route::parse_location("Main St & 5th"));
	EXPECT_FALSE(route::parse_location("91,0")); // out of range
	EXPECT_FALSE(route::parse_location("1,2 and more"));
}

} // namespace
} // namespace lethe::test
