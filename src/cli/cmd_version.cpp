// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe version`: print the version and build options.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace lethe::cli {
namespace {

int run_version(int argc, char **argv)
{
	CLI::App app{"Print the Lethe version", "lethe version"};
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		return app.exit(e);
	}
	std::printf("lethe %s\n", LETHE_VERSION);
	return kExitOk;
}

} // namespace

LETHE_COMMAND("version", "Print the version", run_version);

} // namespace lethe::cli
