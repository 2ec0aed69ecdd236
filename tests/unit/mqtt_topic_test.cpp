// SPDX-License-Identifier: GPL-3.0-or-later
// Tests of is_publish_topic(), the one rule for configured and policy MQTT topics.
#include <gtest/gtest.h>

#include <string>

#include "lethe/common/mqtt_topic.h"

namespace lethe {
namespace {

TEST(PublishTopic, AcceptsConcreteTopics)
{
	EXPECT_TRUE(is_publish_topic("lethe/hits"));
	EXPECT_TRUE(is_publish_topic("agency/hits/urgent"));
	EXPECT_TRUE(is_publish_topic("x"));
	EXPECT_TRUE(is_publish_topic("/leading/slash"));
	EXPECT_TRUE(is_publish_topic("caf\xc3\xa9/hits")); // UTF-8
	EXPECT_TRUE(is_publish_topic(std::string(kMaxPublishTopicBytes, 'a')));
}

TEST(PublishTopic, RefusesWhatIsNoPublishTopic)
{
	EXPECT_FALSE(is_publish_topic(""));
	EXPECT_FALSE(is_publish_topic(std::string(kMaxPublishTopicBytes + 1, 'a')));
	EXPECT_FALSE(is_publish_topic("lethe/#"));
	EXPECT_FALSE(is_publish_topic("a/+/b"));
	EXPECT_FALSE(is_publish_topic("$SYS/broker"));
	EXPECT_FALSE(is_publish_topic(std::string("a\0b", 3)));
	EXPECT_FALSE(is_publish_topic("a\nb"));
	EXPECT_FALSE(is_publish_topic("a\x7f"));
}

} // namespace
} // namespace lethe
