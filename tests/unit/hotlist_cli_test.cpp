// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe hotlist` end to end through the real binary: sign, verify, install, show --json.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace lethe::test {
namespace {

namespace fs = std::filesystem;

std::string lethe() { return std::string(LETHE_CLI_PATH) + " "; }
std::string q(const fs::path &p) { return "'" + p.string() + "'"; }

const char *kList = "plate,region,list_id,category,reason,entered,expires,agency_ref\n"
		    "ABC1234,ME,ncic,stolen-vehicle,Stolen,2026-11-01,,OCA-1\n"
		    "7XYZ89,ME,ncic,amber-alert,Amber,2026-11-20,,OCA-2\n";

class HotlistCli : public ::testing::Test
{
protected:
	void SetUp() override
	{
		fs::create_directories(dir_ / "trust");
		auto r = run_command(lethe() + "policy keygen --out " + q(dir_ / "officer"), true);
		ASSERT_EQ(r.status, 0) << r.output;
		fs::copy_file(dir_ / "officer.pub", dir_ / "trust/officer.pub");
		write_file(dir_ / "list.csv", kList);
	}
	void install_policy()
	{
		const auto preset = fs::path(LETHE_SOURCE_DIR) / "config/policies/maine.toml";
		auto r = run_command(lethe() + "policy sign --key " + q(dir_ / "officer.key") +
					     " --out " + q(dir_ / "p.bundle") + " " + q(preset),
				     true);
		ASSERT_EQ(r.status, 0) << r.output;
		r = run_command(lethe() + "policy install" + opts() + " " + q(dir_ / "p.bundle"), true);
		ASSERT_EQ(r.status, 0) << r.output;
	}
	CommandResult sign(const fs::path &csv, const fs::path &out, int version)
	{
		return run_command(lethe() + "hotlist sign --key " + q(dir_ / "officer.key") +
					   " --out " + q(out) + " --id ncic-me --version " +
					   std::to_string(version) + " " + q(csv),
				   true);
	}
	std::string opts() const
	{
		return " --trust " + q(dir_ / "trust") + " --state-dir " + q(dir_ / "state");
	}

	TempDir dir_;
};

TEST_F(HotlistCli, SignVerifyInstallShow)
{
	install_policy();
	auto r = sign(dir_ / "list.csv", dir_ / "l.bundle", 1);
	ASSERT_EQ(r.status, 0) << r.output;
	r = run_command(lethe() + "hotlist verify --trust " + q(dir_ / "trust") + " " +
				q(dir_ / "l.bundle"),
			true);
	ASSERT_EQ(r.status, 0) << r.output;
	EXPECT_NE(r.output.find("2 entries"), std::string::npos) << r.output;

	r = run_command(lethe() + "hotlist install" + opts() + " " + q(dir_ / "l.bundle"), true);
	ASSERT_EQ(r.status, 0) << r.output;
	r = run_command(lethe() + "hotlist show --json" + opts());
	ASSERT_EQ(r.status, 0) << r.output;
	const auto j = nlohmann::json::parse(r.output);
	ASSERT_EQ(j.at("lists").size(), 1u);
	EXPECT_EQ(j["lists"][0]["id"], "ncic-me");
	EXPECT_EQ(j["lists"][0]["entries"], 2);
	EXPECT_EQ(j["lists"][0]["stale"], false);
	EXPECT_EQ(j["max_edit_distance"], 1);
	// The plaintext list is not kept under the state directory.
	for (const auto &f : fs::recursive_directory_iterator(dir_ / "state"))
		if (f.is_regular_file()) {
			EXPECT_EQ(read_file(f.path()).find("ABC1234"), std::string::npos) << f.path();
		}

	// Same version again: rollback refused.
	r = run_command(lethe() + "hotlist install" + opts() + " " + q(dir_ / "l.bundle"), true);
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find("rollback"), std::string::npos) << r.output;
}

TEST_F(HotlistCli, RefusesUntrustedTamperedAndDisallowedCategories)
{
	install_policy();
	ASSERT_EQ(sign(dir_ / "list.csv", dir_ / "l.bundle", 2).status, 0);
	// Untrusted: an empty trust directory.
	fs::create_directories(dir_ / "empty");
	auto r = run_command(lethe() + "hotlist verify --trust " + q(dir_ / "empty") + " " +
				     q(dir_ / "l.bundle"),
			     true);
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find("untrusted-key"), std::string::npos) << r.output;
	// Tampered: one plate changed after signing.
	auto text = read_file(dir_ / "l.bundle");
	text.replace(text.find("ABC1234"), 7, "ABC1235");
	write_file(dir_ / "t.bundle", text);
	r = run_command(lethe() + "hotlist install" + opts() + " " + q(dir_ / "t.bundle"), true);
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find("refused"), std::string::npos) << r.output;
	// A category Maine's policy does not allow.
	write_file(dir_ / "bad.csv", std::string(kList) + "TOW1234,ME,ncic,towed,Towed,2026-11-20,,X\n");
	ASSERT_EQ(sign(dir_ / "bad.csv", dir_ / "b.bundle", 3).status, 0);
	r = run_command(lethe() + "hotlist install" + opts() + " " + q(dir_ / "b.bundle"), true);
	EXPECT_EQ(r.status, 1);
	// The CSV's own line (the officer's file has 4 lines), not the bundle payload's (8).
	EXPECT_NE(r.output.find("CSV line 4: category 'towed' is not allowed"), std::string::npos)
		<< r.output;
	EXPECT_FALSE(fs::exists(dir_ / "state/hotlists/ncic-me.lhl"));
	// A malformed CSV is refused at signing, with FILE:LINE of the CSV the officer wrote.
	write_file(dir_ / "m.csv", std::string(kList) + "ABC,ME,ncic,stolen-vehicle,x,2026-13-01,,X\n");
	r = sign(dir_ / "m.csv", dir_ / "m.bundle", 4);
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find((dir_ / "m.csv").string() + ":4: entered"), std::string::npos)
		<< r.output;
	EXPECT_EQ(r.output.find("line 8"), std::string::npos) << r.output;
	EXPECT_FALSE(fs::exists(dir_ / "m.bundle"));
}

TEST_F(HotlistCli, WithoutPolicyNothingInstalls)
{
	ASSERT_EQ(sign(dir_ / "list.csv", dir_ / "l.bundle", 1).status, 0);
	auto r = run_command(lethe() + "hotlist install" + opts() + " " + q(dir_ / "l.bundle"), true);
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.output.find("not allowed"), std::string::npos) << r.output;
	r = run_command(lethe() + "hotlist --help");
	EXPECT_EQ(r.status, 0);
}

} // namespace
} // namespace lethe::test
