// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe`: one CLI for technicians, privacy officers and integrators; dispatches subcommands.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

#include "cli/command.h"

namespace lethe::cli {

std::vector<Command> &registry()
{
	static std::vector<Command> r;
	return r;
}

bool register_command(const Command &command)
{
	registry().push_back(command);
	return true;
}

const std::vector<Command> &commands()
{
	auto &r = registry();
	std::sort(r.begin(), r.end(),
		  [](const Command &a, const Command &b) { return a.name < b.name; });
	return r;
}

namespace {

void usage(std::FILE *out)
{
	std::fprintf(out, "Usage: lethe COMMAND [ARGS...]\n\n"
			  "Lethe — edge licence-plate reader that forgets by design (v%s).\n\n"
			  "Commands:\n",
		     LETHE_VERSION);
	for (const auto &c : commands())
		std::fprintf(out, "  %-12.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
			     static_cast<int>(c.summary.size()), c.summary.data());
	std::fprintf(out, "\nRun `lethe COMMAND --help` for a command's options.\n");
}

} // namespace
} // namespace lethe::cli

int main(int argc, char **argv)
{
	using namespace lethe::cli;
	if (argc < 2) {
		usage(stderr);
		return kExitUsage;
	}
	const std::string_view name = argv[1];
	if (name == "--help" || name == "-h" || name == "help") {
		usage(stdout);
		return kExitOk;
	}
	if (name == "--version") {
		std::printf("lethe %s\n", LETHE_VERSION);
		return kExitOk;
	}
	for (const auto &c : commands()) {
		if (c.name == name) {
			try {
				return c.run(argc - 1, argv + 1);
			} catch (const std::exception &e) {
				std::fprintf(stderr, "lethe %s: %s\n", argv[1], e.what());
				return kExitFailure;
			}
		}
	}
	std::fprintf(stderr, "lethe: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return kExitUsage;
}
