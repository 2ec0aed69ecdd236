// SPDX-License-Identifier: GPL-3.0-or-later
// What every `lethe` subcommand does with its arguments and environment the same way.
#include "cli/arguments.h"

#include <cstdlib>

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace lethe::cli {

std::optional<int> parse_arguments(CLI::App &app, int argc, char **argv)
{
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		// --help prints and succeeds; any other parse error is a usage error (exit 2).
		return app.exit(e) == 0 ? kExitOk : kExitUsage;
	}
	return std::nullopt;
}

std::string env_or(const char *name, const char *fallback)
{
	const char *v = std::getenv(name);
	return v && *v ? v : fallback;
}

} // namespace lethe::cli
