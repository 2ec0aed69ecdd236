// SPDX-License-Identifier: GPL-3.0-or-later
// What every `lethe` subcommand does with its arguments and environment the same way.
#pragma once

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace lethe::cli {

/// Parse argv into `app`. nullopt: the arguments are good, go on. Otherwise CLI11 has printed
/// the help or the error, and the value is the exit code to return: kExitOk after --help,
/// kExitUsage for a usage error.
[[nodiscard]] std::optional<int> parse_arguments(CLI::App &app, int argc, char **argv);

/// The environment variable `name`, or `fallback` when it is unset or empty.
[[nodiscard]] std::string env_or(const char *name, const char *fallback);

} // namespace lethe::cli
