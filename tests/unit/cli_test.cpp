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
