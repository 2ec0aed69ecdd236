// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe status`: the running daemon's state (cameras, queues, policy, hot lists, broker); no plates.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/control_client.h"

namespace lethe::cli {
namespace {

int run_status(int argc, char **argv)
{
	CLI::App app{"Show the running daemon's state. Exit 0 healthy, 1 degraded (a camera down, "
		     "broker unreachable, policy fallback, a configured topic the policy refuses), "
		     "3 daemon unreachable",
		     "lethe status"};
	bool json = false;
	std::string socket;
	app.add_flag("--json", json, "Machine-readable output");
	add_socket_option(app, socket);
	if (const auto exit_code = parse_arguments(app, argc, argv))
		return *exit_code;
	auto reply = control_request(socket, {{"command", "status"}});
	if (!reply) {
		std::fprintf(stderr, "lethe status: %s\n", reply.error().message.c_str());
		return kExitUnavailable;
	}
	const auto &r = *reply;
	if (!r.value("ok", false)) {
		std::fprintf(stderr, "lethe status: %s\n", r.value("error", "refused").c_str());
		return exit_code_for(r);
	}
	const bool healthy = r.value("healthy", false);
	if (json) {
		std::printf("%s\n", r.dump().c_str());
		return healthy ? kExitOk : kExitFailure;
	}
	std::printf("device     %s  (lethed %s, up %llds)  %s\n", r.value("device_id", "").c_str(),
		    r.value("version", "").c_str(), static_cast<long long>(r.value("uptime_s", 0)),
		    healthy ? "healthy" : "DEGRADED");
	for (const auto &p : r.value("problems", nlohmann::json::array()))
		std::printf("  problem: %s\n", p.get<std::string>().c_str());
	const auto &pol = r.value("policy", nlohmann::json::object());
	std::printf("policy     %s v%llu%s\n", pol.value("id", "-").c_str(),
		    static_cast<unsigned long long>(pol.value("version", 0)),
		    pol.value("fallback", false) ? "  (FALLBACK: strictest — nothing retained or published)" : "");
	for (const auto &h : r.value("hotlists", nlohmann::json::array()))
		std::printf("hotlist    %s v%llu  %zu entries  age %llds%s\n", h.value("id", "").c_str(),
			    static_cast<unsigned long long>(h.value("version", 0)),
			    h.value("entries", std::size_t{0}), static_cast<long long>(h.value("age_s", 0)),
			    h.value("stale", false) ? "  STALE" : "");
	for (const auto &c : r.value("cameras", nlohmann::json::array()))
		std::printf("camera     %-10s %-6s %8llu frames  %llu failures  %s\n",
			    c.value("id", "").c_str(), c.value("open", false) ? "open" : (c.value("ended", false) ? "ended" : "DOWN"),
			    static_cast<unsigned long long>(c.value("frames", 0)),
			    static_cast<unsigned long long>(c.value("failures", 0)),
			    c.value("source", "").c_str());
	const auto &p = r.value("pipeline", nlohmann::json::object());
	std::printf("pipeline   %.1f frames/s  read %llu  dropped %llu  events %llu  hits %llu  non-hits %llu\n",
		    p.value("frames_per_second", 0.0), static_cast<unsigned long long>(p.value("frames_read", 0)),
		    static_cast<unsigned long long>(p.value("frames_dropped", 0)),
		    static_cast<unsigned long long>(p.value("events", 0)),
		    static_cast<unsigned long long>(r.value("hits", 0)),
		    static_cast<unsigned long long>(r.value("nonhits", 0)));
	// Hits no broker took (refused by the policy, stale): a technician must see them.
	std::printf("hits       %llu unpublished (accepted by no broker)\n",
		    static_cast<unsigned long long>(r.value("hits_unpublished", 0)));
	for (const auto &b : r.value("brokers", nlohmann::json::array()))
		std::printf("broker     %-10s %s  outbox %zu  acked %llu  refused %llu\n",
			    b.value("name", "").c_str(),
			    b.value("connected", false) ? "connected" : "DISCONNECTED",
			    b.value("outbox_depth", std::size_t{0}),
			    static_cast<unsigned long long>(b.value("acked", 0)),
			    static_cast<unsigned long long>(b.value("refused", 0)));
	return healthy ? kExitOk : kExitFailure;
}

} // namespace

LETHE_COMMAND("status", "Show the running daemon's state (no plates)", run_status);

} // namespace lethe::cli
