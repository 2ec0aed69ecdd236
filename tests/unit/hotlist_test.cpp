// SPDX-License-Identifier: GPL-3.0-or-later
// Hot lists: strict CSV import, freshness, expiry, OCR-tolerant digest matching, sealed file.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "lethe/hotlist/hotlist.h"
#include "lethe/hotlist/store.h"
#include "support/temp_dir.h"

namespace lethe::test {
namespace {

using namespace lethe::hotlist;
using namespace std::chrono_literals;

policy::HotlistRules rules(bool confusions = true, int edit = 0)
{
	policy::HotlistRules r;
	r.categories = {"stolen", "amber-alert"};
	r.max_age = 86400s;
	r.match_confusions = confusions;
	r.max_edit_distance = edit;
	return r;
}

crypto::SecretBytes key()
{
	return *crypto::random_bytes(32);
}

TimePoint at(const char *s)
{
	return *lethe::parse_utc(s, lethe::UtcForm::DateOrDateTime);
}

const std::string kCsv = std::string(kCsvHeader) +
			 "\n"
			 "ABC1234,CA,ncic-stolen,stolen,Stolen vehicle,2026-11-01,,OCA-1\n"
			 "# a comment\n"
			 "\"7 XYZ 89\",NV,ncic-stolen,stolen,\"Stolen, armed\",2026-11-02T08:00:00Z,"
			 "2026-12-01,OCA-2\n"
			 "AMB3R1,CA,amber,amber-alert,\"Child \"\"Jo\"\"\",2026-11-25,2026-11-27,AA-9\n";

TEST(HotlistCsv, ParsesFieldsAndNormalises)
{
	auto r = parse_csv(kCsv, rules());
	ASSERT_TRUE(r) << r.error().message;
	ASSERT_EQ(r->size(), 3u);
	EXPECT_EQ((*r)[0].plate, "ABC1234");
	EXPECT_EQ((*r)[1].plate, "7XYZ89");
	EXPECT_EQ((*r)[1].reason, "Stolen, armed");
	EXPECT_EQ((*r)[1].entered, at("2026-11-02T08:00:00Z"));
	ASSERT_TRUE((*r)[1].expires);
	EXPECT_EQ(*(*r)[1].expires, at("2026-12-01"));
	EXPECT_FALSE((*r)[0].expires);
	EXPECT_EQ((*r)[2].reason, "Child \"Jo\"");
	EXPECT_EQ((*r)[2].agency_ref, "AA-9");
}

TEST(HotlistCsv, ErrorsNameTheLine)
{
	const std::string h = std::string(kCsvHeader) + "\n";
	struct Case {
		std::string text;
		std::string expect;
	} cases[] = {
		{"plate,region\n", "line 1: header"},
		{h + "ABC123,CA,l,stolen,r,2026-11-01,,x\nABC124,CA,l,stolen,r,2026-11-01,x\n",
		 "line 3: expected 8 fields"},
		{h + "A$C123,CA,l,stolen,r,2026-11-01,,x\n", "line 2: plate"},
		{h + "ABC123,CA,l,towed,r,2026-11-01,,x\n",
		 "line 2: category 'towed' is not allowed by the policy"},
		{h + "\n\nABC123,CA,l,stolen,r,2026-13-01,,x\n", "line 4: entered"},
		{h + "ABC123,CA,l,stolen,r,2026-11-01,2026-02-30,x\n", "line 2: expires"},
		{h + "ABC123,CA,l,stolen,r,2026-11-02,2026-11-01,x\n", "line 2: expires is not after"},
		{h + "ABC123,CA,l,stolen,\"r,2026-11-01,,x\n", "line 2: unterminated"},
		{h + "ABC123,CA,,stolen,r,2026-11-01,,x\n", "line 2: list_id"},
		{"", "empty list"},
	};
	for (const auto &c : cases) {
		auto r = parse_csv(c.text, rules());
		ASSERT_FALSE(r) << c.text;
		EXPECT_NE(r.error().message.find(c.expect), std::string::npos)
			<< "got: " << r.error().message << " want: " << c.expect;
	}
}

TEST(HotlistCsv, StrictestPolicyAllowsNoCategory)
{
	auto r = parse_csv(kCsv, policy::HotlistRules{});
	ASSERT_FALSE(r);
	EXPECT_NE(r.error().message.find("not allowed"), std::string::npos);
}

std::unique_ptr<Matcher> compile(const std::string &csv, const crypto::SecretBytes &k,
				 TimePoint generated = at("2026-11-26T00:00:00Z"))
{
	auto entries = parse_csv(csv, rules());
	EXPECT_TRUE(entries) << entries.error().message;
	auto m = Matcher::compile(ListInfo{"test", 1, generated}, *entries, k);
	EXPECT_TRUE(m) << m.error().message;
	return std::move(m).value();
}

TEST(HotlistMatch, ExactConfusionAndEditTypes)
{
	const auto k = key();
	auto m = compile(kCsv, k);
	const auto now = at("2026-11-26T12:00:00Z");
	struct Case {
		const char *read;
		bool confusions;
		int edit;
		std::optional<MatchType> expect;
	} cases[] = {
		{"ABC1234", true, 1, MatchType::Exact},
		{"abc-1234", false, 0, MatchType::Exact},
		{"A8C1234", true, 0, MatchType::Confusion},
		{"A8C1234", false, 0, std::nullopt},
		{"ABCI23A", true, 0, std::nullopt},
		{"AB01234", true, 0, std::nullopt}, // C is not a confusable
		{"ABC234", true, 1, MatchType::MissingChar},
		{"ABC234", true, 0, std::nullopt},
		{"ABC12345", true, 1, MatchType::ExtraChar},
		{"A8C12345", true, 1, MatchType::ExtraChar},
		{"A8C12345", false, 1, std::nullopt},
		{"ABC12345", false, 1, MatchType::ExtraChar},
		{"ZXYZ89", true, 1, std::nullopt}, // substitution is not tolerated
		{"7XY289", true, 0, MatchType::Confusion},
		{"ZZZ9999", true, 1, std::nullopt},
	};
	for (const auto &c : cases) {
		auto hits = m->match(c.read, rules(c.confusions, c.edit), now);
		if (!c.expect) {
			EXPECT_TRUE(hits.empty()) << c.read;
			continue;
		}
		ASSERT_EQ(hits.size(), 1u) << c.read;
		EXPECT_EQ(hits[0].type, *c.expect) << c.read << " got " << match_type_name(hits[0].type);
		EXPECT_FALSE(hits[0].stale);
		EXPECT_TRUE(hits[0].publishable);
	}
	auto hits = m->match("7XYZ89", rules(), now);
	ASSERT_EQ(hits.size(), 1u);
	EXPECT_EQ(hits[0].entry.region, "NV");
	EXPECT_EQ(hits[0].entry.agency_ref, "OCA-2");
	EXPECT_EQ(hits[0].entry.category, "stolen");
}

TEST(HotlistMatch, ExpiryAndCategoryFilter)
{
	auto m = compile(kCsv, key());
	EXPECT_EQ(m->match("AMB3R1", rules(), at("2026-11-26T12:00:00Z")).size(), 1u);
	EXPECT_TRUE(m->match("AMB3R1", rules(), at("2026-11-27T00:00:00Z")).empty());
	auto r = rules();
	r.categories = {"stolen"}; // policy changed after install
	EXPECT_TRUE(m->match("AMB3R1", r, at("2026-11-26T12:00:00Z")).empty());
	EXPECT_EQ(m->match("ABC1234", r, at("2026-11-26T12:00:00Z")).size(), 1u);
}

TEST(HotlistMatch, StaleListMarksHitsAndHonoursPublishStale)
{
	auto m = compile(kCsv, key(), at("2026-11-20T00:00:00Z"));
	auto r = rules();
	const auto now = at("2026-11-26T00:00:00Z");
	EXPECT_EQ(m->age(now), 6 * 86400s);
	auto hits = m->match("ABC1234", r, now);
	ASSERT_EQ(hits.size(), 1u);
	EXPECT_TRUE(hits[0].stale);
	EXPECT_FALSE(hits[0].publishable);
	r.publish_stale = true;
	hits = m->match("ABC1234", r, now);
	ASSERT_EQ(hits.size(), 1u);
	EXPECT_TRUE(hits[0].publishable);
	r.max_age = 7 * 86400s;
	EXPECT_FALSE(m->match("ABC1234", r, now)[0].stale);
}

TEST(HotlistMatch, SameDigestOnTwoListsGivesTwoHits)
{
	const std::string csv = kCsv + "ABC1234,CA,amber,amber-alert,other,2026-11-25,,AA-10\n";
	auto m = compile(csv, key());
	auto hits = m->match("ABC1234", rules(), at("2026-11-26T12:00:00Z"));
	ASSERT_EQ(hits.size(), 2u);
	EXPECT_NE(hits[0].entry.list_id, hits[1].entry.list_id);
}

TEST(HotlistFile, SavedFormHasNoPlateTextAndNeedsTheKey)
{
	const auto k = key();
	auto m = compile(kCsv, k);
	auto bytes = m->save();
	ASSERT_TRUE(bytes);
	const std::string raw(bytes->begin(), bytes->end());
	for (const char *plate : {"ABC1234", "7XYZ89", "AMB3R1", "A8C1234"})
		EXPECT_EQ(raw.find(plate), std::string::npos) << plate;

	auto loaded = Matcher::load(*bytes, k);
	ASSERT_TRUE(loaded) << loaded.error().message;
	EXPECT_EQ((*loaded)->size(), 3u);
	EXPECT_EQ((*loaded)->info().id, "test");
	const auto now = at("2026-11-26T12:00:00Z");
	ASSERT_EQ((*loaded)->match("ABC234", rules(true, 1), now).size(), 1u);
	EXPECT_EQ((*loaded)->match("ABC234", rules(true, 1), now)[0].type, MatchType::MissingChar);

	auto wrong = Matcher::load(*bytes, key());
	ASSERT_FALSE(wrong);
	EXPECT_NE(wrong.error().message.find("another list key"), std::string::npos);

	auto tampered = *bytes;
	tampered[tampered.size() / 2] ^= 1;
	EXPECT_FALSE(Matcher::load(tampered, k));

	// A different key gives unrelated digests: the same list compiled twice differs.
	auto other = compile(kCsv, key());
	EXPECT_NE(other->key_id(), m->key_id());
}

} // namespace
} // namespace lethe::test

namespace lethe::test {
namespace {

TEST(HotlistStore, InstallsCompiledListWithoutPlaintextAndRefusesRollback)
{
	TempDir state;
	auto store = hotlist::HotlistStore::open(state.path());
	ASSERT_TRUE(store) << store.error().message;
	auto payload = hotlist::make_payload(
		{"ncic-ca", 3, hotlist::parse_utc("2026-11-26T00:00:00Z").value()}, kCsv);
	ASSERT_TRUE(payload);
	const auto now = hotlist::parse_utc("2026-11-26T12:00:00Z").value();
	auto il = (*store)->install(*payload, "hash", rules(), now);
	ASSERT_TRUE(il) << il.error().message;
	EXPECT_EQ(il->entries, 3u);
	auto m = (*store)->load("ncic-ca");
	ASSERT_TRUE(m) << m.error().message;
	EXPECT_EQ((*m)->match("ABC1234", rules(), now).size(), 1u);
	ASSERT_EQ((*store)->list().size(), 1u);
	EXPECT_EQ((*store)->list()[0].info.version, 3u);
	for (const auto &f : std::filesystem::recursive_directory_iterator(state.path())) {
		const auto bytes = read_file(f.path());
		for (const char *plate : {"ABC1234", "7XYZ89", "AMB3R1"})
			EXPECT_EQ(bytes.find(plate), std::string::npos) << f.path() << " " << plate;
	}
	auto again = (*store)->install(*payload, "hash", rules(), now);
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, -ESTALE);
	// A category the policy does not allow: refused, naming the payload line.
	auto r = rules();
	r.categories = {"stolen"};
	auto v4 = hotlist::make_payload(
		{"ncic-ca", 4, hotlist::parse_utc("2026-11-26T00:00:00Z").value()}, kCsv);
	auto refused = (*store)->install(*v4, "hash", r, now);
	ASSERT_FALSE(refused);
	EXPECT_EQ(refused.error().code, -EPERM);
	EXPECT_NE(refused.error().message.find("CSV line 5:"), std::string::npos)
		<< refused.error().message;
	// A reopened store (same list key file) still loads it.
	auto reopened = hotlist::HotlistStore::open(state.path());
	ASSERT_TRUE(reopened);
	EXPECT_TRUE((*reopened)->load_all());
}

/// A v`version` payload of list ncic-ca, generated at `generated`.
std::string ncic_payload(std::uint64_t version, const char *generated = "2026-11-26T00:00:00Z")
{
	auto p = hotlist::make_payload({"ncic-ca", version, at(generated)}, kCsv);
	EXPECT_TRUE(p) << p.error().message;
	return *p;
}

TEST(HotlistStore, RollbackMemorySurvivesDeletedMetadataAndVersionsFile)
{
	// Red team (issue 15.7): the version high-water mark lived only in the unsigned <id>.json;
	// deleting it let v1 install over v5.
	TempDir state;
	const auto dir = state.path() / "hotlists";
	const auto now = at("2026-11-26T12:00:00Z");
	auto store = hotlist::HotlistStore::open(state.path());
	ASSERT_TRUE(store) << store.error().message;
	ASSERT_TRUE((*store)->install(ncic_payload(5), "h5", rules(), now));
	EXPECT_EQ((*store)->highest_version("ncic-ca"), 5u);

	std::filesystem::remove(dir / "ncic-ca.json");
	auto r = (*store)->install(ncic_payload(1), "h1", rules(), now);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, -ESTALE) << r.error().message;

	// The versions file too: rebuilt from the sealed list when the store is opened.
	std::filesystem::remove(dir / "versions");
	store = hotlist::HotlistStore::open(state.path());
	ASSERT_TRUE(store) << store.error().message;
	EXPECT_TRUE(std::filesystem::exists(dir / "versions"));
	r = (*store)->install(ncic_payload(1), "h1", rules(), now);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, -ESTALE) << r.error().message;

	// Every trace of the list but the key: nothing says which versions were installed, so
	// nothing installs (neither the old v1 nor a v6) until the versions file is restored.
	const std::string versions = read_file(dir / "versions");
	for (const char *f : {"ncic-ca.lhl", "ncic-ca.json", "versions"})
		std::filesystem::remove(dir / f);
	store = hotlist::HotlistStore::open(state.path());
	ASSERT_TRUE(store) << store.error().message;
	for (std::uint64_t v : {1u, 6u}) {
		r = (*store)->install(ncic_payload(v), "h", rules(), now);
		ASSERT_FALSE(r) << v;
		EXPECT_EQ(r.error().code, -ESTALE);
		EXPECT_NE(r.error().message.find("rollback memory"), std::string::npos)
			<< r.error().message;
	}
	EXPECT_FALSE(std::filesystem::exists(dir / "ncic-ca.lhl"));
	write_file(dir / "versions", versions);
	store = hotlist::HotlistStore::open(state.path());
	ASSERT_TRUE(store);
	EXPECT_FALSE((*store)->install(ncic_payload(5), "h", rules(), now));
	EXPECT_TRUE((*store)->install(ncic_payload(6), "h", rules(), now));
}

TEST(HotlistStore, GeneratedInTheFutureIsRefused)
{
	// Red team (issue 15.6): a list "generated" in 2199 installed with a negative age and was
	// never stale.
	TempDir state;
	auto store = hotlist::HotlistStore::open(state.path());
	ASSERT_TRUE(store) << store.error().message;
	const auto now = at("2026-11-26T12:00:00Z");
	auto r = (*store)->install(ncic_payload(1, "2199-01-01T00:00:00Z"), "h", rules(), now);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, -EINVAL);
	EXPECT_NE(r.error().message.find("in the future"), std::string::npos) << r.error().message;
	EXPECT_TRUE((*store)->list().empty());
	EXPECT_EQ((*store)->highest_version("ncic-ca"), 0u);
	// An hour ahead is not clock skew either; five minutes is.
	EXPECT_FALSE((*store)->install(ncic_payload(1, "2026-11-26T13:00:00Z"), "h", rules(), now));
	auto ok = (*store)->install(ncic_payload(1, "2026-11-26T12:05:00Z"), "h", rules(), now);
	EXPECT_TRUE(ok) << ok.error().message;
}

} // namespace
} // namespace lethe::test

namespace lethe::test {
namespace {

TEST(HotlistMatch, DigestIsTruncatedHmacSha256UnderTheListKey)
{
	const auto k = key();
	auto m = compile(kCsv, k);
	const std::string msg = std::string("C") + '\0' + "A8C1234";
	const auto full = crypto::hmac_sha256(k, msg.data(), msg.size());
	std::uint64_t want = 0;
	std::memcpy(&want, full.data(), sizeof(want));
	EXPECT_EQ(m->digest_for_test('C', "A8C1234"), want);
	EXPECT_NE(m->digest_for_test('C', "A8C1234"), m->digest_for_test('E', "A8C1234"));
}

} // namespace
} // namespace lethe::test
