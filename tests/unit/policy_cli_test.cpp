// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe policy` end to end through the real binary: keygen, sign, verify, install, show --json.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace lethe::test {
namespace {

namespace fs = std::filesystem;

std::string cli() { return std::string(LETHE_CLI_PATH) + " policy "; }
std::string q(const fs::path &p) { return "'" + p.string() + "'"; }
fs::path preset(const std::string &name)
{
	return fs::path(LETHE_SOURCE_DIR) / "config/policies" / (name + ".toml");
}

class PolicyCli : public ::testing::Test
{
protected:
	void SetUp() override
	{
		fs::create_directories(dir_ / "trust");
		auto r = run_command(cli() + "keygen --out " + q(dir_ / "officer"), true);
		ASSERT_EQ(r.status, 0) << r.output;
		fs::copy_file(dir_ / "officer.pub", dir_ / "trust/officer.pub");
	}
	CommandResult sign(const fs::path &policy, const fs::path &out)
	{
		return run_command(cli() + "sign --key " + q(dir_ / "officer.key") + " --out " +
					   q(out) + " " + q(policy),
				   true);
	}
	CommandResult verify(const fs::path &bundle, const fs::path &trust)
	{
		return run_command(cli() + "verify --trust " + q(trust) + " " + q(bundle), true);
	}
	std::string trust() const { return " --trust " + q(dir_ / "trust"); }
	std::string state() const { return " --state-dir " + q(dir_ / "state"); }

	TempDir dir_;
};

TEST_F(PolicyCli, KeygenWritesPrivateKey0600AndNeverOverwrites)
{
	struct stat sb {};
	ASSERT_EQ(::stat((dir_ / "officer.key").c_str(), &sb), 0);
	EXPECT_EQ(sb.st_mode & 0777, 0600u);
	const auto key = read_file(dir_ / "officer.key");
	EXPECT_NE(key.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
	EXPECT_NE(read_file(dir_ / "officer.pub").find("-----BEGIN PUBLIC KEY-----"),
		  std::string::npos);

	auto r = run_command(cli() + "keygen --out " + q(dir_ / "officer"), true);
	EXPECT_NE(r.status, 0);
	EXPECT_NE(r.output.find("exists"), std::string::npos) << r.output;
	EXPECT_EQ(read_file(dir_ / "officer.key"), key);

	// A dangling symlink where the key would go is not followed.
	fs::create_symlink(dir_ / "elsewhere", dir_ / "second.key");
	r = run_command(cli() + "keygen --out " + q(dir_ / "second"), true);
	EXPECT_NE(r.status, 0);
	EXPECT_FALSE(fs::exists(dir_ / "elsewhere"));
}

TEST_F(PolicyCli, SignVerifyInstallShowRoundTrip)
{
	const auto bundle = dir_ / "maine.bundle";
	auto r = sign(preset("maine"), bundle);
	ASSERT_EQ(r.status, 0) << r.output;
	// The payload stays readable inside the bundle.
	EXPECT_NE(read_file(bundle).find(read_file(preset("maine"))), std::string::npos);

	r = verify(bundle, dir_ / "trust");
	EXPECT_EQ(r.status, 0) << r.output;
	EXPECT_NE(r.output.find("valid: policy us-me-29a-2117-a v1"), std::string::npos) << r.output;

	r = run_command(cli() + "show --json" + trust() + state());
	ASSERT_EQ(r.status, 0);
	auto j = nlohmann::json::parse(r.output);
	EXPECT_TRUE(j["fallback"].get<bool>());
	EXPECT_EQ(j["effective"]["id"], "builtin-strictest");
	EXPECT_TRUE(j["effective"]["recipients"].empty());

	r = run_command(cli() + "install" + trust() + state() + " " + q(bundle), true);
	ASSERT_EQ(r.status, 0) << r.output;
	r = run_command(cli() + "show --json" + trust() + state());
	ASSERT_EQ(r.status, 0) << r.output;
	j = nlohmann::json::parse(r.output);
	EXPECT_FALSE(j["fallback"].get<bool>());
	EXPECT_EQ(j["effective"]["id"], "us-me-29a-2117-a");
	EXPECT_EQ(j["effective"]["retention_seconds"]["nonhit_digest"], 21 * 86400);
	ASSERT_EQ(j["installed"].size(), 1u);
	EXPECT_EQ(j["installed"][0]["version"], 1);
	EXPECT_TRUE(j["installed"][0]["in_force"].get<bool>());
	EXPECT_EQ(j["installed"][0]["hash"].get<std::string>().size(), 64u);

	r = run_command(cli() + "show" + trust() + state());
	EXPECT_EQ(r.status, 0);
	EXPECT_NE(r.output.find("us-me-29a-2117-a"), std::string::npos);
	// The statutes the policy implements are shown, every line of them.
	EXPECT_NE(r.output.find("  legal basis:        29-A M.R.S. §2117-A: data collected"),
		  std::string::npos)
		<< r.output;
	EXPECT_NE(r.output.find("\n                      longer than 21 days unless it is "
				"evidence"),
		  std::string::npos)
		<< r.output;

	// Installing it again is a rollback: refused, with its reason.
	r = run_command(cli() + "install" + trust() + state() + " " + q(bundle), true);
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find("refused (rollback)"), std::string::npos) << r.output;

	// The environment variables stand in for the options.
	r = run_command("LETHE_STATE_DIR=" + q(dir_ / "state") + " LETHE_TRUST_DIR=" +
			q(dir_ / "trust") + " " + cli() + "show --json");
	ASSERT_EQ(r.status, 0);
	EXPECT_EQ(nlohmann::json::parse(r.output)["effective"]["id"], "us-me-29a-2117-a");
}

TEST_F(PolicyCli, VerifyExitCodesAndReasons)
{
	const auto bundle = dir_ / "nh.bundle";
	ASSERT_EQ(sign(preset("new-hampshire"), bundle).status, 0);
	const auto good = read_file(bundle);

	fs::create_directories(dir_ / "empty");
	auto r = verify(bundle, dir_ / "empty");
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find("refused (untrusted-key)"), std::string::npos) << r.output;

	std::string t = good;
	t[t.find("nonhit_digest = \"3min\"") + 17] = '9';
	write_file(dir_ / "tampered.bundle", t);
	r = verify(dir_ / "tampered.bundle", dir_ / "trust");
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find("refused (bad-signature)"), std::string::npos) << r.output;

	write_file(dir_ / "short.bundle", good.substr(0, good.size() - 30));
	r = verify(dir_ / "short.bundle", dir_ / "trust");
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find("refused (truncated)"), std::string::npos) << r.output;

	write_file(dir_ / "nosig.bundle", good.substr(0, good.rfind("signature: ")));
	r = verify(dir_ / "nosig.bundle", dir_ / "trust");
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find("refused (missing-signature)"), std::string::npos) << r.output;

	r = verify(dir_ / "no-such.bundle", dir_ / "trust");
	EXPECT_EQ(r.status, 1);

	// Expired: the officer can sign it (with a warning), the device refuses it.
	std::string text = read_file(preset("new-hampshire"));
	text.replace(text.find("not_before = 2026-01-01T00:00:00Z"), 33,
		     "not_before = 2020-01-01T00:00:00Z");
	text.replace(text.find("not_after = 2029-12-31T23:59:59Z"), 32,
		     "not_after = 2021-01-01T00:00:00Z");
	write_file(dir_ / "old.toml", text);
	r = sign(dir_ / "old.toml", dir_ / "old.bundle");
	ASSERT_EQ(r.status, 0) << r.output;
	EXPECT_NE(r.output.find("warning"), std::string::npos);
	r = verify(dir_ / "old.bundle", dir_ / "trust");
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find("refused (expired)"), std::string::npos) << r.output;
	r = run_command(cli() + "install" + trust() + state() + " " + q(dir_ / "old.bundle"), true);
	EXPECT_EQ(r.status, 1);
	EXPECT_FALSE(fs::exists(dir_ / "state/policies/us-nh-rsa-261-75-b.bundle"));
}

TEST_F(PolicyCli, SignRefusesAnInvalidPolicyNamingTheField)
{
	std::string text = read_file(preset("virginia"));
	text.replace(text.find("max_edit_distance = 1"), 21, "max_edit_distance = 3");
	write_file(dir_ / "bad.toml", text);
	auto r = sign(dir_ / "bad.toml", dir_ / "bad.bundle");
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find("bad.toml:"), std::string::npos) << r.output;
	EXPECT_NE(r.output.find("hotlist.max_edit_distance"), std::string::npos) << r.output;
	EXPECT_FALSE(fs::exists(dir_ / "bad.bundle"));
}

TEST_F(PolicyCli, HelpEverywhereAndUsageErrors)
{
	for (const std::string sub : {"", "keygen ", "sign ", "verify ", "install ", "show "}) {
		auto r = run_command(cli() + sub + "--help", true);
		EXPECT_EQ(r.status, 0) << sub << r.output;
		EXPECT_NE(r.output.find("Usage"), std::string::npos) << sub;
	}
	EXPECT_EQ(run_command(cli(), true).status, 2);
	EXPECT_EQ(run_command(cli() + "sign --key x", true).status, 2);
	EXPECT_EQ(run_command(cli() + "frobnicate", true).status, 2);
}

} // namespace
} // namespace lethe::test
