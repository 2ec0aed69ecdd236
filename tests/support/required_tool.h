// SPDX-License-Identifier: GPL-3.0-or-later
// Tests that need a tool from a Debian package: skip where it is missing, fail under run-all.
#pragma once

#include <string>

namespace lethe::test {

/// Why a test cannot run here: empty when `probe` (a shell command) succeeds, else a message
/// naming the Debian package that provides it. Use as
///   if (auto why = missing_tool("command -v systemd-analyze", "systemd"); !why.empty())
///           LETHE_SKIP_OR_FAIL(why);
[[nodiscard]] std::string missing_tool(const std::string &probe, const std::string &package);

/// True when $LETHE_REQUIRE_TOOLS is 1: tests/run-all.sh (the README's test command, and CI)
/// sets it after installing every test package, so that a skip caused by a missing package
/// fails the run instead of hiding a missing install step.
[[nodiscard]] bool tools_required();

} // namespace lethe::test

/// Skip the test (a developer's machine without the package) or, under tests/run-all.sh, fail
/// it: the README's test command must never pass by skipping what a package would have run.
#define LETHE_SKIP_OR_FAIL(why)                                                                    \
	do {                                                                                       \
		if (::lethe::test::tools_required())                                               \
			FAIL() << (why) << " (LETHE_REQUIRE_TOOLS=1: install-deps.sh test missed it)"; \
		GTEST_SKIP() << (why);                                                             \
	} while (false)
