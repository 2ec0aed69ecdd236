// SPDX-License-Identifier: GPL-3.0-or-later
// Tests of the UTC time formatters (seconds and milliseconds) and their round trip with parse_utc.
#include <gtest/gtest.h>

#include <chrono>

#include "lethe/common/utc_time.h"

namespace lethe {
namespace {

using namespace std::chrono;

TEST(UtcTime, FormatsWholeSecondsAndMilliseconds)
{
	auto t = parse_utc("2025-11-26T15:24:05Z");
	ASSERT_TRUE(t) << t.error().message;
	EXPECT_EQ(format_utc(*t), "2025-11-26T15:24:05Z");
	EXPECT_EQ(format_utc_ms(*t), "2025-11-26T15:24:05.000Z");
	EXPECT_EQ(format_utc_ms(*t + milliseconds(123) + microseconds(999)),
		  "2025-11-26T15:24:05.123Z");
	EXPECT_EQ(format_utc(*t + milliseconds(999)), "2025-11-26T15:24:05Z");
	EXPECT_EQ(format_utc_ms(UtcTime{}), "1970-01-01T00:00:00.000Z");
}

TEST(UtcTime, BeforeTheEpochTheFractionStaysPositive)
{
	EXPECT_EQ(format_utc_ms(UtcTime{} - milliseconds(1)), "1969-12-31T23:59:59.999Z");
	EXPECT_EQ(format_utc_ms(UtcTime{} - milliseconds(1500)), "1969-12-31T23:59:58.500Z");
	EXPECT_EQ(format_utc(UtcTime{} - milliseconds(1)), "1969-12-31T23:59:59Z");
}

TEST(UtcTime, OpenBoundsPrintAsInfinity)
{
	EXPECT_EQ(format_utc(UtcTime::min()), "-infinity");
	EXPECT_EQ(format_utc(UtcTime::max()), "infinity");
}

TEST(UtcTime, LeapDayRoundTrips)
{
	auto t = parse_utc("2028-02-29T23:59:59Z");
	ASSERT_TRUE(t) << t.error().message;
	EXPECT_EQ(format_utc(*t), "2028-02-29T23:59:59Z");
	EXPECT_EQ(format_utc_ms(*t + seconds(1)), "2028-03-01T00:00:00.000Z");
}

} // namespace
} // namespace lethe
