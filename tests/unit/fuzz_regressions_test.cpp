// SPDX-License-Identifier: GPL-3.0-or-later
// Inputs found by the libFuzzer targets (tests/fuzz): each must now be refused cleanly.
#include <gtest/gtest.h>

#include "lethe/hotlist/hotlist.h"

namespace lethe {
namespace {

TEST(FuzzRegressions, HotlistTimesBeyondClockRangeAreRefused)
{
	// 9135-01-01 overflowed system_clock::from_time_t (signed overflow, UBSan).
	EXPECT_FALSE(lethe::parse_utc("9135-01-01", lethe::UtcForm::DateOrDateTime).ok());
	EXPECT_FALSE(hotlist::parse_utc("9999-12-31T23:59:59Z").ok());
	EXPECT_FALSE(hotlist::parse_utc("2026-01-01T-1:00:00Z").ok());
	EXPECT_TRUE(lethe::parse_utc("2200-01-01", lethe::UtcForm::DateOrDateTime).ok());
}

} // namespace
} // namespace lethe
