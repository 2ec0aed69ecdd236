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

} // namespace
} // namespace lethe::test
