// SPDX-License-Identifier: GPL-3.0-or-later
// Purge timing proofs: on time, not extended by a wall clock set back, purged at start-up.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "lethe/retention/purge_worker.h"
#include "lethe/retention/retention.h"
#include "support/policies.h"
#include "support/temp_dir.h"
#include "support/time_scale.h"

using namespace lethe;
using namespace lethe::retention;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const test::PolicyOptions kPolicy = {.id = "purge-test", .version = 1, .retro_hit_queries = true};

Config make_config(const test::TempDir &dir, const Clock &clock)
{
	Config c;
	c.state_dir = dir.path() / "state";
	c.clock = &clock;
	c.digest.log2_n = 8;
	return c;
}

/// Rows and the latest deadline, read through a separate connection (as a forensic reader
/// would), so nothing the Retention object caches can hide a row.
struct Snapshot {
	std::int64_t rows = 0;
	std::int64_t max_deadline_ms = 0;
};

Snapshot snapshot(const test::TempDir &dir)
{
	Snapshot s;
	auto db = store::Database::open(dir.path() / "state" / std::string(kDatabaseName));
	EXPECT_TRUE(db.ok());
	auto st = (*db)->prepare(
		"SELECT (SELECT count(*) FROM nonhit_digest) + (SELECT count(*) FROM hit_record) + "
		"(SELECT count(*) FROM hit_image), max(coalesce((SELECT max(deadline_ms) FROM "
		"nonhit_digest), 0), coalesce((SELECT max(deadline_ms) FROM hit_record), 0))");
	EXPECT_TRUE(st.ok());
	auto row = st->step();
	EXPECT_TRUE(row.ok() && *row);
	s.rows = st->column_int64(0);
	s.max_deadline_ms = st->column_int64(1);
	return s;
}

void record_some(Retention &r, int n)
{
	for (int i = 0; i < n; ++i) {
		NonHit read{"PRG" + std::to_string(1000 + i), "cam", {}, {}};
		ASSERT_TRUE(r.record_nonhit(read).ok());
	}
	Hit hit;
	hit.plate = "HIT4242";
	hit.camera = "cam";
	hit.image = {1, 2, 3};
	ASSERT_TRUE(r.record_hit(hit).ok());
}

std::int64_t wall_ms()
{
	return std::chrono::duration_cast<milliseconds>(
		       std::chrono::system_clock::now().time_since_epoch())
		.count();
}

} // namespace

TEST(RetentionPurge, GoneWithinOneSecondOfDeadline)
{
	test::TempDir dir;
	const auto &clock = SystemClock::instance();
	auto r = Retention::create(make_config(dir, clock),
				   test::make_policy(seconds{2}, seconds{3}, kPolicy));
	ASSERT_TRUE(r.ok()) << r.error().message;
	auto worker = PurgeWorker::start(**r);
	record_some(**r, 5);
	const Snapshot before = snapshot(dir);
	ASSERT_EQ(before.rows, 7);
	const std::int64_t deadline = before.max_deadline_ms; // the last record's deadline

	bool seen_before_deadline = false;
	std::int64_t gone_at = 0;
	while (wall_ms() < deadline + 3000 * test::time_scale()) {
		const std::int64_t t = wall_ms();
		const Snapshot s = snapshot(dir);
		if (t < deadline - 200 && s.rows > 0)
			seen_before_deadline = true;
		if (s.rows == 0) {
			gone_at = wall_ms();
			break;
		}
		std::this_thread::sleep_for(milliseconds{10});
	}
	ASSERT_NE(gone_at, 0) << "records outlived their deadline by 3 s";
	const std::int64_t lag = gone_at - deadline;
	std::printf("last deadline -> gone: %lld ms\n", static_cast<long long>(lag));
	RecordProperty("purge_lag_ms", std::to_string(lag));
	EXPECT_TRUE(seen_before_deadline) << "records vanished before their deadline";
	EXPECT_LE(lag, 1000 * test::time_scale()); // the product's bar: 1 s (scaled only under TSan)
	EXPECT_GE(worker->cycles(), 2u);
	EXPECT_EQ(worker->failures(), 0u);
	// The WAL is truncated after the purge (retried next cycle if our reader was in the way).
	const auto wal = dir.path() / "state/retention.db-wal";
	for (int i = 0; i < 100 && std::filesystem::file_size(wal) != 0; ++i)
		std::this_thread::sleep_for(milliseconds{10});
	EXPECT_EQ(std::filesystem::file_size(wal), 0u);
}

TEST(RetentionPurge, WallClockSetBackDoesNotExtend)
{
	test::TempDir dir;
	ManualClock clock;
	auto r = Retention::create(make_config(dir, clock),
				   test::make_policy(seconds{10}, seconds{10}, kPolicy));
	ASSERT_TRUE(r.ok());
	record_some(**r, 3);
	ASSERT_EQ(snapshot(dir).rows, 5);

	clock.set_wall(clock.wall() - hours{24}); // an administrator, or a forged NTP answer
	clock.advance(seconds{9});
	ASSERT_TRUE((*r)->purge().ok());
	EXPECT_EQ(snapshot(dir).rows, 5) << "purged early";
	clock.advance(milliseconds{1001});
	auto p = (*r)->purge();
	ASSERT_TRUE(p.ok());
	EXPECT_EQ(p->total(), 5);
	EXPECT_EQ(snapshot(dir).rows, 0) << "a wall clock set back extended retention";
}

TEST(RetentionPurge, WallClockSetForwardPurgesEarlyNotLate)
{
	test::TempDir dir;
	ManualClock clock;
	auto r = Retention::create(make_config(dir, clock),
				   test::make_policy(seconds{600}, seconds{600}, kPolicy));
	ASSERT_TRUE(r.ok());
	record_some(**r, 2);
	clock.set_wall(clock.wall() + seconds{601});
	ASSERT_TRUE((*r)->purge().ok());
	EXPECT_EQ(snapshot(dir).rows, 0);
}

TEST(RetentionPurge, RestartAfterDeadlinePurgesAtStartup)
{
	test::TempDir dir;
	ManualClock clock;
	const auto pol = test::make_policy(seconds{10}, seconds{10}, kPolicy);
	{
		auto r = Retention::create(make_config(dir, clock), pol);
		ASSERT_TRUE(r.ok());
		record_some(**r, 4);
	} // "crash" (the destructor does not purge)
	ASSERT_EQ(snapshot(dir).rows, 6);
	clock.advance(seconds{11});
	auto r = Retention::create(make_config(dir, clock), pol);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(snapshot(dir).rows, 0) << "not purged at start-up";
}

TEST(RetentionPurge, ClockBehindHighWaterMarkAtRestartIsDetected)
{
	test::TempDir dir;
	ManualClock first;
	const auto pol = test::make_policy(seconds{10}, seconds{10}, kPolicy);
	const WallTime t0 = first.wall();
	{
		auto r = Retention::create(make_config(dir, first), pol);
		ASSERT_TRUE(r.ok());
		record_some(**r, 2);
		first.advance(seconds{8});
		ASSERT_TRUE((*r)->purge().ok());
	}
	ASSERT_EQ(snapshot(dir).rows, 4);

	// Reboot with a flat RTC battery: the wall clock is an hour behind, the monotonic clock
	// starts again from zero.
	ManualClock second(t0 - hours{1}, MonoTime{});
	auto r = Retention::create(make_config(dir, second), pol);
	ASSERT_TRUE(r.ok());
	EXPECT_GE((*r)->now(), t0 + seconds{8}); // resumes from the high-water mark
	EXPECT_EQ(snapshot(dir).rows, 4);
	second.advance(seconds{2});
	ASSERT_TRUE((*r)->purge().ok());
	EXPECT_EQ(snapshot(dir).rows, 0) << "the clock set back at restart extended retention";

	auto db = store::Database::open(dir.path() / "state" / std::string(kDatabaseName));
	auto st = (*db)->prepare("SELECT CAST(value AS INTEGER) FROM meta WHERE key = "
				 "'clock_setback_ms'");
	ASSERT_TRUE(st.ok());
	ASSERT_TRUE(*st->step());
	EXPECT_GE(st->column_int64(0), 3600 * 1000);
}

TEST(RetentionPurge, RetentionTimeRatchet)
{
	ManualClock clock;
	RetentionTime t(clock, WallTime{});
	const WallTime a = t.now();
	clock.set_wall(a - hours{2});
	clock.advance(seconds{5});
	EXPECT_EQ(t.now(), a + seconds{5});
	EXPECT_GE(t.max_setback(), hours{2} - seconds{1});
	clock.set_wall(a + hours{1});
	EXPECT_EQ(t.now(), a + hours{1});
}
