// SPDX-License-Identifier: GPL-3.0-or-later
// Database (pragmas, statements, secure_delete, WAL truncate, disk full) and KeyStore tests.
#include <csignal>
#include <string>

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "lethe/store/database.h"
#include "lethe/store/key_store.h"
#include "support/temp_dir.h"

using namespace lethe;
using namespace lethe::store;
namespace fs = std::filesystem;
using std::chrono::seconds;

namespace {

std::int64_t pragma_int(Database &db, const std::string &name)
{
	auto st = db.prepare("PRAGMA " + name);
	EXPECT_TRUE(st.ok());
	auto row = st->step();
	EXPECT_TRUE(row.ok() && *row);
	return st->column_int64(0);
}

std::string all_bytes_under(const fs::path &dir)
{
	std::string all;
	for (const auto &e : fs::recursive_directory_iterator(dir))
		if (e.is_regular_file())
			all += test::read_file(e.path());
	return all;
}

} // namespace

TEST(Database, OpensWithPrivacyPragmas)
{
	test::TempDir dir;
	auto db = Database::open(dir / "a.db");
	ASSERT_TRUE(db.ok()) << db.error().message;
	EXPECT_EQ(pragma_int(**db, "secure_delete"), 1);
	EXPECT_EQ(pragma_int(**db, "foreign_keys"), 1);
	EXPECT_EQ(pragma_int(**db, "synchronous"), 2); // FULL
	auto mode = (*db)->prepare("PRAGMA journal_mode");
	ASSERT_TRUE(mode.ok());
	ASSERT_TRUE(*mode->step());
	EXPECT_EQ(mode->column_text(0), "wal");

	Database::Options normal;
	normal.sync = Database::Sync::Normal;
	auto db2 = Database::open(dir / "b.db", normal);
	ASSERT_TRUE(db2.ok());
	EXPECT_EQ(pragma_int(**db2, "synchronous"), 1);
}

TEST(Database, StatementsBindAndRead)
{
	test::TempDir dir;
	auto db = Database::open(dir / "a.db");
	ASSERT_TRUE(db.ok());
	ASSERT_TRUE((*db)->exec("CREATE TABLE t(i INTEGER, d REAL, s TEXT, b BLOB)").ok());
	auto ins = (*db)->prepare("INSERT INTO t VALUES(?,?,?,?)");
	ASSERT_TRUE(ins.ok());
	crypto::Bytes blob{0, 1, 2, 255};
	ASSERT_TRUE(ins->bind(1, std::int64_t{42}).bind(2, 1.5).bind(3, "x").bind_blob(4, blob).run().ok());
	ASSERT_TRUE(ins->bind(1, std::int64_t{7}).bind_null(2).bind(3, "").bind_blob(4, {}).run().ok());
	EXPECT_EQ((*db)->last_insert_rowid(), 2);
	auto sel = (*db)->prepare("SELECT i, d, s, b FROM t ORDER BY i DESC");
	ASSERT_TRUE(sel.ok());
	ASSERT_TRUE(*sel->step());
	EXPECT_EQ(sel->column_int64(0), 42);
	EXPECT_DOUBLE_EQ(sel->column_double(1), 1.5);
	EXPECT_EQ(sel->column_text(2), "x");
	EXPECT_EQ(sel->column_blob(3), blob);
	ASSERT_TRUE(*sel->step());
	EXPECT_TRUE(sel->is_null(1));
	EXPECT_FALSE(*sel->step());

	auto bad = (*db)->prepare("SELEKT nonsense");
	ASSERT_FALSE(bad.ok());
	EXPECT_EQ(bad.error().code, -EINVAL);
}

TEST(Database, TransactionRollsBackUnlessCommitted)
{
	test::TempDir dir;
	auto db = Database::open(dir / "a.db");
	ASSERT_TRUE(db.ok());
	ASSERT_TRUE((*db)->exec("CREATE TABLE t(i INTEGER)").ok());
	{
		Transaction tx(**db);
		ASSERT_TRUE(tx.begin().ok());
		ASSERT_TRUE((*db)->exec("INSERT INTO t VALUES(1)").ok());
	}
	{
		Transaction tx(**db);
		ASSERT_TRUE(tx.begin().ok());
		ASSERT_TRUE((*db)->exec("INSERT INTO t VALUES(2)").ok());
		ASSERT_TRUE(tx.commit().ok());
	}
	auto sel = (*db)->prepare("SELECT group_concat(i) FROM t");
	ASSERT_TRUE(*sel->step());
	EXPECT_EQ(sel->column_text(0), "2");
}

TEST(Database, SecureDeleteAndTruncateLeaveNoTrace)
{
	test::TempDir dir;
	const std::string marker = "MARKER-7f3a9c-SECRET";
	{
		auto db = Database::open(dir / "a.db");
		ASSERT_TRUE(db.ok());
		ASSERT_TRUE((*db)->exec("CREATE TABLE t(s TEXT)").ok());
		auto ins = (*db)->prepare("INSERT INTO t VALUES(?)");
		for (int i = 0; i < 200; ++i)
			ASSERT_TRUE(ins->bind(1, marker + std::to_string(i)).run().ok());
		ASSERT_TRUE((*db)->checkpoint_truncate().ok());
		EXPECT_NE(all_bytes_under(dir.path()).find(marker), std::string::npos);
		ASSERT_TRUE((*db)->exec("DELETE FROM t").ok());
		// Before the checkpoint the WAL still holds old page images.
		ASSERT_TRUE((*db)->checkpoint_truncate().ok());
		EXPECT_EQ(fs::file_size(dir / "a.db-wal"), 0u);
		EXPECT_EQ(all_bytes_under(dir.path()).find(marker), std::string::npos);
	}
	EXPECT_EQ(all_bytes_under(dir.path()).find(marker), std::string::npos);
}

TEST(Database, FullDiskFailsClosedWithClearError)
{
	test::TempDir dir;
	// A file size limit is a full disk that any unprivileged test can make: writes past it
	// fail with EFBIG (SIGXFSZ ignored).
	auto db = Database::open(dir / "a.db");
	ASSERT_TRUE(db.ok());
	ASSERT_TRUE((*db)->exec("CREATE TABLE t(b BLOB)").ok());
	ASSERT_TRUE((*db)->checkpoint_truncate().ok());

	auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
	rlimit old{};
	ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
	rlimit small = old;
	small.rlim_cur = 256 * 1024;
	ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);

	auto ins = (*db)->prepare("INSERT INTO t VALUES(randomblob(8192))");
	ASSERT_TRUE(ins.ok());
	Status failed;
	int inserted = 0;
	for (int i = 0; i < 200 && failed.ok(); ++i) {
		Transaction tx(**db);
		failed = tx.begin();
		if (failed)
			failed = ins->run();
		if (failed)
			failed = tx.commit();
		if (failed)
			++inserted;
	}
	ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
	std::signal(SIGXFSZ, old_handler);

	ASSERT_FALSE(failed.ok()) << "the size limit was never hit";
	EXPECT_EQ(failed.error().code, -ENOSPC) << failed.error().message;
	EXPECT_NE(failed.error().message.find("storage full"), std::string::npos)
		<< failed.error().message;
	EXPECT_GT(inserted, 0);

	// The committed rows are intact; the failed one is not half there.
	auto cnt = (*db)->prepare("SELECT count(*) FROM t");
	ASSERT_TRUE(cnt.ok());
	auto row = cnt->step();
	ASSERT_TRUE(row.ok() && *row) << (row.ok() ? "" : row.error().message);
	EXPECT_EQ(cnt->column_int64(0), inserted);
}

TEST(Database, MaxPageCountIsAlsoStorageFull)
{
	test::TempDir dir;
	Database::Options o;
	o.max_page_count = 16;
	auto db = Database::open(dir / "a.db", o);
	ASSERT_TRUE(db.ok());
	ASSERT_TRUE((*db)->exec("CREATE TABLE t(b BLOB)").ok());
	Status s;
	for (int i = 0; i < 100 && s.ok(); ++i)
		s = (*db)->exec("INSERT INTO t VALUES(randomblob(4000))");
	ASSERT_FALSE(s.ok());
	EXPECT_EQ(s.error().code, -ENOSPC) << s.error().message;
}

TEST(KeyStore, FileModeRotatesPersistsAndDestroys)
{
	test::TempDir dir;
	const auto t0 = std::chrono::system_clock::time_point{seconds{1'800'000'000}};
	std::uint64_t e1 = 0;
	crypto::Bytes sealed;
	crypto::SecretBytes key_copy;
	{
		auto ks = KeyStore::open(dir.path(), KeyMode::File);
		ASSERT_TRUE(ks.ok()) << ks.error().message;
		auto k1 = (*ks)->current(purpose::kHitRecord, t0, seconds{60});
		ASSERT_TRUE(k1.ok()) << k1.error().message;
		e1 = k1->info.epoch;
		key_copy = k1->key;
		auto same = (*ks)->current(purpose::kHitRecord, t0 + seconds{59}, seconds{60});
		EXPECT_EQ(same->info.epoch, e1);
		auto s = (*ks)->seal(purpose::kHitRecord, t0 + seconds{1}, seconds{60}, "hello", 5, "aad");
		ASSERT_TRUE(s.ok());
		EXPECT_EQ(s->epoch, e1);
		sealed = s->sealed;

		auto next = (*ks)->current(purpose::kHitRecord, t0 + seconds{60}, seconds{60});
		EXPECT_GT(next->info.epoch, e1);
		EXPECT_NE(next->key, k1->key);
		auto other = (*ks)->current(purpose::kDigest, t0, seconds{60});
		EXPECT_NE(other->key, k1->key);
		// A clock set back never reopens an old epoch: a new one starts.
		auto back = (*ks)->current(purpose::kHitRecord, t0 + seconds{1}, seconds{60});
		EXPECT_GT(back->info.epoch, next->info.epoch);

		const fs::path f = dir / ("keys/hit-record-" + std::to_string(e1) + ".key");
		ASSERT_TRUE(fs::exists(f));
		struct stat st {};
		ASSERT_EQ(::stat(f.c_str(), &st), 0);
		EXPECT_EQ(st.st_mode & 0777, 0600u);
	}
	// Reopen: keys survive in file mode.
	auto ks = KeyStore::open(dir.path(), KeyMode::File);
	ASSERT_TRUE(ks.ok());
	auto plain = (*ks)->open_sealed(purpose::kHitRecord, e1, sealed, "aad");
	ASSERT_TRUE(plain.ok()) << plain.error().message;
	EXPECT_EQ(std::string(plain->begin(), plain->end()), "hello");
	EXPECT_FALSE((*ks)->open_sealed(purpose::kHitRecord, e1, sealed, "other").ok());

	const std::string key_bytes(key_copy.begin(), key_copy.end());
	ASSERT_NE(all_bytes_under(dir.path()).find(key_bytes), std::string::npos);
	ASSERT_TRUE((*ks)->destroy_epoch(purpose::kHitRecord, e1).ok());
	EXPECT_FALSE((*ks)->has(purpose::kHitRecord, e1));
	auto gone = (*ks)->open_sealed(purpose::kHitRecord, e1, sealed, "aad");
	ASSERT_FALSE(gone.ok());
	EXPECT_EQ(gone.error().code, -ENOENT);
	EXPECT_EQ(all_bytes_under(dir.path()).find(key_bytes), std::string::npos);
	EXPECT_TRUE((*ks)->destroy_epoch(purpose::kHitRecord, e1).ok()); // idempotent

	auto reopened = KeyStore::open(dir.path(), KeyMode::File);
	EXPECT_FALSE((*reopened)->has(purpose::kHitRecord, e1));
	EXPECT_EQ((*reopened)->epochs(purpose::kHitRecord).size(), 2u);
	EXPECT_EQ((*reopened)->epochs().size(), 3u);
}

TEST(KeyStore, RamModeNeverTouchesDisk)
{
	test::TempDir dir;
	const auto t0 = std::chrono::system_clock::now();
	crypto::SecretBytes key_copy;
	{
		auto ks = KeyStore::open(dir.path(), KeyMode::Ram);
		ASSERT_TRUE(ks.ok());
		auto k = (*ks)->current(purpose::kOutbox, t0, seconds{3600});
		ASSERT_TRUE(k.ok());
		key_copy = k->key;
		EXPECT_TRUE((*ks)->directory().empty());
	}
	EXPECT_TRUE(fs::is_empty(dir.path()));
	auto ks = KeyStore::open(dir.path(), KeyMode::Ram);
	EXPECT_TRUE((*ks)->epochs().empty()); // a "reboot" lost every key
}

TEST(KeyStore, DestroyEndedBeforeAndStrayFiles)
{
	test::TempDir dir;
	const auto t0 = std::chrono::system_clock::time_point{seconds{1'800'000'000}};
	auto ks = KeyStore::open(dir.path(), KeyMode::File);
	ASSERT_TRUE(ks.ok());
	for (int i = 0; i < 5; ++i)
		ASSERT_TRUE((*ks)->current("digest", t0 + seconds{10 * i}, seconds{10}).ok());
	EXPECT_EQ((*ks)->epochs("digest").size(), 5u);
	auto n = (*ks)->destroy_ended_before("digest", t0 + seconds{30});
	ASSERT_TRUE(n.ok());
	EXPECT_EQ(*n, 3);
	EXPECT_EQ((*ks)->epochs("digest").size(), 2u);

	test::write_file(dir / "keys/.tmp-abc", "partial");
	test::write_file(dir / "keys/digest-12.key", "short junk");
	auto re = KeyStore::open(dir.path(), KeyMode::File);
	ASSERT_TRUE(re.ok());
	EXPECT_FALSE(fs::exists(dir / "keys/.tmp-abc"));
	EXPECT_FALSE(fs::exists(dir / "keys/digest-12.key"));
	EXPECT_EQ((*re)->epochs("digest").size(), 2u);
	EXPECT_FALSE(parse_key_mode("disk").ok());
	EXPECT_TRUE(parse_key_mode("ram").ok());
}
