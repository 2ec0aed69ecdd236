// SPDX-License-Identifier: GPL-3.0-or-later
// Policy TOML parsing: a valid file, presets, and an error naming the field for every bad value.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <tuple>

#include <nlohmann/json.hpp>

#include "lethe/policy/bundle.h"
#include "lethe/policy/parse.h"
#include "support/temp_dir.h"

namespace lethe::policy {
namespace {

using namespace std::chrono_literals;

const std::string kValid = R"(id = "agency-x"
version = 7
issuer = "Privacy Officer X"
jurisdiction = "US-ME"
legal_basis = "29-A M.R.S. 2117-A"
not_before = 2026-01-01T00:00:00Z
not_after = 2027-01-01T00:00:00+01:00
retro_hit_queries = true
public_agencies_only = false

[retention]
nonhit_digest = "21d"
hit_record = "30d"
hit_image = "1w"
outbox = "1h30min"
audit_log = "2y"
audit_log_minimum = "1y"
key_rotation = 3600

[hotlist]
max_age = "24h"
publish_stale = false
categories = ["stolen-vehicle", "amber-alert"]
match_confusions = true
max_edit_distance = 1

[[recipients]]
name = "fusion"
broker = "mqtt.example.gov:8883"
topics = ["lethe/hits", "lethe/hits/urgent"]
purpose = "investigations"
public_agency = true

[[recipients]]
name = "v6"
broker = "[::1]:1883"
topics = ["x"]
purpose = "test"
public_agency = false
)";

TEST(PolicyParse, ValidPolicyHasEveryField)
{
	auto p = parse_policy(kValid, "x.toml");
	ASSERT_TRUE(p.ok()) << p.error().message;
	EXPECT_EQ(p->id, "agency-x");
	EXPECT_EQ(p->version, 7u);
	EXPECT_EQ(p->issuer, "Privacy Officer X");
	EXPECT_EQ(p->jurisdiction, "US-ME");
	EXPECT_EQ(p->legal_basis, "29-A M.R.S. 2117-A");
	EXPECT_EQ(format_utc(p->not_before), "2026-01-01T00:00:00Z");
	EXPECT_EQ(format_utc(p->not_after), "2026-12-31T23:00:00Z"); // +01:00 offset applied
	EXPECT_TRUE(p->retro_hit_queries);
	EXPECT_FALSE(p->public_agencies_only);
	EXPECT_EQ(p->retention.nonhit_digest, Seconds{21 * 86400});
	EXPECT_EQ(p->retention.hit_record, Seconds{30 * 86400});
	EXPECT_EQ(p->retention.hit_image, Seconds{7 * 86400});
	EXPECT_EQ(p->retention.outbox, Seconds{5400});
	EXPECT_EQ(p->retention.audit_log, Seconds{2 * 365 * 86400});
	EXPECT_EQ(p->retention.audit_log_minimum, Seconds{365 * 86400});
	EXPECT_EQ(p->retention.key_rotation, Seconds{3600});
	EXPECT_EQ(p->hotlist.max_age, Seconds{86400});
	EXPECT_FALSE(p->hotlist.publish_stale);
	EXPECT_EQ(p->hotlist.categories, (std::vector<std::string>{"stolen-vehicle", "amber-alert"}));
	EXPECT_TRUE(p->hotlist.match_confusions);
	EXPECT_EQ(p->hotlist.max_edit_distance, 1);
	ASSERT_EQ(p->recipients.size(), 2u);
	EXPECT_EQ(p->recipients[0].name, "fusion");
	EXPECT_EQ(p->recipients[0].broker, "mqtt.example.gov:8883");
	EXPECT_EQ(p->recipients[0].topics.size(), 2u);
	EXPECT_EQ(p->recipients[0].purpose, "investigations");
	EXPECT_TRUE(p->recipients[0].public_agency);
	EXPECT_FALSE(p->recipients[1].public_agency);
	EXPECT_TRUE(p->hash.empty());

	const auto j = to_json(*p);
	EXPECT_EQ(j["retention_seconds"]["outbox"], 5400);
	EXPECT_EQ(j["recipients"][1]["broker"], "[::1]:1883");
}

TEST(PolicyParse, Durations)
{
	EXPECT_EQ(*parse_duration("0"), Seconds{0});
	EXPECT_EQ(*parse_duration("0s"), Seconds{0});
	EXPECT_EQ(*parse_duration("3min"), Seconds{180});
	EXPECT_EQ(*parse_duration("1h30min"), Seconds{5400});
	EXPECT_EQ(*parse_duration("1d12h"), Seconds{129600});
	EXPECT_EQ(*parse_duration("2w"), Seconds{14 * 86400});
	EXPECT_EQ(*parse_duration("2y"), Seconds{2 * 365 * 86400});
	for (const char *bad : {"", "m", "min", "3", "3M", "3MIN", "-3min", "3min3min", "1.5h", " 3min",
				"3 min", "3mi", "3mins", "3mo", "3ms", "99999999999999y"})
		EXPECT_FALSE(parse_duration(bad).ok()) << bad;
	for (long long s : {0LL, 1LL, 59LL, 60LL, 61LL, 3600LL, 86400LL, 90061LL, 400LL * 86400,
			    365LL * 86400 + 61})
		EXPECT_EQ(*parse_duration(format_duration(Seconds{s})), Seconds{s}) << s;
	EXPECT_EQ(format_duration(Seconds{5400}), "1h30min");
}

// "6m" meant six months would be six minutes: a bare m is refused, and the message gives both
// readings so that nobody has to guess which one the file meant.
TEST(PolicyParse, BareMinuteUnitIsRefusedAsAmbiguous)
{
	for (const char *text : {"6m", "1h6m", "6m30s"}) {
		auto r = parse_duration(text);
		ASSERT_FALSE(r.ok()) << text;
		EXPECT_EQ(r.error().message, "ambiguous unit \"m\": write \"6min\" for minutes or "
					     "\"180d\" for about 6 months")
			<< text;
	}
}

struct Bad {
	std::string find;    ///< text in kValid to replace (first occurrence)
	std::string replace; ///< what to put there
	std::string field;   ///< the field the error must name
};

TEST(PolicyParse, EveryMalformedFieldIsNamedWithItsLine)
{
	const std::vector<Bad> cases = {
		{"id = \"agency-x\"", "id = \"Agency X\"", "id"},
		{"id = \"agency-x\"", "id = 5", "id"},
		{"id = \"agency-x\"", "id = \"\"", "id"},
		{"version = 7", "version = 0", "version"},
		{"version = 7", "version = -1", "version"},
		{"version = 7", "version = \"7\"", "version"},
		{"version = 7", "version = 9007199254740992", "version"},
		{"issuer = \"Privacy Officer X\"", "issuer = \"\"", "issuer"},
		{"issuer = \"Privacy Officer X\"", "issuer = \"a\\u0007b\"", "issuer"},
		{"jurisdiction = \"US-ME\"", "jurisdiction = true", "jurisdiction"},
		{"legal_basis = \"29-A M.R.S. 2117-A\"", "legal_basis = 3", "legal_basis"},
		{"not_before = 2026-01-01T00:00:00Z", "not_before = 2026-01-01T00:00:00", "not_before"},
		{"not_before = 2026-01-01T00:00:00Z", "not_before = 2026-01-01", "not_before"},
		{"not_before = 2026-01-01T00:00:00Z", "not_before = \"2026-01-01T00:00:00Z\"",
		 "not_before"},
		{"not_before = 2026-01-01T00:00:00Z", "not_before = 2027-06-01T00:00:00Z", "not_after"},
		{"not_after = 2027-01-01T00:00:00+01:00", "not_after = 2045-01-01T00:00:00Z",
		 "not_after"},
		{"retro_hit_queries = true", "retro_hit_queries = \"yes\"", "retro_hit_queries"},
		{"public_agencies_only = false", "public_agencies_only = 1", "public_agencies_only"},
		{"public_agencies_only = false", "public_agencies_only = true",
		 "recipients[1].public_agency"},
		{"nonhit_digest = \"21d\"", "nonhit_digest = \"21 days\"", "retention.nonhit_digest"},
		{"nonhit_digest = \"21d\"", "nonhit_digest = \"11y\"", "retention.nonhit_digest"},
		{"nonhit_digest = \"21d\"", "nonhit_digest = -5", "retention.nonhit_digest"},
		{"hit_record = \"30d\"", "hit_record = 1.5", "retention.hit_record"},
		{"hit_record = \"30d\"", "hit_record = \"1d\"", "retention.hit_image"},
		{"hit_image = \"1w\"", "hit_image = \"x\"", "retention.hit_image"},
		{"outbox = \"1h30min\"", "outbox = \"1h30\"", "retention.outbox"},
		{"audit_log = \"2y\"", "audit_log = \"6m\"", "retention.audit_log"},
		{"audit_log_minimum = \"1y\"", "audit_log_minimum = false",
		 "retention.audit_log_minimum"},
		{"key_rotation = 3600", "key_rotation = 10", "retention.key_rotation"},
		{"key_rotation = 3600", "key_rotation = \"2y\"", "retention.key_rotation"},
		{"max_age = \"24h\"", "max_age = \"2y\"", "hotlist.max_age"},
		{"publish_stale = false", "publish_stale = 0", "hotlist.publish_stale"},
		{"categories = [\"stolen-vehicle\", \"amber-alert\"]", "categories = \"stolen\"",
		 "hotlist.categories"},
		{"categories = [\"stolen-vehicle\", \"amber-alert\"]",
		 "categories = [\"stolen-vehicle\", \"Bad Cat\"]", "hotlist.categories[1]"},
		{"categories = [\"stolen-vehicle\", \"amber-alert\"]",
		 "categories = [\"amber-alert\", \"amber-alert\"]", "hotlist.categories[1]"},
		{"match_confusions = true", "match_confusions = \"true\"", "hotlist.match_confusions"},
		{"max_edit_distance = 1", "max_edit_distance = 2", "hotlist.max_edit_distance"},
		{"name = \"fusion\"", "name = \"Fusion Center\"", "recipients[0].name"},
		{"name = \"fusion\"", "name = \"v6\"", "recipients[1].name"},
		{"broker = \"mqtt.example.gov:8883\"", "broker = \"mqtt.example.gov\"",
		 "recipients[0].broker"},
		{"broker = \"mqtt.example.gov:8883\"", "broker = \"mqtt.example.gov:70000\"",
		 "recipients[0].broker"},
		{"topics = [\"lethe/hits\", \"lethe/hits/urgent\"]", "topics = [\"lethe/#\"]",
		 "recipients[0].topics[0]"},
		{"topics = [\"lethe/hits\", \"lethe/hits/urgent\"]", "topics = [\"a\", \"a/+/b\"]",
		 "recipients[0].topics[1]"},
		{"topics = [\"lethe/hits\", \"lethe/hits/urgent\"]", "topics = []",
		 "recipients[0].topics"},
		{"purpose = \"investigations\"", "purpose = [1]", "recipients[0].purpose"},
		{"public_agency = true", "public_agency = \"true\"", "recipients[0].public_agency"},
		// Unknown keys, at every level.
		{"version = 7", "version = 7\nretention_days = 3", "retention_days"},
		{"nonhit_digest = \"21d\"", "nonhit_digest = \"21d\"\nnonhit = \"1d\"",
		 "retention.nonhit"},
		{"max_age = \"24h\"", "max_age = \"24h\"\nmax_agee = \"1h\"", "hotlist.max_agee"},
		{"purpose = \"investigations\"", "purpose = \"investigations\"\nqos = 2",
		 "recipients[0].qos"},
		{"[hotlist]", "[hotlists]", "hotlists"},
	};
	for (const auto &c : cases) {
		std::string text = kValid;
		const auto pos = text.find(c.find);
		ASSERT_NE(pos, std::string::npos) << c.find;
		text.replace(pos, c.find.size(), c.replace);
		auto p = parse_policy(text, "bad.toml");
		ASSERT_FALSE(p.ok()) << "accepted: " << c.replace;
		const auto &msg = p.error().message;
		// "bad.toml:LINE:COL: FIELD: ..." naming the field, on the line of the change.
		const std::regex want("bad\\.toml:([0-9]+):[0-9]+: " +
				      std::regex_replace(c.field, std::regex(R"([\[\].])"), R"(\$&)") +
				      ": ");
		std::smatch m;
		ASSERT_TRUE(std::regex_search(msg, m, want))
			<< "replacing '" << c.find << "' by '" << c.replace << "' gave:\n" << msg;
		if (c.field != "hotlists") {
			// The reported line is that of the offending key: the last line of the
			// replacement, or for cross-field checks the later field's line.
			std::string at = c.replace.substr(c.replace.rfind('\n') + 1);
			if (c.field == "not_after" && c.find.rfind("not_before", 0) == 0)
				at = "not_after";
			else if (c.field == "retention.hit_image" && c.find.rfind("hit_record", 0) == 0)
				at = "hit_image";
			else if (c.field == "recipients[1].public_agency")
				at = "public_agency = false";
			const auto at_pos = text.rfind(at);
			const int expect = 1 + static_cast<int>(std::count(
						       text.begin(), text.begin() + at_pos, '\n'));
			EXPECT_EQ(std::stoi(m[1]), expect) << msg;
		}
	}
}

TEST(PolicyParse, MissingRequiredFieldsAreNamed)
{
	for (const std::string key :
	     {"id = ", "version = ", "issuer = ", "jurisdiction = ", "not_before = ", "not_after = ",
	      "retro_hit_queries = ", "nonhit_digest = ", "hit_record = ", "hit_image = ",
	      "outbox = ", "audit_log = ", "audit_log_minimum = ", "key_rotation = ", "max_age = ",
	      "publish_stale = ", "categories = ", "match_confusions = ", "max_edit_distance = ",
	      "broker = ", "topics = ", "purpose = ", "public_agency = "}) {
		std::string text = "\n" + kValid;
		const auto pos = text.find("\n" + key);
		ASSERT_NE(pos, std::string::npos) << key;
		const auto end = text.find('\n', pos + 1);
		text.erase(pos, end - pos);
		auto p = parse_policy(text, "m.toml");
		ASSERT_FALSE(p.ok()) << "accepted without " << key;
		const std::string name = key.substr(0, key.size() - 3);
		EXPECT_NE(p.error().message.find(name + ": missing (required)"), std::string::npos)
			<< p.error().message;
		EXPECT_EQ(p.error().message.rfind("m.toml:", 0), 0u) << p.error().message;
	}
	for (const std::string table : {"[retention]", "[hotlist]"}) {
		std::string text = kValid;
		const auto pos = text.find(table);
		const auto end = text.find("\n\n", pos);
		text.erase(pos, end - pos);
		auto p = parse_policy(text, "m.toml");
		ASSERT_FALSE(p.ok());
		EXPECT_NE(p.error().message.find(table.substr(1, table.size() - 2) +
						 ": missing (required)"),
			  std::string::npos)
			<< p.error().message;
	}
}

TEST(PolicyParse, NoRecipientsMeansNothingPublished)
{
	std::string text = kValid.substr(0, kValid.find("[[recipients]]"));
	auto p = parse_policy(text, "none.toml");
	ASSERT_TRUE(p.ok()) << p.error().message;
	EXPECT_TRUE(p->recipients.empty());
	p = parse_policy(text + "recipients = []\n", "empty.toml");
	ASSERT_FALSE(p.ok()); // after [hotlist] it is hotlist.recipients: unknown
	EXPECT_NE(p.error().message.find("hotlist.recipients: unknown key"), std::string::npos);
	const auto top = text.find("[retention]");
	p = parse_policy(text.substr(0, top) + "recipients = []\n" + text.substr(top), "e.toml");
	ASSERT_TRUE(p.ok()) << p.error().message;
	EXPECT_TRUE(p->recipients.empty());
	p = parse_policy(text.substr(0, top) + "recipients = [1]\n" + text.substr(top), "e.toml");
	ASSERT_FALSE(p.ok());
	EXPECT_NE(p.error().message.find(": recipients: "), std::string::npos);
}

TEST(PolicyParse, SyntaxErrorHasPosition)
{
	auto p = parse_policy("id = \"x\"\nversion = = 3\n", "syn.toml");
	ASSERT_FALSE(p.ok());
	EXPECT_EQ(p.error().message.rfind("syn.toml:2:", 0), 0u) << p.error().message;
	p = parse_policy("id = \"x\"\nid = \"y\"\n", "dup.toml");
	ASSERT_FALSE(p.ok());
	EXPECT_EQ(p.error().message.rfind("dup.toml:2:", 0), 0u) << p.error().message;
}

TEST(PolicyParse, AllErrorsAreReportedAtOnce)
{
	std::string text = kValid;
	text.replace(text.find("version = 7"), 11, "version = 0");
	text.replace(text.find("max_edit_distance = 1"), 21, "max_edit_distance = 5");
	auto p = parse_policy(text, "two.toml");
	ASSERT_FALSE(p.ok());
	EXPECT_NE(p.error().message.find(": version: "), std::string::npos);
	EXPECT_NE(p.error().message.find(": hotlist.max_edit_distance: "), std::string::npos);
}

TEST(PolicyParse, NonHitRetentionAboveTheJurisdictionsStatutoryCapIsRefused)
{
	// Red team (issue 15.10): jurisdiction "US-NH" with nonhit_digest "10y" was accepted;
	// New Hampshire allows three minutes.
	auto with = [](const std::string &jurisdiction, const std::string &nonhit) {
		std::string t = kValid;
		const std::string j = "\"US-ME\"", n = "nonhit_digest = \"21d\"";
		t.replace(t.find(j), j.size(), "\"" + jurisdiction + "\"");
		t.replace(t.find(n), n.size(), "nonhit_digest = \"" + nonhit + "\"");
		return parse_policy(t, "cap.toml");
	};
	auto nh = with("US-NH", "10y");
	ASSERT_FALSE(nh.ok());
	EXPECT_NE(nh.error().message.find("cap.toml:12:"), std::string::npos) << nh.error().message;
	EXPECT_NE(nh.error().message.find("retention.nonhit_digest"), std::string::npos);
	EXPECT_NE(nh.error().message.find("RSA 261:75-b"), std::string::npos) << nh.error().message;
	for (const auto &[jurisdiction, too_long, longest] :
	     {std::tuple{"US-NH", "181s", "180s"}, {"us-nh (Concord)", "1d", "0"},
	      {"US-ME", "22d", "21d"}, {"US-VA", "22d", "21d"}, {"US-MN", "61d", "60d"},
	      {"DE", "1s", "0"}, {"DE-BY", "1d", "0"}, {"DE (Land police law)", "3d", "0"}}) {
		EXPECT_FALSE(with(jurisdiction, too_long).ok()) << jurisdiction << " " << too_long;
		auto ok = with(jurisdiction, longest);
		EXPECT_TRUE(ok.ok()) << jurisdiction << " " << longest << ": " << ok.error().message;
	}
	// No statutory figure: the signed policy's own choice stands.
	for (const char *free : {"US-CA", "US-NHX", "DEMO", "TEST"})
		EXPECT_TRUE(with(free, "10y").ok()) << free;
}

TEST(PolicyPresets, EveryPresetParsesAndIsDocumented)
{
	const std::filesystem::path dir = std::filesystem::path(LETHE_SOURCE_DIR) / "config/policies";
	const std::string docs = test::read_file(std::filesystem::path(LETHE_SOURCE_DIR) /
						 "docs/policy-presets.md");
	int n = 0;
	for (const auto &name : {"germany", "new-hampshire", "maine", "virginia", "minnesota",
				 "california-sb34"}) {
		const auto path = dir / (std::string(name) + ".toml");
		ASSERT_TRUE(std::filesystem::exists(path)) << path;
		auto p = parse_policy(test::read_file(path), path.string());
		ASSERT_TRUE(p.ok()) << p.error().message;
		EXPECT_EQ(p->version, 1u);
		EXPECT_FALSE(p->legal_basis.empty()) << name;
		EXPECT_NE(docs.find("config/policies/" + std::string(name) + ".toml"),
			  std::string::npos)
			<< name << " is not described in docs/policy-presets.md";
		++n;
	}
	EXPECT_EQ(n, 6);
	// The strict laws are expressed as such.
	auto de = parse_policy(test::read_file(dir / "germany.toml"), "germany.toml");
	ASSERT_TRUE(de.ok());
	EXPECT_EQ(de->retention.nonhit_digest, Seconds{0});
	EXPECT_FALSE(de->retro_hit_queries);
	auto nh = parse_policy(test::read_file(dir / "new-hampshire.toml"), "nh.toml");
	ASSERT_TRUE(nh.ok());
	EXPECT_LE(nh->retention.nonhit_digest, Seconds{180});
	for (const auto &[name, days] : {std::pair{"maine", 21}, {"virginia", 21}, {"minnesota", 60}}) {
		auto p = parse_policy(test::read_file(dir / (std::string(name) + ".toml")), name);
		ASSERT_TRUE(p.ok());
		EXPECT_LE(p->retention.nonhit_digest, Seconds{days * 86400}) << name;
		EXPECT_LE(p->retention.hit_record, Seconds{days * 86400}) << name;
	}
	auto ca = parse_policy(test::read_file(dir / "california-sb34.toml"), "ca.toml");
	ASSERT_TRUE(ca.ok());
	EXPECT_TRUE(ca->public_agencies_only);
}

} // namespace
} // namespace lethe::policy
