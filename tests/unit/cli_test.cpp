// SPDX-License-Identifier: GPL-3.0-or-later
// The `lethe` dispatcher: help, version (and lethed's), unknown commands, exit codes, JSON figures.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lethe/common/rounding.h"
#include "support/temp_dir.h"

namespace lethe::test {
namespace {

TEST(Cli, HelpListsCommandsAndExitsZero)
{
	auto r = run_command(std::string(LETHE_CLI_PATH) + " --help");
	EXPECT_EQ(r.status, 0);
	EXPECT_NE(r.output.find("version"), std::string::npos);
}

TEST(Cli, UnknownCommandIsUsageError)
{
	auto r = run_command(std::string(LETHE_CLI_PATH) + " no-such-command", true);
	EXPECT_EQ(r.status, 2);
	EXPECT_NE(r.output.find("unknown command"), std::string::npos);
}

TEST(Cli, VersionPrintsVersion)
{
	auto r = run_command(std::string(LETHE_CLI_PATH) + " version");
	EXPECT_EQ(r.status, 0);
	EXPECT_NE(r.output.find(LETHE_VERSION), std::string::npos);
}

TEST(Cli, LethedVersionIsTheVersionLetheVersionPrints)
{
	auto lethed = run_command(std::string(LETHED_PATH) + " --version", true);
	EXPECT_EQ(lethed.status, 0) << lethed.output;
	EXPECT_EQ(lethed.output, std::string("lethed ") + LETHE_VERSION + "\n");
	auto lethe = run_command(std::string(LETHE_CLI_PATH) + " version");
	EXPECT_EQ(lethe.output, std::string("lethe ") + LETHE_VERSION + "\n");
}

TEST(Cli, RoundedFiguresPrintWithoutFloatNoise)
{
	// The figure from the field: 70.96 ms printed as 70.96000000000001.
	EXPECT_EQ(nlohmann::json(round_decimals(70.96000000000001, 2)).dump(), "70.96");
	EXPECT_EQ(nlohmann::json(round_decimals(0.8125, 3)).dump(), "0.813");
	EXPECT_EQ(nlohmann::json(round_decimals(14.966666666666667, 2)).dump(), "14.97");
	EXPECT_EQ(nlohmann::json(round_decimals(-1.0, 3)).dump(), "-1.0");
	// Every value with 2 (3) decimals prints with no more than that.
	for (int decimals : {2, 3}) {
		for (int k = 0; k < 200000; k += 7) {
			const std::string text = nlohmann::json(round_decimals(k / 997.0, decimals)).dump();
			const auto dot = text.find('.');
			ASSERT_NE(dot, std::string::npos) << text;
			EXPECT_LE(text.size() - dot - 1, static_cast<std::size_t>(decimals)) << text;
		}
	}
}

// `camera snapshot --annotate x.txt` printed a raw OpenCV exception, and `--json` (documented
// alone) required --annotate. The extension is checked before the daemon is asked.
TEST(Cli, SnapshotChecksTheExtensionFirstAndTakesJsonAlone)
{
	const std::string cli = std::string(LETHE_CLI_PATH) + " camera snapshot";
	const std::string no_daemon = " --socket /nonexistent/lethe-control.sock";
	auto r = run_command(cli + " --annotate x.txt" + no_daemon, true);
	EXPECT_EQ(r.status, 2) << r.output;
	EXPECT_NE(r.output.find("x.txt: unsupported extension '.txt' (use .jpg or .png)"),
		  std::string::npos)
		<< r.output;
	EXPECT_EQ(r.output.find("OpenCV"), std::string::npos) << r.output;
	// --json alone is a complete request: only the daemon is missing here (exit 3).
	r = run_command(cli + " --json" + no_daemon, true);
	EXPECT_EQ(r.status, 3) << r.output;
	r = run_command(cli + " --annotate aim.png" + no_daemon, true);
	EXPECT_EQ(r.status, 3) << r.output;
	// Neither: nothing to do.
	r = run_command(cli + no_daemon, true);
	EXPECT_EQ(r.status, 2) << r.output;
	EXPECT_NE(r.output.find("--annotate FILE, --json, or both"), std::string::npos) << r.output;
}

} // namespace
} // namespace lethe::test
