// SPDX-License-Identifier: GPL-3.0-or-later
// The `lethe` dispatcher: help, version, unknown commands and exit codes.
#include <gtest/gtest.h>

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

} // namespace
} // namespace lethe::test
