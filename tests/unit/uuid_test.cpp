// SPDX-License-Identifier: GPL-3.0-or-later
// Tests of the UUID v4 helper: the format (version and variant bits) and uniqueness.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "lethe/common/uuid.h"

namespace lethe {
namespace {

TEST(Uuid, HasTheVersion4Format)
{
	auto id = new_uuid4();
	ASSERT_TRUE(id) << id.error().message;
	ASSERT_EQ(id->size(), 36u);
	for (const std::size_t dash : {8u, 13u, 18u, 23u})
		EXPECT_EQ((*id)[dash], '-') << *id;
	EXPECT_EQ((*id)[14], '4') << *id; // version 4
	// RFC 4122 variant: the top bits of the clock_seq byte are 10.
	EXPECT_NE(std::string("89ab").find((*id)[19]), std::string::npos) << *id;
	EXPECT_TRUE(is_uuid_v4(*id)) << *id;
	EXPECT_NE(*id, "00000000-0000-4000-8000-000000000000");
}

TEST(Uuid, ThousandAreDistinct)
{
	std::set<std::string> seen;
	for (int i = 0; i < 1000; ++i) {
		auto id = new_uuid4();
		ASSERT_TRUE(id) << id.error().message;
		ASSERT_TRUE(is_uuid_v4(*id)) << *id;
		EXPECT_TRUE(seen.insert(*id).second) << "repeated " << *id;
	}
}

TEST(Uuid, IsUuidV4RefusesOtherForms)
{
	EXPECT_TRUE(is_uuid_v4("0f8fad5b-d9cb-469f-a165-70867728950e"));
	EXPECT_FALSE(is_uuid_v4("0F8FAD5B-D9CB-469F-A165-70867728950E")); // upper case
	EXPECT_FALSE(is_uuid_v4("0f8fad5b-d9cb-169f-a165-70867728950e")); // version 1
	EXPECT_FALSE(is_uuid_v4("0f8fad5b-d9cb-469f-c165-70867728950e")); // variant bits
	EXPECT_FALSE(is_uuid_v4("0f8fad5bd9cb469fa16570867728950e"));     // no dashes
	EXPECT_FALSE(is_uuid_v4("0f8fad5b-d9cb-469f-a165-70867728950"));  // short
	EXPECT_FALSE(is_uuid_v4("0f8fad5b-d9cb-469f-a165-70867728950g")); // not hex
	EXPECT_FALSE(is_uuid_v4(""));
}

} // namespace
} // namespace lethe
