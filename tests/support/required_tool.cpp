// SPDX-License-Identifier: GPL-3.0-or-later
// Tests that need a tool from a Debian package: skip where it is missing, fail under run-all.
#include "support/required_tool.h"

#include <cstdlib>
#include <cstring>

#include "support/temp_dir.h"

namespace lethe::test {

std::string missing_tool(const std::string &probe, const std::string &package)
{
	if (run_command("(" + probe + ") >/dev/null 2>&1").status == 0)
		return {};
	return "needs Debian package " + package + " (`" + probe + "` failed)";
}

bool tools_required()
{
	const char *v = std::getenv("LETHE_REQUIRE_TOOLS");
	return v != nullptr && std::strcmp(v, "1") == 0;
}

} // namespace lethe::test
