// SPDX-License-Identifier: GPL-3.0-or-later
// Policy store on a real state directory with real keys: refusals change nothing, rollback is
// remembered, several policies compose strictest-wins, tampering falls back to strictest().
#include <gtest/gtest.h>

#include <map>

#include "lethe/common/crypto.h"
#include "lethe/policy/parse.h"
#include "lethe/policy/store.h"
#include "support/temp_dir.h"

namespace lethe::policy {
namespace {

using test::TempDir;
using namespace std::chrono_literals;

const TimePoint kNow = *parse_utc("2026-06-01T12:00:00Z");

struct Spec {
	std::string id = "agency-x";
	int version = 1;
	std::string not_before = "2026-01-01T00:00:00Z";
	std::string not_after = "2027-01-01T00:00:00Z";
	std::string nonhit = "21d", hit = "30d", image = "7d", outbox = "2d";
	std::string audit = "2y", audit_min = "1y", rotation = "1d", max_age = "24h";
	bool retro = true, stale = true, confusions = true, pa_only = false;
	int edit = 1;
	std::string categories = R"(["stolen-vehicle", "amber-alert", "wanted-person"])";
	std::string recipients = R"(
[[recipients]]
name = "fusion"
broker = "mqtt.example.gov:8883"
topics = ["lethe/hits", "lethe/urgent"]
purpose = "investigations"
public_agency = true

[[recipients]]
name = "vendor"
broker = "vendor.example.com:8883"
topics = ["hits"]
purpose = "analytics"
public_agency = false
)";
	std::string extra;
	std::string jurisdiction = "test";

	[[nodiscard]] std::string toml() const
	{
		auto b = [](bool v) { return v ? "true" : "false"; };
		return "id = \"" + id + "\"\nversion = " + std::to_string(version) +
		       "\nissuer = \"officer\"\njurisdiction = \"" + jurisdiction +
		       "\"\nnot_before = " + not_before +
		       "\nnot_after = " + not_after + "\nretro_hit_queries = " + b(retro) +
		       "\npublic_agencies_only = " + b(pa_only) + "\n" + extra +
		       "\n[retention]\nnonhit_digest = \"" + nonhit + "\"\nhit_record = \"" + hit +
		       "\"\nhit_image = \"" + image + "\"\noutbox = \"" + outbox +
		       "\"\naudit_log = \"" + audit + "\"\naudit_log_minimum = \"" + audit_min +
		       "\"\nkey_rotation = \"" + rotation + "\"\n\n[hotlist]\nmax_age = \"" + max_age +
		       "\"\npublish_stale = " + b(stale) + "\ncategories = " + categories +
		       "\nmatch_confusions = " + b(confusions) +
		       "\nmax_edit_distance = " + std::to_string(edit) + "\n" + recipients;
	}
};

Policy parsed(const Spec &s)
{
	auto p = parse_policy(s.toml(), s.id);
	EXPECT_TRUE(p.ok()) << p.error().message;
	return *p;
}

/// Every file under a directory with its content: to prove a refusal changed nothing.
std::map<std::string, std::string> snapshot(const std::filesystem::path &dir)
{
	std::map<std::string, std::string> out;
	for (const auto &e : std::filesystem::recursive_directory_iterator(dir))
		if (e.is_regular_file())
			out[e.path().lexically_relative(dir).string()] = test::read_file(e.path());
	return out;
}

class StoreTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		auto k = crypto::ed25519_generate();
		ASSERT_TRUE(k.ok());
		officer_ = *k;
		test::write_file(trust_ / "officer.pub", officer_.public_pem);
		auto s = PolicyStore::create(state_.path());
		ASSERT_TRUE(s.ok()) << s.error().message;
		store_ = std::move(*s);
	}
	std::string sign(const Spec &s, std::string_view kind = "policy")
	{
		auto b = sign_bundle(kind, s.toml(), officer_.private_pem, kNow - 1h);
		EXPECT_TRUE(b.ok());
		return *b;
	}

	TempDir trust_, state_;
	crypto::Ed25519KeyPair officer_;
	std::unique_ptr<PolicyStore> store_;
};

TEST_F(StoreTest, NothingInstalledMeansStrictest)
{
	auto e = store_->effective(trust_.path(), kNow);
	EXPECT_TRUE(e.fallback);
	EXPECT_EQ(e.policy.id, strictest().id);
	EXPECT_TRUE(e.policy.recipients.empty());
	EXPECT_EQ(e.policy.retention.nonhit_digest, 0s);

	TempDir nowhere;
	auto l = load_effective(nowhere / "no-such-state", trust_.path(), kNow);
	EXPECT_TRUE(l.fallback);
	EXPECT_EQ(l.policy.id, strictest().id);
	EXPECT_FALSE(std::filesystem::exists(nowhere / "no-such-state"));
}

TEST_F(StoreTest, InstallThenEffectiveAndList)
{
	Spec s;
	s.version = 3;
	const auto bundle = sign(s);
	auto r = store_->install(bundle, trust_.path(), kNow);
	ASSERT_TRUE(r.ok()) << r.refusal().describe();
	EXPECT_EQ(r->hash, crypto::to_hex(crypto::sha256(bundle)));
	EXPECT_EQ(r->key_id, *crypto::ed25519_key_id(officer_.public_pem));

	EXPECT_EQ(test::read_file(state_ / "policies/agency-x.bundle"), bundle);
	EXPECT_EQ(store_->highest_version("agency-x"), 3u);

	auto e = load_effective(state_.path(), trust_.path(), kNow);
	EXPECT_FALSE(e.fallback) << e.why;
	EXPECT_EQ(e.policy.id, "agency-x");
	EXPECT_EQ(e.policy.version, 3u);
	EXPECT_EQ(e.policy.hash, r->hash);
	EXPECT_EQ(e.policy.retention.nonhit_digest, 21 * 24h);
	ASSERT_EQ(e.installed.size(), 1u);
	EXPECT_TRUE(e.installed[0].in_force);
	EXPECT_EQ(e.installed[0].version, 3u);
	EXPECT_EQ(e.installed[0].hash, r->hash);
	ASSERT_EQ(e.policy.sources.size(), 1u);
	EXPECT_EQ(e.policy.sources[0].version, 3u);

	// Upgrade replaces it.
	s.version = 4;
	s.nonhit = "1d";
	ASSERT_TRUE(store_->install(sign(s), trust_.path(), kNow).ok());
	e = load_effective(state_.path(), trust_.path(), kNow);
	EXPECT_EQ(e.policy.version, 4u);
	EXPECT_EQ(e.policy.retention.nonhit_digest, 24h);
	EXPECT_EQ(e.installed.size(), 1u);

	// Once it expires, the device falls back to strictest().
	e = load_effective(state_.path(), trust_.path(), *parse_utc("2027-01-01T00:00:00Z"));
	EXPECT_TRUE(e.fallback);
	EXPECT_EQ(e.policy.id, strictest().id);
	EXPECT_FALSE(e.installed[0].in_force);
}

TEST_F(StoreTest, EveryRefusalHasItsReasonAndChangesNothing)
{
	Spec good;
	good.version = 5;
	ASSERT_TRUE(store_->install(sign(good), trust_.path(), kNow).ok());
	const auto before = snapshot(state_.path());
	const auto effective_before = store_->effective(trust_.path(), kNow).policy.hash;

	auto attacker = crypto::ed25519_generate();
	ASSERT_TRUE(attacker.ok());
	Spec next = good;
	next.version = 6;
	next.nonhit = "10y"; // what an attacker would want
	const std::string valid_next = sign(next);

	struct Case {
		std::string name;
		std::string bundle;
		Reason reason;
	};
	std::vector<Case> cases;
	{ // forged: trusted key id, attacker's signature
		auto b = sign_bundle("policy", next.toml(), attacker->private_pem, kNow);
		std::string f = *b;
		const auto aid = *crypto::ed25519_key_id(attacker->public_pem);
		f.replace(f.find(aid), aid.size(), *crypto::ed25519_key_id(officer_.public_pem));
		cases.push_back({"forged signature", f, Reason::BadSignature});
	}
	cases.push_back({"untrusted key", *sign_bundle("policy", next.toml(), attacker->private_pem, kNow),
			 Reason::UntrustedKey});
	cases.push_back({"truncated", valid_next.substr(0, valid_next.size() / 2), Reason::Truncated});
	{
		std::string f = valid_next;
		f[f.find("nonhit_digest") + 2] ^= 0x01;
		cases.push_back({"flipped byte", f, Reason::BadSignature});
	}
	cases.push_back({"missing signature", valid_next.substr(0, valid_next.rfind("signature: ")),
			 Reason::MissingSignature});
	cases.push_back({"garbage", "hello\n", Reason::Malformed});
	cases.push_back({"wrong kind", sign(next, "hotlist"), Reason::WrongKind});
	{
		Spec bad = next;
		bad.extra = "retention_note = \"x\"\n";
		cases.push_back({"unknown field", sign(bad), Reason::InvalidPayload});
		bad = next;
		bad.outbox = "soon";
		cases.push_back({"malformed field", sign(bad), Reason::InvalidPayload});
	}
	{
		Spec s = next;
		s.not_before = "2025-01-01T00:00:00Z";
		s.not_after = "2026-06-01T12:00:00Z"; // == now: expired
		cases.push_back({"expired", sign(s), Reason::Expired});
		s = next;
		s.not_before = "2026-06-01T12:00:01Z";
		cases.push_back({"not yet valid", sign(s), Reason::NotYetValid});
	}
	{
		Spec s = next;
		s.version = 5;
		cases.push_back({"same version", sign(s), Reason::Rollback});
		s.version = 4;
		cases.push_back({"older version", sign(s), Reason::Rollback});
	}
	{
		auto b = sign_bundle("policy", next.toml(), officer_.private_pem, kNow + 1h);
		cases.push_back({"signed in future", *b, Reason::SignedInFuture});
	}

	for (const auto &c : cases) {
		auto r = store_->install(c.bundle, trust_.path(), kNow);
		ASSERT_FALSE(r.ok()) << c.name << " was installed";
		EXPECT_EQ(r.reason(), c.reason)
			<< c.name << ": " << r.refusal().describe() << " (want "
			<< reason_name(c.reason) << ")";
		EXPECT_FALSE(r.refusal().message.empty());
		EXPECT_EQ(snapshot(state_.path()), before) << c.name << " changed the state";
		EXPECT_EQ(store_->effective(trust_.path(), kNow).policy.hash, effective_before);
	}
	// The untampered next version is still accepted.
	EXPECT_TRUE(store_->install(valid_next, trust_.path(), kNow).ok());
	EXPECT_NE(snapshot(state_.path()), before);
}

TEST_F(StoreTest, RollbackRememberedAcrossRemovalAndCrash)
{
	Spec s;
	s.version = 3;
	const auto v3 = sign(s);
	s.version = 2;
	const auto v2 = sign(s);
	ASSERT_TRUE(store_->install(v3, trust_.path(), kNow).ok());
	ASSERT_TRUE(store_->remove("agency-x").ok());
	EXPECT_FALSE(std::filesystem::exists(state_ / "policies/agency-x.bundle"));
	EXPECT_TRUE(load_effective(state_.path(), trust_.path(), kNow).fallback);
	auto r = store_->install(v2, trust_.path(), kNow);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.reason(), Reason::Rollback);
	r = store_->install(v3, trust_.path(), kNow);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.reason(), Reason::Rollback);

	// A crash after the bundle was written but before the versions file: still remembered.
	s.version = 7;
	ASSERT_TRUE(store_->install(sign(s), trust_.path(), kNow).ok());
	std::filesystem::remove(state_ / "policies/versions");
	s.version = 6;
	r = store_->install(sign(s), trust_.path(), kNow);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.reason(), Reason::Rollback);
	// Ids are names, never paths.
	EXPECT_FALSE(store_->remove("../versions").ok());
	EXPECT_TRUE(std::filesystem::exists(state_ / "policies/versions") ||
		    std::filesystem::exists(state_ / "policies/agency-x.bundle"));
	// A different policy id has its own counter.
	Spec other;
	other.id = "state-law";
	other.version = 1;
	EXPECT_TRUE(store_->install(sign(other), trust_.path(), kNow).ok());
}

TEST_F(StoreTest, TamperedOrRevokedInstallFallsBackToStrictest)
{
	Spec s;
	s.version = 2;
	const auto v2 = sign(s);
	s.version = 3;
	ASSERT_TRUE(store_->install(sign(s), trust_.path(), kNow).ok());
	ASSERT_FALSE(load_effective(state_.path(), trust_.path(), kNow).fallback);
	const auto file = state_ / "policies/agency-x.bundle";
	const auto good = test::read_file(file);

	// Edited in place.
	std::string t = good;
	t.replace(t.find("nonhit_digest = \"21d\""), 21, "nonhit_digest = \"9y\" ");
	test::write_file(file, t);
	auto e = load_effective(state_.path(), trust_.path(), kNow);
	EXPECT_TRUE(e.fallback);
	EXPECT_EQ(e.policy.id, strictest().id);
	EXPECT_NE(e.why.find("bad-signature"), std::string::npos) << e.why;

	// Replaced by an older, genuinely signed version.
	test::write_file(file, v2);
	e = load_effective(state_.path(), trust_.path(), kNow);
	EXPECT_TRUE(e.fallback);
	EXPECT_NE(e.why.find("rollback"), std::string::npos) << e.why;

	// Key no longer trusted.
	test::write_file(file, good);
	ASSERT_FALSE(load_effective(state_.path(), trust_.path(), kNow).fallback);
	std::filesystem::remove(trust_ / "officer.pub");
	e = load_effective(state_.path(), trust_.path(), kNow);
	EXPECT_TRUE(e.fallback);
	EXPECT_NE(e.why.find("untrusted-key"), std::string::npos) << e.why;
}

TEST(PolicyCompose, StrictestWinsFieldByField)
{
	Spec a; // agency
	a.id = "agency";
	a.version = 4;
	Spec b; // state law
	b.id = "state";
	b.version = 2;
	b.not_before = "2026-02-01T00:00:00Z";
	b.not_after = "2026-12-01T00:00:00Z";
	b.nonhit = "3min";
	b.hit = "60d";
	b.image = "1d";
	b.outbox = "3d";
	b.audit = "1y";
	b.audit_min = "3y"; // Minnesota-style minimum beats a's shorter audit_log
	b.audit = "3y";
	b.rotation = "1h";
	b.max_age = "48h";
	b.stale = false;
	b.confusions = true;
	b.edit = 0;
	b.retro = false;
	b.pa_only = true;
	b.categories = R"(["wanted-person", "stolen-vehicle", "terror"])";
	b.recipients = R"(
[[recipients]]
name = "fusion"
broker = "mqtt.example.gov:8883"
topics = ["lethe/urgent", "other"]
purpose = "state law purpose"
public_agency = true

[[recipients]]
name = "vendor"
broker = "vendor.example.com:8883"
topics = ["hits"]
purpose = "analytics"
public_agency = true
)";
	// public_agencies_only with a vendor claimed public: parse rejects a=false only within
	// the same policy; here a says vendor is not public, so composition must drop it.
	const Policy pa = parsed(a), pb = parsed(b);
	const Policy c = compose({pa, pb});

	EXPECT_EQ(c.id, "agency+state");
	EXPECT_EQ(c.version, 6u);
	ASSERT_EQ(c.sources.size(), 2u);
	EXPECT_EQ(format_utc(c.not_before), "2026-02-01T00:00:00Z");
	EXPECT_EQ(format_utc(c.not_after), "2026-12-01T00:00:00Z");
	EXPECT_EQ(c.retention.nonhit_digest, 3min);
	EXPECT_EQ(c.retention.hit_record, 30 * 24h);
	EXPECT_EQ(c.retention.hit_image, 24h);
	EXPECT_EQ(c.retention.outbox, 48h);
	EXPECT_EQ(c.retention.audit_log_minimum, 3 * 365 * 24h);
	EXPECT_EQ(c.retention.audit_log, 3 * 365 * 24h); // min(2y, 3y) raised to the 3y minimum
	EXPECT_EQ(c.retention.key_rotation, 1h);
	EXPECT_EQ(c.hotlist.max_age, 24h);
	EXPECT_FALSE(c.hotlist.publish_stale);
	EXPECT_EQ(c.hotlist.categories, (std::vector<std::string>{"stolen-vehicle", "wanted-person"}));
	EXPECT_TRUE(c.hotlist.match_confusions);
	EXPECT_EQ(c.hotlist.max_edit_distance, 0);
	EXPECT_FALSE(c.retro_hit_queries);
	EXPECT_TRUE(c.public_agencies_only);
	ASSERT_EQ(c.recipients.size(), 1u);
	EXPECT_EQ(c.recipients[0].name, "fusion");
	EXPECT_EQ(c.recipients[0].topics, std::vector<std::string>{"lethe/urgent"});
	EXPECT_EQ(c.recipients[0].purpose, "investigations / state law purpose");

	// Order does not matter; composing with strictest() gives strictest values.
	EXPECT_EQ(compose({pb, pa}).hash, c.hash);
	const Policy s = compose({pa, pb, strictest()});
	EXPECT_EQ(s.retention.nonhit_digest, 0s);
	EXPECT_TRUE(s.recipients.empty());
	EXPECT_TRUE(s.hotlist.categories.empty());
	// One policy is itself; none is strictest().
	EXPECT_EQ(compose({pa}).id, "agency");
	EXPECT_EQ(compose({}).id, strictest().id);

	// A recipient whose topics do not overlap disappears.
	Spec d = a;
	d.id = "disjoint";
	d.recipients = R"(
[[recipients]]
name = "fusion"
broker = "mqtt.example.gov:8883"
topics = ["elsewhere"]
purpose = "p"
public_agency = true
)";
	EXPECT_TRUE(compose({pa, parsed(d)}).recipients.empty());
}

TEST_F(StoreTest, BundleAboveItsJurisdictionsCapIsRefusedAndChangesNothing)
{
	// Red team (issue 15.10): a bundle signed outside `lethe policy sign` (which parses, and
	// so refuses, it) with jurisdiction US-NH and ten years of non-hit digests installed.
	Spec s;
	s.jurisdiction = "US-NH";
	s.nonhit = "10y";
	s.retro = false;
	const auto before = snapshot(state_.path());
	auto r = store_->install(sign(s), trust_.path(), kNow);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.reason(), Reason::InvalidPayload);
	EXPECT_NE(r.refusal().message.find("US-NH law allows"), std::string::npos)
		<< r.refusal().message;
	EXPECT_EQ(snapshot(state_.path()), before);
	EXPECT_EQ(store_->highest_version("agency-x"), 0u);
	s.nonhit = "180s";
	EXPECT_TRUE(store_->install(sign(s), trust_.path(), kNow).ok());
}

TEST_F(StoreTest, TrustDirectoryOrKeyAnyoneCouldWriteIsRefused)
{
	// Red team (issue 15.9): a 0777 trust directory, a 0666 key and a symlink to a key outside
	// the directory were all accepted, and their keys then verified bundles.
	Spec s;
	const auto bundle = sign(s);
	const auto before = snapshot(state_.path());
	const auto expect_refused = [&](const char *what, Reason reason) {
		auto r = store_->install(bundle, trust_.path(), kNow);
		ASSERT_FALSE(r.ok()) << what;
		EXPECT_EQ(r.reason(), reason) << what << ": " << r.refusal().message;
		EXPECT_EQ(snapshot(state_.path()), before) << what;
	};
	const auto mode = [](const std::filesystem::path &p, std::filesystem::perms m) {
		std::filesystem::permissions(p, m);
	};
	using std::filesystem::perms;
	mode(trust_.path(), perms::all);
	expect_refused("0777 trust directory", Reason::UntrustedKey);
	mode(trust_.path(), perms::owner_all | perms::group_read | perms::group_exec);
	mode(trust_ / "officer.pub", perms::owner_read | perms::owner_write | perms::group_read |
					     perms::group_write | perms::others_read |
					     perms::others_write);
	expect_refused("0666 key", Reason::UntrustedKey);

	// The key itself elsewhere (0644), reached by a symlink out of the trust directory.
	TempDir elsewhere;
	std::filesystem::rename(trust_ / "officer.pub", elsewhere / "officer.pub");
	mode(elsewhere / "officer.pub", perms::owner_read | perms::owner_write | perms::group_read |
						perms::others_read);
	std::filesystem::create_symlink(elsewhere / "officer.pub", trust_ / "officer.pub");
	expect_refused("symlink out of the directory", Reason::UntrustedKey);

	// A symlink within the directory to a well-kept key is fine, as is the plain file.
	std::filesystem::remove(trust_ / "officer.pub");
	std::filesystem::copy_file(elsewhere / "officer.pub", trust_ / "officer.key-2026");
	std::filesystem::create_symlink("officer.key-2026", trust_ / "officer.pub");
	auto ok = store_->install(bundle, trust_.path(), kNow);
	EXPECT_TRUE(ok.ok()) << ok.refusal().message;
}

TEST_F(StoreTest, ClockSetBackAfterAnInstallRevivesNoExpiredBundle)
{
	// Red team (issue 15.8): validity windows were judged on the wall clock alone. An install
	// at kNow (2026-06-01) leaves a floor; a bundle that expired on 2026-03-01 is refused even
	// when the clock then says February, and the version counter is not burnt.
	Spec a;
	ASSERT_TRUE(store_->install(sign(a), trust_.path(), kNow).ok());
	EXPECT_EQ(store_->time_floor(), kNow);
	const auto set_back = *parse_utc("2026-02-01T00:00:00Z");
	Spec b;
	b.id = "state";
	b.not_after = "2026-03-01T00:00:00Z";
	const auto bundle = sign_bundle("policy", b.toml(), officer_.private_pem, set_back - 1h);
	ASSERT_TRUE(bundle.ok());
	const auto before = snapshot(state_.path());
	auto r = store_->install(*bundle, trust_.path(), set_back);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.reason(), Reason::Expired) << r.refusal().message;
	EXPECT_EQ(snapshot(state_.path()), before);
	EXPECT_EQ(store_->highest_version("state"), 0u);
	// Nor is an installed policy that has expired by the floor counted in force.
	Spec c;
	c.id = "short";
	c.not_after = "2026-07-01T00:00:00Z";
	ASSERT_TRUE(store_->install(sign(c), trust_.path(), kNow).ok());
	Spec late;
	late.id = "late";
	ASSERT_TRUE(store_->install(sign(late), trust_.path(), *parse_utc("2026-08-01T00:00:00Z"))
			    .ok());
	for (const auto &ip : store_->list(trust_.path(), kNow)) {
		if (ip.id == "short") {
			EXPECT_FALSE(ip.in_force) << "expired by the floor (2026-08-01)";
		}
	}
}

TEST_F(StoreTest, TwoPoliciesInForceCompose)
{
	Spec a;
	a.id = "agency";
	Spec b;
	b.id = "state";
	b.nonhit = "3min";
	b.retro = false;
	ASSERT_TRUE(store_->install(sign(a), trust_.path(), kNow).ok());
	ASSERT_TRUE(store_->install(sign(b), trust_.path(), kNow).ok());
	auto e = load_effective(state_.path(), trust_.path(), kNow);
	EXPECT_FALSE(e.fallback);
	EXPECT_EQ(e.policy.id, "agency+state");
	EXPECT_EQ(e.policy.retention.nonhit_digest, 3min);
	EXPECT_FALSE(e.policy.retro_hit_queries);
	EXPECT_EQ(e.installed.size(), 2u);
	// Once the state policy expires only the agency's remains in force.
	Spec b2 = b;
	b2.version = 2;
	b2.not_after = "2026-07-01T00:00:00Z";
	ASSERT_TRUE(store_->install(sign(b2), trust_.path(), kNow).ok());
	e = load_effective(state_.path(), trust_.path(), *parse_utc("2026-08-01T00:00:00Z"));
	EXPECT_FALSE(e.fallback);
	EXPECT_EQ(e.policy.id, "agency");
}

} // namespace
} // namespace lethe::policy
