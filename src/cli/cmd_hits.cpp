// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe hits list`: hit records, for investigators, with purpose and case; audited.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/control_client.h"
#include "cli/local_access.h"

namespace lethe::cli {
namespace {

int print_hits(const std::vector<HitRow> &rows, bool as_json)
{
	if (as_json) {
		nlohmann::json out = nlohmann::json::array();
		for (const auto &r : rows)
			out.push_back({{"id", r.id},
				       {"plate", r.plate},
				       {"camera", r.camera},
				       {"list", r.list_id},
				       {"category", r.category},
				       {"seen", audit::format_time(r.seen)}});
		std::printf("%s\n", out.dump(2).c_str());
	} else {
		for (const auto &r : rows)
			std::printf("%s  %-10s %-12s %s/%s\n", audit::format_time(r.seen).c_str(),
				    r.plate.c_str(), r.camera.c_str(), r.list_id.c_str(),
				    r.category.c_str());
		std::printf("%zu hit(s)\n", rows.size());
	}
	return kExitOk;
}

int run_hits(int argc, char **argv)
{
	CLI::App app{"Hit records (investigators; purpose code and case number required)",
		     "lethe hits"};
	app.require_subcommand(1);
	std::string purpose, case_number, since_text;
	std::string state_dir; // empty: ask the running daemon
	std::string socket;
	std::string config = default_config_path();
	std::string trust = default_trust_dir();
	bool as_json = false;
	auto *list = app.add_subcommand("list", "List stored hit records");
	list->add_option("--purpose", purpose, "Purpose code (required)");
	list->add_option("--case", case_number, "Case number (required)");
	list->add_option("--since", since_text, "Only hits after this time");
	add_socket_option(*list, socket);
	list->add_option("--state-dir", state_dir,
			 "Read this state directory directly instead of asking the daemon (root "
			 "or the lethe user; keys kept in files only)")
		->envname("LETHE_STATE_DIR");
	list->add_option("--config", config, "Configuration with the [roles] table")
		->envname("LETHE_CONFIG");
	list->add_option("--trust", trust, "Trusted officers' keys, for the policy in force")
		->envname("LETHE_TRUST_DIR");
	list->add_flag("--json", as_json, "Machine-readable output");
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		return app.exit(e) == 0 ? kExitOk : kExitUsage;
	}
	auto since = since_text.empty() ? Result<audit::TimePoint>(audit::TimePoint{})
					: audit::parse_time(since_text);
	if (!since) {
		std::fprintf(stderr, "lethe hits list: %s\n", since.error().message.c_str());
		return kExitUsage;
	}
	if (state_dir.empty()) {
		// Through lethed: role from this process's credentials, recorded before answering.
		nlohmann::json request = {
			{"command", "hits.list"}, {"purpose", purpose}, {"case", case_number}};
		if (!since_text.empty())
			request["since"] = audit::format_time(*since);
		auto reply = control_request(socket, request);
		if (!reply) {
			std::fprintf(stderr,
				     "lethe hits list: %s (hit records are served by lethed; with it "
				     "stopped, root or the lethe user can read the store with "
				     "--state-dir)\n",
				     reply.error().message.c_str());
			return kExitUnavailable;
		}
		const auto &r = *reply;
		if (!r.value("ok", false)) {
			std::fprintf(stderr, "lethe hits list: %s%s\n",
				     r.value("code", "") == "forbidden" ? "refused: " : "",
				     r.value("error", "failed").c_str());
			return exit_code_for(r);
		}
		std::vector<HitRow> rows;
		for (const auto &h : r.value("hits", nlohmann::json::array())) {
			auto seen = audit::parse_time(h.value("seen", ""));
			rows.push_back({h.value("id", std::int64_t{0}), h.value("plate", ""),
					h.value("camera", ""), h.value("list", ""),
					h.value("category", ""), seen ? *seen : audit::TimePoint{}});
		}
		return print_hits(rows, as_json);
	}
	auto access = LocalAccess::open(state_dir, config, trust);
	if (!access) {
		std::fprintf(stderr, "lethe hits list: %s\n", access.error().message.c_str());
		return kExitFailure;
	}
	audit::AccessRequest req;
	req.action = audit::Action::HitsList;
	req.purpose = purpose;
	req.case_number = case_number;
	audit::Role role{};
	if (!(*access)->check(req, &role))
		return kExitFailure;
	const auto &policy = (*access)->policy;
	auto rows = list_hits(state_dir, policy, *since);
	auto st = (*access)->authorizer->record(
		(*access)->who, role, req, policy,
		rows ? audit::Outcome::Success : audit::Outcome::Failed,
		rows ? std::optional<std::int64_t>(static_cast<std::int64_t>(rows->size()))
		     : std::nullopt,
		nullptr, rows ? std::string() : rows.error().message);
	if (!rows) {
		std::fprintf(stderr, "lethe hits list: %s\n", rows.error().message.c_str());
		return rows.error().code == -ENOSYS ? kExitUnavailable : kExitFailure;
	}
	if (!st) {
		std::fprintf(stderr, "lethe hits list: could not record the access, not "
				     "answering: %s\n",
			     st.error().message.c_str());
		return kExitFailure;
	}
	return print_hits(*rows, as_json);
}

} // namespace

LETHE_COMMAND("hits", "Hit records (investigators; purpose and case required)", run_hits);

} // namespace lethe::cli
