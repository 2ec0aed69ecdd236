// SPDX-License-Identifier: GPL-3.0-or-later
// systemd units: `systemd-analyze verify` clean, hardening score, sysusers file well-formed.
#include <regex>

#include <gtest/gtest.h>

#include "support/required_tool.h"
#include "support/temp_dir.h"

namespace {

using lethe::test::run_command;

/// Empty when the tool is installed, else why not (systemd's tools come with package systemd).
std::string missing(const std::string &tool)
{
	return lethe::test::missing_tool("command -v " + tool, "systemd");
}

/// The unit with ExecStart pointing at the built daemon (verify checks the binary exists).
std::filesystem::path local_unit(const lethe::test::TempDir &dir)
{
	std::string unit = lethe::test::read_file(std::string(LETHE_SOURCE_DIR) + "/systemd/lethed.service");
	const std::string from = "/usr/bin/lethed";
	const auto at = unit.find(from);
	EXPECT_NE(at, std::string::npos);
	unit.replace(at, from.size(), LETHED_PATH);
	lethe::test::write_file(dir / "lethed.service", unit);
	return dir / "lethed.service";
}

TEST(SystemdUnits, VerifyIsClean)
{
	if (auto why = missing("systemd-analyze"); !why.empty())
		LETHE_SKIP_OR_FAIL(why);
	lethe::test::TempDir dir;
	auto r = run_command("systemd-analyze verify " + local_unit(dir).string(), true);
	EXPECT_EQ(r.status, 0) << r.output;
	EXPECT_EQ(r.output, "") << r.output;
}

TEST(SystemdUnits, HardeningRequirementsPresent)
{
	const std::string unit =
		lethe::test::read_file(std::string(LETHE_SOURCE_DIR) + "/systemd/lethed.service");
	for (const char *line :
	     {"Type=notify", "User=lethe", "StateDirectory=lethe", "ConfigurationDirectory=lethe",
	      "RuntimeDirectory=lethe", "RuntimeDirectoryMode=0755" /* technicians: control.sock */,
	      "UMask=0027", "ProtectSystem=strict", "NoNewPrivileges=yes",
	      "CapabilityBoundingSet=\n", "DevicePolicy=closed", "DeviceAllow=char-video4linux rw",
	      "DeviceAllow=char-media rw", "DeviceAllow=char-dma_heap rw", "RestrictAddressFamilies=",
	      "SystemCallFilter=@system-service", "WatchdogSec=", "Restart=on-failure", "LimitCORE=0"})
		EXPECT_NE(unit.find(line), std::string::npos) << "missing: " << line;
}

TEST(SystemdUnits, SecurityExposureStaysLow)
{
	if (auto why = missing("systemd-analyze"); !why.empty())
		LETHE_SKIP_OR_FAIL(why);
	lethe::test::TempDir dir;
	auto r = run_command("systemd-analyze security --offline=true --no-pager " +
				     local_unit(dir).string() + " 2>&1 | tail -1");
	std::smatch m;
	const std::regex re("exposure level for lethed.service: ([0-9.]+)");
	ASSERT_TRUE(std::regex_search(r.output, m, re)) << r.output;
	EXPECT_LE(std::stod(m[1]), 2.0) << r.output; // docs/deployment.md records 1.5
}

TEST(SystemdUnits, SysusersFileParses)
{
	if (auto why = missing("systemd-sysusers"); !why.empty())
		LETHE_SKIP_OR_FAIL(why);
	auto r = run_command("systemd-sysusers --dry-run " + std::string(LETHE_SOURCE_DIR) +
				     "/systemd/sysusers.d/lethe.conf",
			     true);
	EXPECT_EQ(r.status, 0) << r.output;
	EXPECT_EQ(r.output.find("ignoring"), std::string::npos) << r.output;
}

} // namespace
