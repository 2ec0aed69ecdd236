// SPDX-License-Identifier: GPL-3.0-or-later
// Per-category log levels and the level-spec parser.
#include <gtest/gtest.h>

#include "lethe/common/log.h"

namespace lethe::log {
namespace {

TEST(Log, LevelSpecSetsCategories)
{
	ASSERT_TRUE(set_levels("*:Warning,Hotlist:Debug"));
	EXPECT_EQ(level(Category::Hotlist), Severity::Debug);
	EXPECT_EQ(level(Category::Store), Severity::Warning);
	EXPECT_FALSE(set_levels("Nope:Debug"));
	EXPECT_FALSE(set_levels("Store:Loud"));
	EXPECT_EQ(level(Category::Store), Severity::Warning); // unchanged by a bad spec
	ASSERT_TRUE(set_levels("*:Info"));
}

TEST(Log, SuppressedMessagesAreNotEvaluated)
{
	ASSERT_TRUE(set_levels("Store:Error"));
	int evaluated = 0;
	auto count = [&] { return ++evaluated; };
	LOG(Store, Debug) << count();
	EXPECT_EQ(evaluated, 0);
	LOG(Store, Error) << count();
	EXPECT_EQ(evaluated, 1);
	ASSERT_TRUE(set_levels("*:Info"));
}

} // namespace
} // namespace lethe::log
