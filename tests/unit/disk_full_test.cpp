// SPDX-License-Identifier: GPL-3.0-or-later
// A really full disk (a small tmpfs; root only): purges still run, the retention store and the
// audit log still open, and a failed audit append leaves no half record behind.
#include <chrono>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "lethe/audit/audit_log.h"
#include "lethe/retention/retention.h"
#include "support/policies.h"
#include "support/temp_dir.h"
#include "support/tmpfs.h"

using namespace lethe;
using std::chrono::seconds;
namespace fs = std::filesystem;

namespace {

/// Everything kept 10 s.
policy::Policy short_policy()
{
	return test::make_policy(seconds{10}, seconds{10}, {.id = "disk-full-test", .version = 1});
}

retention::Config config(const fs::path &state, const retention::Clock &clock)
{
	retention::Config c;
	c.state_dir = state;
	c.clock = &clock;
	c.digest.log2_n = 8;
	return c;
}

std::int64_t rows(const fs::path &state)
{
	store::Database::Options ro;
	ro.read_only = true;
	auto db = store::Database::open(state / std::string(retention::kDatabaseName), ro);
	EXPECT_TRUE(db.ok()) << db.error().message;
	if (!db)
		return -1;
	auto st = (*db)->prepare("SELECT (SELECT count(*) FROM nonhit_digest) + "
				 "(SELECT count(*) FROM hit_record) + (SELECT count(*) FROM hit_image)");
	EXPECT_TRUE(st.ok());
	auto row = st->step();
	EXPECT_TRUE(row.ok() && *row);
	return st->column_int64(0);
}

/// Record non-hits and a hit until the store refuses for lack of space; returns how many
/// were stored.
int record_until_full(retention::Retention &r)
{
	int stored = 0;
	for (int i = 0; i < 100000; ++i) {
		retention::NonHit read{"FULL" + std::to_string(100000 + i), "cam", {}, {}};
		Status s = r.record_nonhit(read);
		if (!s) {
			EXPECT_EQ(s.error().code, -ENOSPC) << s.error().message;
			break;
		}
		++stored;
	}
	return stored;
}

TEST(DiskFull, PurgeRunsOnAFullDisk)
{
	test::TempDir dir;
	test::SmallTmpfs tmpfs(dir / "state", 4u << 20);
	if (!tmpfs.mounted())
		GTEST_SKIP() << tmpfs.why_not();
	const fs::path state = dir / "state";
	retention::ManualClock clock;
	auto r = retention::Retention::create(config(state, clock), short_policy());
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_TRUE(fs::exists(state / std::string(retention::kReserveName)));

	const int stored = record_until_full(**r);
	(void)test::fill(state / "filler"); // not one page left
	ASSERT_GT(stored, 0);
	retention::NonHit more{"MORE0001", "cam", {}, {}};
	ASSERT_FALSE((*r)->record_nonhit(more).ok()) << "the disk is not full";
	ASSERT_EQ(rows(state), stored);

	// Every record is past its deadline: the purge must run although nothing can be written.
	clock.advance(seconds{11});
	auto p = (*r)->purge();
	ASSERT_TRUE(p.ok()) << "a full disk stopped the purge: " << p.error().message;
	EXPECT_EQ(p->purged[0], stored);
	EXPECT_EQ(rows(state), 0) << "records outlived their deadline on a full disk";
	EXPECT_EQ(fs::file_size(state / "retention.db-wal"), 0u);

	// Space returns: storage works again and the reserve is made again.
	fs::remove(state / "filler");
	retention::NonHit after{"AFTER001", "cam", {}, {}};
	EXPECT_TRUE((*r)->record_nonhit(after).ok());
	clock.advance(seconds{1});
	ASSERT_TRUE((*r)->purge().ok());
	EXPECT_TRUE(fs::exists(state / std::string(retention::kReserveName)));
}

TEST(DiskFull, RetentionStartsAndPurgesOnAFullDisk)
{
	test::TempDir dir;
	test::SmallTmpfs tmpfs(dir / "state", 4u << 20);
	if (!tmpfs.mounted())
		GTEST_SKIP() << tmpfs.why_not();
	const fs::path state = dir / "state";
	retention::ManualClock clock;
	int stored = 0;
	{
		auto r = retention::Retention::create(config(state, clock), short_policy());
		ASSERT_TRUE(r.ok()) << r.error().message;
		stored = record_until_full(**r);
	} // a crash (or a reboot) on the full disk
	(void)test::fill(state / "filler");
	ASSERT_GT(rows(state), 0);

	// Back after the deadlines, disk still full: it starts, and the start-up purge runs.
	clock.advance(seconds{11});
	auto r = retention::Retention::create(config(state, clock), short_policy());
	ASSERT_TRUE(r.ok()) << "does not start on a full disk: " << r.error().message;
	EXPECT_EQ(rows(state), 0) << "start-up purge did not run on a full disk (" << stored
				  << " records were stored)";
}

TEST(DiskFull, AuditAppendLeavesNoHalfRecordAndLogStillOpens)
{
	test::TempDir dir;
	test::SmallTmpfs tmpfs(dir / "state", 1u << 20);
	if (!tmpfs.mounted())
		GTEST_SKIP() << tmpfs.why_not();
	audit::AuditLogOptions opts;
	opts.state_dir = dir / "state";
	auto log = audit::AuditLog::open(opts);
	ASSERT_TRUE(log.ok()) << log.error().message;
	audit::AuditEntry e;
	e.action = "status";
	e.reason = std::string(6000, 'x'); // more than a page: cannot fit in the last one
	ASSERT_TRUE((*log)->append(e).ok());
	const auto path = audit::AuditLog::log_path(opts.state_dir);
	(void)test::fill(opts.state_dir / "filler");

	const auto before = fs::file_size(path);
	Status s = (*log)->append(e);
	ASSERT_FALSE(s.ok()) << "the disk is not full";
	EXPECT_EQ(s.error().code, -ENOSPC) << s.error().message;
	EXPECT_EQ(fs::file_size(path), before) << "a failed append left part of a record";
	log->reset();

	// A torn record from a crash, and a full disk at the next start: the log opens (the
	// torn tail is cut off; the note of it cannot be written, which the daemon logs).
	{
		std::string text = test::read_file(path);
		fs::remove(opts.state_dir / "filler");
		test::write_file(path, text + "{\"action\":\"sta");
		(void)test::fill(opts.state_dir / "filler");
	}
	auto again = audit::AuditLog::open(opts);
	ASSERT_TRUE(again.ok()) << "the audit log does not open on a full disk: "
				<< again.error().message;
	EXPECT_EQ(test::read_file(path).back(), '\n');
	fs::remove(opts.state_dir / "filler");
	EXPECT_TRUE((*again)->append(e).ok());
	// A seal that found no room for audit.head is made good by the next seal.
	EXPECT_TRUE((*again)->seal().ok());
	const auto report = (*again)->verify();
	EXPECT_TRUE(report.ok()) << report.problems.front().message;
}

} // namespace
