// SPDX-License-Identifier: GPL-3.0-or-later
// Crypto-erase proofs (destroyed key = unrecoverable data) and fail-closed full storage.
#include <csignal>
#include <string>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "lethe/retention/retention.h"
#include "support/byte_scan.h"
#include "support/policies.h"
#include "support/temp_dir.h"

using namespace lethe;
using namespace lethe::retention;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

const test::PolicyOptions kPolicy = {.id = "erase-test", .version = 1, .retro_hit_queries = true};

Config make_config(const test::TempDir &dir, const Clock &clock,
		   store::KeyMode mode = store::KeyMode::File)
{
	Config c;
	c.state_dir = dir.path() / "state";
	c.clock = &clock;
	c.key_mode = mode;
	c.digest.log2_n = 8;
	return c;
}

struct SealedRow {
	std::uint64_t epoch = 0;
	std::string event_id;
	crypto::Bytes sealed;
};

SealedRow first_hit_row(const test::TempDir &dir)
{
	SealedRow row;
	auto db = store::Database::open(dir.path() / "state" / std::string(kDatabaseName));
	EXPECT_TRUE(db.ok());
	auto st = (*db)->prepare("SELECT epoch, event_id, sealed FROM hit_record ORDER BY id");
	EXPECT_TRUE(st.ok());
	auto r = st->step();
	EXPECT_TRUE(r.ok() && *r);
	row.epoch = static_cast<std::uint64_t>(st->column_int64(0));
	row.event_id = st->column_text(1);
	row.sealed = st->column_blob(2);
	return row;
}

Hit make_hit(const std::string &plate)
{
	Hit hit;
	hit.plate = plate;
	hit.camera = "cam-1";
	hit.list_id = "l";
	hit.image = crypto::Bytes(plate.begin(), plate.end());
	return hit;
}

} // namespace

TEST(RetentionErase, DestroyedKeyMakesKeptCiphertextUnrecoverable)
{
	test::TempDir dir;
	ManualClock clock;
	auto r = Retention::create(make_config(dir, clock),
				   test::make_policy(hours{1}, hours{1}, kPolicy));
	ASSERT_TRUE(r.ok()) << r.error().message;
	ASSERT_TRUE((*r)->record_hit(make_hit("ERASE001")).ok());

	// An attacker's copy of the ciphertext, taken before the erase.
	const SealedRow kept = first_hit_row(dir);
	auto key = (*r)->keys().get(store::purpose::kHitRecord, kept.epoch);
	ASSERT_TRUE(key.ok());
	const std::string key_bytes(key->key.begin(), key->key.end());
	const std::string aad = "lethe/hit-record/v1|" + kept.event_id;
	ASSERT_TRUE(crypto::open(key->key, kept.sealed, aad).ok()); // decryptable before

	test::ByteScanner keys_scan;
	keys_scan.add_raw(key_bytes, 1);
	ASSERT_FALSE(keys_scan.scan_tree(dir.path() / "state").empty()); // key file exists

	ASSERT_TRUE((*r)->keys().destroy_epoch(store::purpose::kHitRecord, kept.epoch).ok());

	auto again = (*r)->keys().open_sealed(store::purpose::kHitRecord, kept.epoch, kept.sealed,
					      aad);
	ASSERT_FALSE(again.ok());
	EXPECT_EQ(again.error().code, -ENOENT);
	// No key left on the device opens it.
	for (const auto &e : (*r)->keys().epochs()) {
		auto k = (*r)->keys().get(e.purpose, e.epoch);
		ASSERT_TRUE(k.ok());
		EXPECT_FALSE(crypto::open(k->key, kept.sealed, aad).ok());
	}
	// The key bytes appear nowhere under the state directory.
	EXPECT_TRUE(keys_scan.scan_tree(dir.path() / "state").empty());
	// The unreadable record is not shown and is purged at the next cycle.
	auto hits = (*r)->hits(clock.wall() - hours{1});
	ASSERT_TRUE(hits.ok());
	EXPECT_TRUE(hits->empty());
	auto p = (*r)->purge();
	ASSERT_TRUE(p.ok());
	EXPECT_EQ(p->purged[1], 1);
	test::ByteScanner cipher_scan;
	cipher_scan.add_raw(std::string(kept.sealed.begin() + 12, kept.sealed.end()), 2);
	EXPECT_TRUE(cipher_scan.scan_tree(dir.path() / "state").empty());
}

TEST(RetentionErase, EpochKeysAreDestroyedWhenTheirDataExpires)
{
	test::TempDir dir;
	ManualClock clock;
	auto r = Retention::create(make_config(dir, clock),
				   test::make_policy(minutes{2}, minutes{1}, kPolicy));
	ASSERT_TRUE(r.ok());
	ASSERT_TRUE((*r)->record_hit(make_hit("EPOCH001")).ok());
	NonHit read{"NONHIT01", "cam", {}, {}};
	ASSERT_TRUE((*r)->record_nonhit(read).ok());
	const SealedRow kept = first_hit_row(dir);
	EXPECT_EQ((*r)->keys().epochs().size(), 3u); // digest, hit-record, hit-image

	clock.advance(seconds{60 + 59}); // epoch ended at +60 s; hit data due by +120 s
	ASSERT_TRUE((*r)->purge().ok());
	EXPECT_TRUE((*r)->keys().has(store::purpose::kHitRecord, kept.epoch));
	clock.advance(seconds{1});
	auto p = (*r)->purge();
	ASSERT_TRUE(p.ok());
	EXPECT_FALSE((*r)->keys().has(store::purpose::kHitRecord, kept.epoch));
	EXPECT_EQ((*r)->keys().epochs(store::purpose::kDigest).size(), 1u); // 2 min retention
	clock.advance(minutes{1});
	ASSERT_TRUE((*r)->purge().ok());
	EXPECT_TRUE((*r)->keys().epochs().empty());
	EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "state/keys"));
}

TEST(RetentionErase, RamModeRebootDestroysEverything)
{
	test::TempDir dir;
	ManualClock clock;
	const auto pol = test::make_policy(hours{1}, hours{1}, kPolicy);
	{
		auto r = Retention::create(make_config(dir, clock, store::KeyMode::Ram), pol);
		ASSERT_TRUE(r.ok());
		ASSERT_TRUE((*r)->record_hit(make_hit("RAMHIT01")).ok());
		NonHit read{"RAMNON01", "cam", {}, {}};
		ASSERT_TRUE((*r)->record_nonhit(read).ok());
		EXPECT_FALSE(std::filesystem::exists(dir.path() / "state/keys"));
	}
	auto r = Retention::create(make_config(dir, clock, store::KeyMode::Ram), pol);
	ASSERT_TRUE(r.ok());
	auto hits = (*r)->hits(clock.wall() - hours{1});
	ASSERT_TRUE(hits.ok());
	EXPECT_TRUE(hits->empty());
	auto db = store::Database::open(dir.path() / "state" / std::string(kDatabaseName));
	auto st = (*db)->prepare("SELECT (SELECT count(*) FROM hit_record) + "
				 "(SELECT count(*) FROM nonhit_digest)");
	ASSERT_TRUE(*st->step());
	EXPECT_EQ(st->column_int64(0), 0) << "rows under lost RAM keys survived the restart";
}

TEST(RetentionErase, FullStorageFailsClosed)
{
	test::TempDir dir;
	ManualClock clock;
	auto r = Retention::create(make_config(dir, clock),
				   test::make_policy(hours{1}, hours{1}, kPolicy));
	ASSERT_TRUE(r.ok());
	NonHit warm{"WARM0001", "cam", {}, {}};
	ASSERT_TRUE((*r)->record_nonhit(warm).ok());

	auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
	rlimit old{};
	ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
	rlimit small = old;
	small.rlim_cur = 512 * 1024;
	ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);

	Status failed;
	int stored = 0;
	std::string last_plate;
	for (int i = 0; i < 20000 && failed.ok(); ++i) {
		clock.advance(std::chrono::milliseconds{10});
		NonHit read{"FULL" + std::to_string(100000 + i), "camera-with-a-long-name", {}, {}};
		failed = (*r)->record_nonhit(read);
		EXPECT_TRUE(read.plate.empty()); // wiped, stored or not
		if (failed)
			++stored;
	}
	Result<std::int64_t> hit = (*r)->record_hit(make_hit("FULLHIT1"));
	ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
	std::signal(SIGXFSZ, old_handler);

	ASSERT_FALSE(failed.ok()) << "never hit the size limit";
	EXPECT_EQ(failed.error().code, -ENOSPC) << failed.error().message;
	EXPECT_NE(failed.error().message.find("storage full"), std::string::npos)
		<< failed.error().message;
	EXPECT_FALSE(hit.ok()) << "a hit was accepted on full storage";
	std::printf("stored %d digests before the limit; error: %s\n", stored,
		    failed.error().message.c_str());

	// Every digest that was acknowledged is there and nothing else: no half-written row.
	auto db = store::Database::open(dir.path() / "state" / std::string(kDatabaseName));
	ASSERT_TRUE(db.ok());
	auto st = (*db)->prepare("SELECT count(*) FROM nonhit_digest");
	ASSERT_TRUE(st.ok());
	auto row = st->step();
	ASSERT_TRUE(row.ok() && *row);
	EXPECT_EQ(st->column_int64(0), stored + 1);
	auto check = (*db)->prepare("PRAGMA integrity_check");
	ASSERT_TRUE(*check->step());
	EXPECT_EQ(check->column_text(0), "ok");
	// With space back, it works again and purges still run.
	NonHit after{"AFTER001", "cam", {}, {}};
	EXPECT_TRUE((*r)->record_nonhit(after).ok());
	clock.advance(hours{2});
	auto p = (*r)->purge();
	ASSERT_TRUE(p.ok()) << p.error().message;
	EXPECT_EQ(p->purged[0], stored + 2);
	EXPECT_FALSE(p->wal_truncated); // this test's reader still holds a snapshot
	st->reset();
	check->reset();
	auto p2 = (*r)->purge();
	ASSERT_TRUE(p2.ok()) << p2.error().message;
	EXPECT_TRUE(p2->wal_truncated);
	EXPECT_EQ(std::filesystem::file_size(dir.path() / "state/retention.db-wal"), 0u);
}

TEST(RetentionErase, OutboxKeysExpireWithTheOutboxRetention)
{
	test::TempDir dir;
	ManualClock clock;
	auto pol = test::make_policy(hours{1}, hours{1}, kPolicy);
	pol.retention.outbox = minutes{5};
	auto keys = store::KeyStore::open(dir.path() / "state", store::KeyMode::File);
	ASSERT_TRUE(keys.ok());
	auto cfg = make_config(dir, clock);
	cfg.keys = keys->get(); // one KeyStore lent to retention and the outbox
	auto r = Retention::create(cfg, pol);
	ASSERT_TRUE(r.ok());
	auto sealed = (*keys)->seal(store::purpose::kOutbox, clock.wall(), seconds{60}, "hit", 3);
	ASSERT_TRUE(sealed.ok());
	clock.advance(seconds{60 + 299});
	ASSERT_TRUE((*r)->purge().ok());
	EXPECT_TRUE((*keys)->has(store::purpose::kOutbox, sealed->epoch));
	clock.advance(seconds{1});
	ASSERT_TRUE((*r)->purge().ok());
	EXPECT_FALSE((*keys)->has(store::purpose::kOutbox, sealed->epoch));
	EXPECT_FALSE((*keys)->open_sealed(store::purpose::kOutbox, sealed->epoch, sealed->sealed).ok());
}
