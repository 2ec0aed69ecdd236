// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe selftest`: camera, models, broker, topics, policy, hot lists, disk, clock (the daemon checks).
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/control_client.h"

namespace lethe::cli {
namespace {

int run_selftest(int argc, char **argv)
{
	CLI::App app{"Run the daemon's self-test. Exit 0 all checks pass (warnings allowed), 1 a "
		     "check failed, 3 daemon unreachable",
		     "lethe selftest"};
	bool json = false;
	std::string socket;
	app.add_flag("--json", json, "Machine-readable output");
	add_socket_option(app, socket);
	if (const auto exit_code = parse_arguments(app, argc, argv))
		return *exit_code;
	auto reply = control_request(socket, {{"command", "selftest"}}, std::chrono::seconds(60));
	if (!reply) {
		std::fprintf(stderr, "lethe selftest: %s\n", reply.error().message.c_str());
		return kExitUnavailable;
	}
	const auto &r = *reply;
	if (!r.value("ok", false)) {
		std::fprintf(stderr, "lethe selftest: %s\n", r.value("error", "refused").c_str());
		return exit_code_for(r);
	}
	const bool passed = r.value("passed", false);
	if (json) {
		std::printf("%s\n", r.dump().c_str());
		return passed ? kExitOk : kExitFailure;
	}
	for (const auto &c : r.value("checks", nlohmann::json::array()))
		std::printf("%-5s %-10s %s\n", c.value("result", "?").c_str(), c.value("check", "").c_str(),
			    c.value("detail", "").c_str());
	std::printf("%s\n", passed ? "selftest passed" : "selftest FAILED");
	return passed ? kExitOk : kExitFailure;
}

} // namespace

LETHE_COMMAND("selftest",
	      "Check camera, models, broker, topics the policy allows, policy, hot lists, disk "
	      "and clock",
	      run_selftest);

} // namespace lethe::cli
