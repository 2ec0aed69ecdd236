// SPDX-License-Identifier: GPL-3.0-or-later
// The retention report: counts, longest non-hit lifetime, oldest records, policy, CLI.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lethe/retention/report.h"
#include "lethe/retention/retention.h"
#include "support/policies.h"
#include "support/temp_dir.h"

using namespace lethe;
using namespace lethe::retention;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

/// Non-hit digests 3 min, hit records 10 min, hit images 5 min.
policy::Policy report_policy()
{
	return test::make_policy(minutes{3}, minutes{10},
				 {.id = "report-test",
				  .version = 7,
				  .hash = std::string(64, 'b'),
				  .retro_hit_queries = true,
				  .hit_image = minutes{5}});
}

} // namespace

TEST(RetentionReport, CountsLifetimesAndPolicy)
{
	test::TempDir dir;
	ManualClock clock;
	Config cfg;
	cfg.state_dir = dir.path() / "state";
	cfg.clock = &clock;
	cfg.digest.log2_n = 8;
	const WallTime t0 = clock.wall();
	{
		auto r = Retention::create(cfg, report_policy());
		ASSERT_TRUE(r.ok());
		for (int i = 0; i < 5; ++i) {
			NonHit read{"REP" + std::to_string(100 + i), "cam", {}, {}};
			ASSERT_TRUE((*r)->record_nonhit(read).ok());
		}
		Hit hit;
		hit.plate = "REPHIT1";
		hit.camera = "cam";
		hit.image = {1, 2, 3};
		ASSERT_TRUE((*r)->record_hit(hit).ok());
		clock.advance(minutes{3});
		clock.advance(seconds{2});
		NonHit late{"REP999", "cam", {}, {}};
		ASSERT_TRUE((*r)->record_nonhit(late).ok());
		auto p = (*r)->purge();
		ASSERT_TRUE(p.ok());
		EXPECT_EQ(p->purged[0], 5);
	}
	auto rep = build_report(cfg.state_dir, clock.wall());
	ASSERT_TRUE(rep.ok()) << rep.error().message;
	ASSERT_EQ(rep->classes.size(), 3u);
	EXPECT_TRUE(rep->database_present);
	EXPECT_EQ(rep->key_mode, "file");
	const auto &nh = rep->classes[0];
	EXPECT_EQ(nh.name, "nonhit_digest");
	EXPECT_EQ(nh.kept, 1);
	EXPECT_EQ(nh.purged, 5);
	EXPECT_EQ(nh.retention_s, 180);
	// The purged digests lived 3 min 2 s (purged late because nobody ran purge() earlier).
	EXPECT_EQ(rep->nonhit_longest_ms, 182000);
	ASSERT_TRUE(nh.oldest.has_value());
	EXPECT_EQ(*nh.oldest, t0 + seconds{182});
	EXPECT_EQ(rep->classes[1].kept, 1);
	EXPECT_EQ(rep->classes[2].kept, 1);
	EXPECT_EQ(rep->classes[2].retention_s, 300);
	EXPECT_GE(rep->classes[1].keys, 1);
	ASSERT_TRUE(rep->applied.has_value());
	EXPECT_EQ(rep->applied->id, "report-test");
	EXPECT_EQ(rep->applied->version, 7u);

	const auto j = report_json(*rep);
	EXPECT_EQ(j["classes"]["nonhit_digest"]["purged"], 5);
	EXPECT_EQ(j["nonhit_longest_s"], 182.0);
	EXPECT_EQ(j["applied_policy"]["hash"], std::string(64, 'b'));
	// Never a plate in the report.
	const std::string text = report_text(*rep) + j.dump();
	EXPECT_EQ(text.find("REP1"), std::string::npos);
	EXPECT_EQ(text.find("REPHIT"), std::string::npos);
}

TEST(RetentionReport, CliJsonAndText)
{
	test::TempDir dir;
	{
		ManualClock clock;
		Config cfg;
		cfg.state_dir = dir.path() / "state";
		cfg.clock = &clock;
		cfg.digest.log2_n = 8;
		auto r = Retention::create(cfg, report_policy());
		ASSERT_TRUE(r.ok());
		NonHit read{"CLI1234", "cam", {}, {}};
		ASSERT_TRUE((*r)->record_nonhit(read).ok());
	}
	const std::string cli = LETHE_CLI_PATH;
	const std::string state = (dir.path() / "state").string();
	auto res = test::run_command(cli + " retention report --json --state-dir " + state +
				     " --trust " + (dir.path() / "trust").string());
	ASSERT_EQ(res.status, 0) << res.output;
	const auto j = nlohmann::json::parse(res.output, nullptr, false);
	ASSERT_FALSE(j.is_discarded()) << res.output;
	EXPECT_EQ(j["format"], "lethe-retention-report/1");
	EXPECT_EQ(j["classes"]["nonhit_digest"]["kept"], 1);
	EXPECT_EQ(j["applied_policy"]["id"], "report-test");

	auto text = test::run_command(cli + " retention report --state-dir " + state);
	ASSERT_EQ(text.status, 0);
	EXPECT_NE(text.output.find("nonhit_digest"), std::string::npos);
	EXPECT_NE(text.output.find("longest any non-hit existed"), std::string::npos);

	auto empty = test::run_command(cli + " retention report --json --state-dir " +
				       (dir.path() / "nothing").string());
	ASSERT_EQ(empty.status, 0) << empty.output;
	EXPECT_EQ(nlohmann::json::parse(empty.output)["database_present"], false);

	auto usage = test::run_command(cli + " retention 2>/dev/null");
	EXPECT_EQ(usage.status, 2);
	auto signed_report = test::run_command(cli + " retention report --signed --state-dir " +
					       state + " 2>/dev/null");
	ASSERT_EQ(signed_report.status, 0) << signed_report.output;
	// Signed with the device key: it verifies off the device, and not once altered.
	const std::string signed_file = (dir.path() / "signed.json").string();
	test::write_file(signed_file, signed_report.output);
	const std::string pub = state + "/device/device.pub";
	auto ok = test::run_command(cli + " audit verify-report --trust-device " + pub + " " +
				    signed_file);
	EXPECT_EQ(ok.status, 0) << ok.output;
	std::string altered = signed_report.output;
	const auto at = altered.find("\"kept\": ");
	ASSERT_NE(at, std::string::npos) << altered;
	altered.insert(at + 8, "1");
	test::write_file(signed_file, altered);
	auto bad = test::run_command(cli + " audit verify-report --trust-device " + pub + " " +
				     signed_file);
	EXPECT_EQ(bad.status, 1) << bad.output;

	// The documentation gives the exit codes above (it once said 3 for --signed).
	const std::string doc = test::read_file(std::string(LETHE_SOURCE_DIR) + "/docs/retention.md");
	EXPECT_EQ(doc.find("3 for `--signed`"), std::string::npos);
	EXPECT_NE(doc.find("`--signed` prints the report signed with the device key"),
		  std::string::npos);
	EXPECT_NE(doc.find("exit 0 signed"), std::string::npos);
}

TEST(RetentionReport, ListsInstalledSignedPolicies)
{
	test::TempDir dir;
	const std::string cli = LETHE_CLI_PATH;
	const std::string state = (dir.path() / "state").string();
	const std::string trust = (dir.path() / "trust").string();
	std::filesystem::create_directories(trust);
	const std::string preset = std::string(LETHE_SOURCE_DIR) + "/config/policies/germany.toml";
	ASSERT_TRUE(std::filesystem::exists(preset));
	const std::string prefix = (dir.path() / "officer").string();
	ASSERT_EQ(test::run_command(cli + " policy keygen --out " + prefix + " >/dev/null 2>&1").status,
		  0);
	std::filesystem::copy_file(prefix + ".pub", trust + "/officer.pub");
	const std::string bundle = (dir.path() / "de.bundle").string();
	ASSERT_EQ(test::run_command(cli + " policy sign --key " + prefix + ".key --out " + bundle +
				    " " + preset + " >/dev/null 2>&1")
			  .status,
		  0);
	ASSERT_EQ(test::run_command(cli + " policy install --trust " + trust + " --state-dir " +
				    state + " " + bundle + " >/dev/null 2>&1")
			  .status,
		  0);
	auto res = test::run_command(cli + " retention report --json --state-dir " + state +
				     " --trust " + trust);
	ASSERT_EQ(res.status, 0) << res.output;
	const auto j = nlohmann::json::parse(res.output, nullptr, false);
	ASSERT_FALSE(j.is_discarded()) << res.output;
	ASSERT_EQ(j["installed_policies"].size(), 1u) << res.output;
	const auto &p = j["installed_policies"][0];
	EXPECT_EQ(p["hash"].get<std::string>().size(), 64u);
	EXPECT_GE(p["version"].get<int>(), 1);
	EXPECT_TRUE(p["in_force"].get<bool>());
	EXPECT_EQ(j["effective_policy"]["id"], p["id"]);
	EXPECT_FALSE(j["effective_is_fallback"].get<bool>());

	// Without the officer's key in the trust directory the same bundle is not in force.
	auto untrusted = test::run_command(cli + " retention report --json --state-dir " + state +
					   " --trust " + (dir.path() / "empty").string());
	ASSERT_EQ(untrusted.status, 0);
	const auto u = nlohmann::json::parse(untrusted.output, nullptr, false);
	ASSERT_FALSE(u.is_discarded());
	EXPECT_TRUE(u["effective_is_fallback"].get<bool>());
	EXPECT_FALSE(u["installed_policies"][0]["in_force"].get<bool>());
}

namespace {

/// A state directory whose retention engine last ran at the clock's time (its high-water mark).
void ran_retention(const std::filesystem::path &state, const Clock &clock)
{
	Config cfg;
	cfg.state_dir = state;
	cfg.clock = &clock;
	cfg.digest.log2_n = 8;
	auto r = Retention::create(cfg, report_policy());
	ASSERT_TRUE(r.ok()) << r.error().message;
}

} // namespace

TEST(RetentionReport, TrustedNowNeverFallsBehindThePersistedHighWaterMark)
{
	test::TempDir dir;
	const auto state = dir.path() / "state";
	EXPECT_FALSE(persisted_high_water(state).has_value());
	const WallTime wall{seconds{1'800'000'000}};
	EXPECT_EQ(trusted_now(state, wall), wall); // no database: the wall clock
	ManualClock clock(wall);
	ran_retention(state, clock);
	const auto mark = persisted_high_water(state);
	ASSERT_TRUE(mark.has_value());
	EXPECT_GE(*mark, wall);
	EXPECT_EQ(trusted_now(state, wall - std::chrono::hours{24 * 400}), *mark);
	EXPECT_EQ(trusted_now(state, *mark + minutes{5}), *mark + minutes{5});
}

TEST(RetentionReport, PolicyInstallWithTheClockSetBackRevivesNoExpiredBundle)
{
	// Red team (issue 15.8): with the wall clock set back, a bundle that had expired installed
	// and burnt the version counter. Here the device last ran on 2030-06-01 (its retention
	// high-water mark); the machine's clock says today. The German preset expired at the end
	// of 2029: refused, nothing installed, the version not burnt.
	test::TempDir dir;
	const auto state = dir.path() / "state";
	ManualClock clock(WallTime{seconds{1'906'502'400}}); // 2030-06-01T00:00:00Z
	ran_retention(state, clock);
	const std::string cli = LETHE_CLI_PATH;
	const std::string trust = (dir.path() / "trust").string();
	std::filesystem::create_directories(trust);
	const std::string prefix = (dir.path() / "officer").string();
	ASSERT_EQ(test::run_command(cli + " policy keygen --out " + prefix + " >/dev/null 2>&1").status,
		  0);
	std::filesystem::copy_file(prefix + ".pub", trust + "/officer.pub");
	const std::string bundle = (dir.path() / "de.bundle").string();
	const std::string preset = std::string(LETHE_SOURCE_DIR) + "/config/policies/germany.toml";
	ASSERT_EQ(test::run_command(cli + " policy sign --key " + prefix + ".key --out " + bundle +
				    " " + preset + " >/dev/null 2>&1")
			  .status,
		  0);
	auto r = test::run_command(cli + " policy install --trust " + trust + " --state-dir " +
				       state.string() + " " + bundle,
				   true);
	EXPECT_EQ(r.status, 1) << r.output;
	EXPECT_NE(r.output.find("refused (expired)"), std::string::npos) << r.output;
	EXPECT_FALSE(std::filesystem::exists(state / "policies/de-kennzeichenerfassung.bundle"));
	auto versions = test::run_command("cat " + (state / "policies/versions").string() +
					  " 2>/dev/null");
	EXPECT_EQ(versions.output.find("de-kennzeichenerfassung"), std::string::npos) << versions.output;
}
