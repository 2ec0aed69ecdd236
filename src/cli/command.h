// SPDX-License-Identifier: GPL-3.0-or-later
// Registry of `lethe` subcommands; each cmd_*.cpp registers itself with LETHE_COMMAND.
#pragma once

#include <string_view>
#include <vector>

namespace lethe::cli {

/// Exit codes shared by every subcommand.
enum ExitCode : int {
	kExitOk = 0,
	kExitFailure = 1, ///< the operation ran and failed (a bad file, a refused bundle)
	kExitUsage = 2,   ///< wrong arguments
	kExitUnavailable = 3, ///< the daemon or another service is not reachable
};

struct Command {
	std::string_view name;
	std::string_view summary;
	/// argv[0] is the subcommand name; parse the rest.
	int (*run)(int argc, char **argv);
};

bool register_command(const Command &command);
const std::vector<Command> &commands();

} // namespace lethe::cli

#define LETHE_CONCAT_INNER(a, b) a##b
#define LETHE_CONCAT(a, b) LETHE_CONCAT_INNER(a, b)
#define LETHE_COMMAND(name, summary, fn)                                                   \
	static const bool LETHE_CONCAT(lethe_command_registered_, __LINE__) =               \
		::lethe::cli::register_command({name, summary, fn})
