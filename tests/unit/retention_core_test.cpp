// SPDX-License-Identifier: GPL-3.0-or-later
// Retention core: digests, retro-hit lookups, sealed hits, retention 0, policy changes.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lethe/hotlist/hotlist.h"
#include "lethe/retention/digest.h"
#include "lethe/retention/lookup.h"
#include "lethe/retention/retention.h"
#include "support/policies.h"
#include "support/temp_dir.h"

using namespace lethe;
using namespace lethe::retention;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

const test::PolicyOptions kPolicy = {
	.id = "test-policy", .version = 3, .hash = std::string(64, 'a'), .retro_hit_queries = true};
const test::PolicyOptions kNoRetroHits = {.id = "test-policy",
					  .version = 3,
					  .hash = std::string(64, 'a'),
					  .retro_hit_queries = false};

Config make_config(const test::TempDir &dir, const Clock &clock)
{
	Config c;
	c.state_dir = dir.path() / "state";
	c.clock = &clock;
	c.digest.log2_n = 8; // cheap for tests; the construction is the same
	return c;
}

std::int64_t count_rows(const std::filesystem::path &state, const std::string &table)
{
	auto db = store::Database::open(state / std::string(kDatabaseName));
	EXPECT_TRUE(db.ok());
	auto st = (*db)->prepare("SELECT count(*) FROM " + table);
	EXPECT_TRUE(st.ok());
	EXPECT_TRUE(*st->step());
	return st->column_int64(0);
}

} // namespace

TEST(Digest, NormalisesAndIsKeyed)
{
	auto n1 = normalise_plate("ab-12 cd");
	auto n2 = normalise_plate("AB12CD");
	EXPECT_EQ(n1, n2);
	auto k1 = crypto::random_bytes(32);
	auto k2 = crypto::random_bytes(32);
	DigestParams p;
	p.log2_n = 8;
	auto d1 = plate_digest(*k1, n1, p);
	auto d1b = plate_digest(*k1, n2, p);
	auto d2 = plate_digest(*k2, n1, p);
	ASSERT_TRUE(d1.ok() && d1b.ok() && d2.ok());
	EXPECT_EQ(d1->size(), 32u);
	EXPECT_EQ(*d1, *d1b);
	EXPECT_NE(*d1, *d2); // another key, another digest
	// Never a bare hash of the plate.
	EXPECT_NE(*d1, crypto::sha256("AB12CD"));
	p.log2_n = 0;
	auto hmac_only = plate_digest(*k1, n1, p);
	ASSERT_TRUE(hmac_only.ok());
	EXPECT_NE(*hmac_only, *d1); // scrypt changes the value
}

TEST(Retention, NonHitBecomesDigestAndIsWiped)
{
	test::TempDir dir;
	ManualClock clock;
	auto r = Retention::create(make_config(dir, clock),
				   test::make_policy(hours{1}, hours{1}, kPolicy));
	ASSERT_TRUE(r.ok()) << r.error().message;
	std::uint8_t crop[4] = {1, 2, 3, 4};
	std::uint8_t frame[8] = {9, 9, 9, 9, 9, 9, 9, 9};
	NonHit read{"KA-AB 1234", "cam-1", crop, frame};
	ASSERT_TRUE((*r)->record_nonhit(read).ok());
	EXPECT_TRUE(read.plate.empty());
	for (auto b : crop)
		EXPECT_EQ(b, 0);
	for (auto b : frame)
		EXPECT_EQ(b, 0);
	clock.advance(minutes{5});
	NonHit other{"XYZ999", "cam-2", {}, {}};
	ASSERT_TRUE((*r)->record_nonhit(other).ok());

	auto found = (*r)->find_digest("kaab1234", clock.wall() - hours{1});
	ASSERT_TRUE(found.ok()) << found.error().message;
	ASSERT_EQ(found->size(), 1u);
	EXPECT_EQ((*found)[0].camera, "cam-1");
	auto none = (*r)->find_digest("KAAB1235", clock.wall() - hours{1});
	ASSERT_TRUE(none.ok());
	EXPECT_TRUE(none->empty());
	// `since` after the sighting.
	auto later = (*r)->find_digest("KAAB1234", clock.wall() - minutes{1});
	ASSERT_TRUE(later.ok());
	EXPECT_TRUE(later->empty());
	EXPECT_EQ(count_rows(dir.path() / "state", "nonhit_digest"), 2);
}

TEST(Retention, RetroHitRefusedWhenPolicyForbids)
{
	test::TempDir dir;
	ManualClock clock;
	auto r = Retention::create(make_config(dir, clock),
				   test::make_policy(hours{1}, hours{1}, kNoRetroHits));
	ASSERT_TRUE(r.ok());
	NonHit read{"AB1234", "cam", {}, {}};
	ASSERT_TRUE((*r)->record_nonhit(read).ok());
	auto q = (*r)->find_digest("AB1234", clock.wall() - hours{1});
	ASSERT_FALSE(q.ok());
	EXPECT_EQ(q.error().code, -EPERM);
	// Nobody may link the digests: the key dies when its epoch ends, the rows with it.
	clock.advance(seconds{61});
	auto p = (*r)->purge();
	ASSERT_TRUE(p.ok());
	EXPECT_GE(p->keys_destroyed, 1);
	EXPECT_TRUE((*r)->keys().epochs(store::purpose::kDigest).empty());
	auto p2 = (*r)->purge();
	ASSERT_TRUE(p2.ok());
	EXPECT_EQ(p2->purged[0], 1);
}

// `lethe query --plate 1ODTM` found nothing where `10DTM` was read although the policy
// matches OCR confusions: a retro-hit finds exactly the reads the hot-list matcher would hit.
TEST(Retention, RetroHitUsesTheMatchersTolerance)
{
	test::TempDir dir;
	ManualClock clock;
	auto r = Retention::create(make_config(dir, clock),
				   test::make_policy(hours{1}, hours{1}, kPolicy));
	ASSERT_TRUE(r.ok());
	const std::vector<std::string> reads = {"10DTM", "IODTM", "1ODTM", "100TM", "1ODT",
						"10TM",  "ODTM",  "XODTM", "1ODTN", "1O0TMX"};
	for (const auto &text : reads) {
		NonHit read{text, "cam-" + text, {}, {}};
		ASSERT_TRUE((*r)->record_nonhit(read).ok());
	}
	const auto entries = hotlist::parse_csv_syntax(std::string(hotlist::kCsvHeader) +
						       "\n1ODTM,,l,stolen,,2026-01-01,,\n");
	ASSERT_TRUE(entries.ok()) << entries.error().message;
	auto matcher = hotlist::Matcher::compile(hotlist::ListInfo{"l", 1, clock.wall()},
						 *entries, *crypto::random_bytes(32));
	ASSERT_TRUE(matcher.ok()) << matcher.error().message;
	for (const bool confusions : {false, true}) {
		for (const int edit : {0, 1}) {
			policy::HotlistRules rules;
			rules.categories = {"stolen"};
			rules.match_confusions = confusions;
			rules.max_edit_distance = edit;
			auto found = find_plate(**r, "1ODTM", clock.wall() - hours{1}, rules);
			ASSERT_TRUE(found.ok()) << found.error().message;
			EXPECT_EQ(found->skipped, 0u);
			for (const auto &text : reads) {
				// A retro-hit cannot find a read with an extra character (only the
				// read's digest is stored); every other hit type must be found.
				const auto hits = (*matcher)->match(text, rules, clock.wall());
				const bool hit = !hits.empty() &&
						 hits[0].type != hotlist::MatchType::ExtraChar;
				const auto it = std::find_if(
					found->sightings.begin(), found->sightings.end(),
					[&](const PlateSighting &s) { return s.camera == "cam-" + text; });
				EXPECT_EQ(it != found->sightings.end(), hit)
					<< text << " confusions " << confusions << " edit " << edit;
				if (hit && it != found->sightings.end()) {
					EXPECT_EQ(it->match,
						  std::string(hotlist::match_type_name(hits[0].type)))
						<< text;
				}
			}
		}
	}
	// The case: 10DTM is found as a confusion of 1ODTM.
	policy::HotlistRules rules;
	rules.match_confusions = true;
	auto found = find_plate(**r, "1ODTM", clock.wall() - hours{1}, rules);
	ASSERT_TRUE(found.ok());
	EXPECT_TRUE(std::any_of(found->sightings.begin(), found->sightings.end(),
				[](const PlateSighting &s) {
					return s.camera == "cam-10DTM" && s.match == "confusion";
				}));

	// Bounded: 3^8 confusion spellings; the plate itself is looked up first, the rest up to
	// the bound, and the others are counted.
	NonHit ambiguous{"O0D0O0D0", "cam-ambiguous", {}, {}};
	ASSERT_TRUE((*r)->record_nonhit(ambiguous).ok());
	rules.max_edit_distance = 1;
	found = find_plate(**r, "O0D0O0D0", clock.wall() - hours{1}, rules);
	ASSERT_TRUE(found.ok()) << found.error().message;
	EXPECT_EQ(found->searched, kMaxQuerySpellings);
	EXPECT_GE(found->skipped, 6561u - kMaxQuerySpellings);
	ASSERT_EQ(found->sightings.size(), 1u);
	EXPECT_EQ(found->sightings[0].match, "exact");
}

TEST(Retention, RetentionZeroWritesNothing)
{
	test::TempDir dir;
	ManualClock clock;
	auto r = Retention::create(make_config(dir, clock), policy::strictest());
	ASSERT_TRUE(r.ok()) << r.error().message;
	for (int i = 0; i < 50; ++i) {
		NonHit read{"ZERO" + std::to_string(1000 + i), "cam", {}, {}};
		ASSERT_TRUE((*r)->record_nonhit(read).ok());
	}
	Hit hit;
	hit.plate = "HIT0001";
	hit.camera = "cam";
	auto id = (*r)->record_hit(hit);
	ASSERT_TRUE(id.ok());
	EXPECT_EQ(*id, 0); // not stored
	EXPECT_EQ(count_rows(dir.path() / "state", "nonhit_digest"), 0);
	EXPECT_EQ(count_rows(dir.path() / "state", "hit_record"), 0);
	EXPECT_TRUE((*r)->keys().epochs().empty()); // not even a key was made
	EXPECT_FALSE(std::filesystem::exists(dir.path() / "state/keys/") &&
		     !std::filesystem::is_empty(dir.path() / "state/keys"));
}

TEST(Retention, HitsAreSealedAndReadable)
{
	test::TempDir dir;
	ManualClock clock;
	auto r = Retention::create(make_config(dir, clock),
				   test::make_policy(hours{1}, hours{2}, kPolicy));
	ASSERT_TRUE(r.ok());
	Hit hit;
	hit.plate = "HITPLATE77";
	hit.camera = "cam-9";
	hit.list_id = "ncic-stolen";
	hit.category = "stolen-vehicle";
	hit.match_type = "exact";
	hit.confidence = 0.93;
	hit.image = {0xff, 0xd8, 'H', 'I', 'T', 'P', 'L', 'A', 'T', 'E', '7', '7', 0xff, 0xd9};
	auto id = (*r)->record_hit(hit);
	ASSERT_TRUE(id.ok()) << id.error().message;
	EXPECT_GT(*id, 0);
	auto hits = (*r)->hits(clock.wall() - hours{1});
	ASSERT_TRUE(hits.ok());
	ASSERT_EQ(hits->size(), 1u);
	EXPECT_EQ((*hits)[0].hit.plate, "HITPLATE77");
	EXPECT_EQ((*hits)[0].hit.list_id, "ncic-stolen");
	EXPECT_EQ((*hits)[0].hit.camera, "cam-9");
	EXPECT_TRUE((*hits)[0].has_image);
	EXPECT_EQ((*hits)[0].hit.event_id.size(), 36u);
	auto img = (*r)->hit_image(*id);
	ASSERT_TRUE(img.ok()) << img.error().message;
	EXPECT_EQ(crypto::Bytes(img->begin(), img->end()), hit.image);

	// Duplicate event ids are refused.
	hit.event_id = (*hits)[0].hit.event_id;
	auto dup = (*r)->record_hit(hit);
	ASSERT_FALSE(dup.ok());
	EXPECT_EQ(dup.error().code, -EEXIST);

	// `lethe hits list` showed a time 3 s after the event's `time` (the record was stamped
	// when the track ended): a hit carries the event's time and is found by its event id.
	Hit seen;
	seen.event_id = "3f1c1f0e-6a51-4d53-9c1e-0b6a3e1b2c4d";
	seen.plate = "HITPLATE78";
	seen.camera = "cam-9";
	seen.seen = clock.wall() - seconds{3};
	seen.image = {0xff, 0xd8, 'C', 'R', 'O', 'P', 0xff, 0xd9};
	ASSERT_TRUE((*r)->record_hit(seen).ok());
	hits = (*r)->hits(clock.wall() - hours{1});
	ASSERT_TRUE(hits.ok());
	ASSERT_EQ(hits->size(), 2u);
	EXPECT_EQ((*hits)[0].hit.event_id, seen.event_id); // ordered by time: the earlier sighting
	EXPECT_EQ((*hits)[0].seen, seen.seen);
	EXPECT_EQ((*hits)[0].deadline, seen.seen + hours{2}); // retention counts from the sighting
	EXPECT_EQ((*hits)[1].seen, clock.wall());             // unset: the time of recording
	auto crop = (*r)->hit_image_of_event(seen.event_id);
	ASSERT_TRUE(crop.ok()) << crop.error().message;
	EXPECT_EQ(crypto::Bytes(crop->begin(), crop->end()), seen.image);
	auto none = (*r)->hit_image_of_event("00000000-0000-4000-8000-000000000000");
	ASSERT_FALSE(none.ok());
	EXPECT_EQ(none.error().code, -ENOENT);
	// A time in the future (a wrong clock) is not believed: the store's now is used.
	seen.event_id = "4f1c1f0e-6a51-4d53-9c1e-0b6a3e1b2c4d";
	seen.seen = clock.wall() + hours{5};
	ASSERT_TRUE((*r)->record_hit(seen).ok());
	hits = (*r)->hits(clock.wall() - hours{1});
	ASSERT_TRUE(hits.ok());
	ASSERT_EQ(hits->size(), 3u);
	EXPECT_EQ((*hits)[2].seen, clock.wall());

	// Plaintext never reaches the files.
	const std::string all = test::read_file(dir.path() / "state/retention.db") +
				test::read_file(dir.path() / "state/retention.db-wal");
	EXPECT_EQ(all.find("HITPLATE77"), std::string::npos);
}

TEST(Retention, ShorterPolicyAppliesToExistingRecords)
{
	test::TempDir dir;
	ManualClock clock;
	auto r = Retention::create(make_config(dir, clock),
				   test::make_policy(hours{24}, hours{24}, kPolicy));
	ASSERT_TRUE(r.ok());
	NonHit read{"AB1234", "cam", {}, {}};
	ASSERT_TRUE((*r)->record_nonhit(read).ok());
	clock.advance(minutes{10});
	ASSERT_TRUE((*r)->purge().ok());
	EXPECT_EQ(count_rows(dir.path() / "state", "nonhit_digest"), 1);
	ASSERT_TRUE((*r)->set_policy(test::make_policy(minutes{5}, minutes{5}, kPolicy)).ok());
	auto p = (*r)->purge();
	ASSERT_TRUE(p.ok());
	EXPECT_EQ(p->purged[0], 1);
	EXPECT_EQ(count_rows(dir.path() / "state", "nonhit_digest"), 0);
}

namespace {

/// The digests stored, in row order.
std::vector<std::string> stored_digests(const std::filesystem::path &state)
{
	auto db = store::Database::open(state / std::string(kDatabaseName));
	EXPECT_TRUE(db.ok());
	std::vector<std::string> out;
	auto st = (*db)->prepare("SELECT hex(digest) FROM nonhit_digest ORDER BY id");
	EXPECT_TRUE(st.ok());
	for (;;) {
		auto r = st->step();
		if (!r.ok() || !*r)
			break;
		out.push_back(st->column_text(0));
	}
	return out;
}

} // namespace

// Wrong before (issue 15.5): within a digest epoch (a day under the presets) every read of a
// plate had the same digest, so a stolen retention.db showed repeat visits without the key
// (42 rows, 6 distinct digests in one run). Now equal plates look equal at rest only within
// one 10-minute window, and a lookup still finds every read in every window.
TEST(Retention, EqualPlatesLookEqualOnlyWithinOneWindow)
{
	test::TempDir dir;
	ManualClock clock;
	auto p = test::make_policy(hours{48}, hours{1}, kPolicy);
	p.retention.key_rotation = hours{24}; // one epoch for the whole test
	auto r = Retention::create(make_config(dir, clock), p);
	ASSERT_TRUE(r.ok()) << r.error().message;
	// Start just after a window boundary so that the first two reads share a window.
	const auto into = std::chrono::duration_cast<std::chrono::milliseconds>(
				  clock.wall().time_since_epoch()) %
			  kDigestWindow;
	clock.advance(kDigestWindow - into + seconds{1});
	const auto first = clock.wall();
	auto record = [&](const char *plate) {
		NonHit read{plate, "cam-1", {}, {}};
		ASSERT_TRUE((*r)->record_nonhit(read).ok());
	};
	record("AB1234");
	clock.advance(minutes{2}); // same window
	record("AB1234");
	clock.advance(minutes{10}); // the next window
	record("AB1234");
	clock.advance(hours{3});
	record("AB1234");
	record("ZZ9999");
	ASSERT_EQ((*r)->keys().epochs(store::purpose::kDigest).size(), 1u) << "one epoch";

	const auto d = stored_digests(dir.path() / "state");
	ASSERT_EQ(d.size(), 5u);
	EXPECT_EQ(d[0], d[1]) << "one window: equal";
	EXPECT_NE(d[1], d[2]) << "another window of the same epoch: unlinkable without the key";
	EXPECT_NE(d[2], d[3]);
	EXPECT_NE(d[3], d[4]) << "different plates";

	auto found = (*r)->find_digest("AB1234", first - minutes{1});
	ASSERT_TRUE(found.ok()) << found.error().message;
	EXPECT_EQ(found->size(), 4u) << "every read, in every window";
	auto batch = (*r)->find_digests({"ZZ9999", "AB1234", "QQ0000"}, first - minutes{1});
	ASSERT_TRUE(batch.ok());
	ASSERT_EQ(batch->size(), 3u);
	EXPECT_EQ((*batch)[0].size(), 1u);
	EXPECT_EQ((*batch)[1].size(), 4u);
	EXPECT_TRUE((*batch)[2].empty());
	// `since` after the first two reads: only the later windows answer.
	auto later = (*r)->find_digest("AB1234", first + minutes{5});
	ASSERT_TRUE(later.ok());
	EXPECT_EQ(later->size(), 2u);
}

// A retention.db written by the previous release (schema 1, no digest form): opened,
// migrated to schema 2 (its epochs read as form 1), and written and read as before.
TEST(Retention, SchemaOneDatabaseIsMigrated)
{
	test::TempDir dir;
	ManualClock clock;
	const auto state = dir.path() / "state";
	{
		auto r = Retention::create(make_config(dir, clock),
					   test::make_policy(hours{1}, hours{1}, kPolicy));
		ASSERT_TRUE(r.ok()) << r.error().message;
	}
	{
		// Back to schema 1 as the previous release created it.
		auto db = store::Database::open(state / std::string(kDatabaseName));
		ASSERT_TRUE(db.ok());
		ASSERT_TRUE((*db)->exec("ALTER TABLE digest_epoch DROP COLUMN form; UPDATE meta SET "
					"value = '1' WHERE key = 'schema_version';")
				    .ok());
	}
	auto r = Retention::create(make_config(dir, clock),
				   test::make_policy(hours{1}, hours{1}, kPolicy));
	ASSERT_TRUE(r.ok()) << r.error().message;
	NonHit read{"AB1234", "cam-1", {}, {}};
	ASSERT_TRUE((*r)->record_nonhit(read).ok());
	auto found = (*r)->find_digest("AB1234", clock.wall() - minutes{1});
	ASSERT_TRUE(found.ok()) << found.error().message;
	EXPECT_EQ(found->size(), 1u);
	auto db = store::Database::open(state / std::string(kDatabaseName));
	ASSERT_TRUE(db.ok());
	auto st = (*db)->prepare("SELECT value FROM meta WHERE key = 'schema_version'");
	ASSERT_TRUE(st.ok());
	ASSERT_TRUE(*st->step());
	EXPECT_EQ(st->column_text(0), "2");
}
