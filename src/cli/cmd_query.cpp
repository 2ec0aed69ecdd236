// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe query`: retro-hit query (when and where was a plate seen), with purpose and case.
#include <cerrno>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/control_client.h"
#include "cli/local_access.h"
#include "lethe/investigate/investigation.h"
#include "lethe/common/crypto.h"

namespace lethe::cli {
namespace {

const char *match_note(const std::string &match)
{
	if (match == "confusion")
		return "  (read with OCR-confusable characters: verify)";
	if (match == "missing_char")
		return "  (read with one character missing: verify)";
	return "";
}

int print_sightings(const retention::PlateLookup &found, bool as_json)
{
	if (found.skipped > 0)
		std::fprintf(stderr,
			     "lethe query: %zu spelling(s) of the plate not searched (at most %zu "
			     "per query)\n",
			     found.skipped, retention::kMaxQuerySpellings);
	if (as_json) {
		std::printf("%s\n", investigate::sightings_json(found).dump(2).c_str());
	} else {
		for (const auto &r : found.sightings)
			std::printf("%s  %s%s\n", audit::format_time(r.seen).c_str(), r.camera.c_str(),
				    match_note(r.match));
		std::printf("%zu sighting(s)\n", found.sightings.size());
	}
	return kExitOk;
}

int run_query(int argc, char **argv)
{
	CLI::App app{"Retro-hit query: when and at which camera a plate was seen inside the "
		     "retention window. Needs the investigator role, a purpose code, a case number "
		     "and a policy that allows retro-hit queries; every query is audited.",
		     "lethe query"};
	std::string plate, purpose, case_number, since_text;
	std::string state_dir; // empty: ask the running daemon
	std::string socket;
	std::string config = default_config_path();
	std::string trust = default_trust_dir();
	bool as_json = false;
	app.add_option("--plate", plate, "Plate to look for")->required();
	app.add_option("--purpose", purpose, "Purpose code (required)");
	app.add_option("--case", case_number, "Case number (required)");
	app.add_option("--since", since_text, "Only sightings after this time (default: the whole "
					      "retention window)");
	add_socket_option(app, socket);
	app.add_option("--state-dir", state_dir,
		       "Read this state directory directly instead of asking the daemon (root or "
		       "the lethe user; keys kept in files only)")
		->envname("LETHE_STATE_DIR");
	app.add_option("--config", config, "Configuration with the [roles] table")
		->envname("LETHE_CONFIG");
	app.add_option("--trust", trust, "Trusted officers' keys, for the policy in force")
		->envname("LETHE_TRUST_DIR");
	app.add_flag("--json", as_json, "Machine-readable output");
	if (const auto exit_code = parse_arguments(app, argc, argv)) {
		crypto::wipe(plate);
		return *exit_code;
	}
	const auto now = audit::Clock::now();
	auto since = since_text.empty() ? Result<audit::TimePoint>(audit::TimePoint{})
					: audit::parse_time(since_text, now);
	if (!since) {
		crypto::wipe(plate);
		std::fprintf(stderr, "lethe query: %s\n", since.error().message.c_str());
		return kExitUsage;
	}
	retention::PlateLookup found;
	if (state_dir.empty()) {
		// Through lethed: the role comes from this process's credentials on the socket, and
		// the daemon records the query before it answers.
		nlohmann::json request = {{"command", "query"},
					  {"plate", plate},
					  {"purpose", purpose},
					  {"case", case_number}};
		crypto::wipe(plate);
		if (!since_text.empty())
			request["since"] = audit::format_time(*since);
		auto reply = control_request(socket, request);
		if (!reply) {
			std::fprintf(stderr,
				     "lethe query: %s (queries are answered by lethed; with it stopped, "
				     "root or the lethe user can read the store with --state-dir)\n",
				     reply.error().message.c_str());
			return kExitUnavailable;
		}
		const auto &r = *reply;
		if (!r.value("ok", false)) {
			std::fprintf(stderr, "lethe query: %s%s\n",
				     r.value("code", "") == "forbidden" ? "refused: " : "",
				     r.value("error", "failed").c_str());
			return exit_code_for(r);
		}
		found = investigate::sightings_from_json(r.value("sightings", nlohmann::json::array()),
							 r.value("skipped", std::size_t{0}));
		return print_sightings(found, as_json);
	}
	auto access = LocalAccess::open(state_dir, config, trust);
	if (!access) {
		crypto::wipe(plate);
		std::fprintf(stderr, "lethe query: %s\n", access.error().message.c_str());
		return kExitFailure;
	}
	const auto &policy = (*access)->policy;
	auto store = investigate::open_records(state_dir, policy);
	if (!store) {
		crypto::wipe(plate);
		std::fprintf(stderr, "lethe query: %s\n", store.error().message.c_str());
		return kExitFailure;
	}
	investigate::Question q;
	q.action = audit::Action::RetroHitQuery;
	q.purpose = purpose;
	q.case_number = case_number;
	q.plate = std::move(plate);
	crypto::wipe(plate);
	q.since = *since;
	auto answer = investigate::ask(q, (*access)->who, *(*access)->authorizer, policy,
				       store->get(), state_dir, now);
	if (!answer) {
		const int code = answer.error().code;
		std::fprintf(stderr, "lethe query: %s%s\n", code == -EACCES ? "refused: " : "",
			     answer.error().message.c_str());
		return code == -EINVAL ? kExitUsage
				       : (code == -ENOSYS ? kExitUnavailable : kExitFailure);
	}
	return print_sightings(answer->sightings, as_json);
}

} // namespace

LETHE_COMMAND("query", "Retro-hit query for a plate (investigators; purpose and case required)",
	      run_query);

} // namespace lethe::cli
