// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe hits list|crop`: hit records and their images for investigators (purpose, case); audited.
#include <cerrno>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/control_client.h"
#include "cli/local_access.h"
#include "lethe/common/atomic_file.h"
#include "lethe/investigate/investigation.h"
#include "lethe/publish/event.h"

namespace lethe::cli {
namespace {

int print_hits(const std::vector<investigate::HitRow> &rows, bool as_json)
{
	if (as_json) {
		std::printf("%s\n", investigate::hits_json(rows).dump(2).c_str());
	} else {
		for (const auto &r : rows)
			std::printf("%s  %s  %-10s %-12s %s/%s\n", audit::format_time(r.seen).c_str(),
				    r.event_id.c_str(), r.plate.c_str(), r.camera.c_str(),
				    r.list_id.c_str(), r.category.c_str());
		std::printf("%zu hit(s)\n", rows.size());
	}
	return kExitOk;
}

/// Write a hit's image to `out` (never over an existing file; owner-only).
int write_crop(const std::string &out, const std::string &event_id,
	       const crypto::SecretBytes &jpeg, bool as_json)
{
	const std::string_view data(reinterpret_cast<const char *>(jpeg.data()), jpeg.size());
	if (Status st = fsutil::write_exclusive(out, data); !st) {
		std::fprintf(stderr, "lethe hits crop: %s: %s\n", out.c_str(),
			     st.error().message.c_str());
		return kExitFailure;
	}
	if (as_json)
		std::printf("%s\n", nlohmann::json{{"event_id", event_id},
						   {"file", out},
						   {"bytes", jpeg.size()}}
					    .dump()
					    .c_str());
	else
		std::printf("%s written (hit %s, %zu bytes)\n", out.c_str(), event_id.c_str(),
			    jpeg.size());
	return kExitOk;
}

/// Ask the running daemon (role from this process's credentials, recorded before it answers).
Result<nlohmann::json> ask_daemon(const std::string &socket, const nlohmann::json &request,
				  const char *command, int *exit_code)
{
	auto reply = control_request(socket, request);
	if (!reply) {
		std::fprintf(stderr,
			     "lethe hits %s: %s (hit records are served by lethed; with it stopped, "
			     "root or the lethe user can read the store with --state-dir)\n",
			     command, reply.error().message.c_str());
		*exit_code = kExitUnavailable;
		return reply.error();
	}
	const auto &r = *reply;
	if (!r.value("ok", false)) {
		std::fprintf(stderr, "lethe hits %s: %s%s\n", command,
			     r.value("code", "") == "forbidden" ? "refused: " : "",
			     r.value("error", "failed").c_str());
		*exit_code = exit_code_for(r);
		return make_error(-EIO, r.value("error", "failed"));
	}
	return reply;
}

int run_hits(int argc, char **argv)
{
	CLI::App app{"Hit records (investigators; purpose code and case number required)",
		     "lethe hits"};
	app.require_subcommand(1);
	std::string purpose, case_number, since_text, event_id, out;
	std::string state_dir; // empty: ask the running daemon
	std::string socket;
	std::string config = default_config_path();
	std::string trust = default_trust_dir();
	bool as_json = false;
	auto *list = app.add_subcommand("list", "List stored hit records");
	auto *crop = app.add_subcommand("crop", "Write a hit's stored image (the plate crop) "
						"to a file");
	crop->add_option("event_id", event_id, "The hit's event_id (as published and listed)")
		->required();
	crop->add_option("--out", out, "JPEG file to write (must not exist; mode 0600)")
		->required();
	list->add_option("--since", since_text, "Only hits after this time");
	for (auto *sub : {list, crop}) {
		sub->add_option("--purpose", purpose, "Purpose code (required)");
		sub->add_option("--case", case_number, "Case number (required)");
		add_socket_option(*sub, socket);
		sub->add_option("--state-dir", state_dir,
				"Read this state directory directly instead of asking the daemon "
				"(root or the lethe user; keys kept in files only)")
			->envname("LETHE_STATE_DIR");
		sub->add_option("--config", config, "Configuration with the [roles] table")
			->envname("LETHE_CONFIG");
		sub->add_option("--trust", trust, "Trusted officers' keys, for the policy in force")
			->envname("LETHE_TRUST_DIR");
		sub->add_flag("--json", as_json, "Machine-readable output");
	}
	if (const auto exit_code = parse_arguments(app, argc, argv))
		return *exit_code;
	const bool cropping = crop->parsed();
	const char *command = cropping ? "crop" : "list";
	if (cropping && !publish::is_uuid_v4(event_id)) {
		std::fprintf(stderr,
			     "lethe hits crop: '%s' is not an event id (a lower-case UUID as in "
			     "`lethe hits list`)\n",
			     event_id.c_str());
		return kExitUsage;
	}
	auto since = since_text.empty() ? Result<audit::TimePoint>(audit::TimePoint{})
					: audit::parse_time(since_text);
	if (!since) {
		std::fprintf(stderr, "lethe hits list: %s\n", since.error().message.c_str());
		return kExitUsage;
	}
	if (state_dir.empty()) {
		nlohmann::json request = {{"command", cropping ? "hits.crop" : "hits.list"},
					  {"purpose", purpose},
					  {"case", case_number}};
		if (cropping)
			request["event_id"] = event_id;
		if (!since_text.empty())
			request["since"] = audit::format_time(*since);
		int code = kExitOk;
		auto reply = ask_daemon(socket, request, command, &code);
		if (!reply)
			return code;
		const auto &r = *reply;
		if (cropping) {
			auto jpeg = crypto::from_base64(r.value("jpeg", ""));
			if (!jpeg) {
				std::fprintf(stderr, "lethe hits crop: bad image from the daemon\n");
				return kExitFailure;
			}
			return write_crop(out, event_id,
					  crypto::SecretBytes(jpeg->begin(), jpeg->end()), as_json);
		}
		const auto rows = investigate::hits_from_json(r.value("hits", nlohmann::json::array()));
		return print_hits(rows, as_json);
	}
	auto access = LocalAccess::open(state_dir, config, trust);
	if (!access) {
		std::fprintf(stderr, "lethe hits %s: %s\n", command, access.error().message.c_str());
		return kExitFailure;
	}
	const auto &policy = (*access)->policy;
	auto store = investigate::open_records(state_dir, policy);
	if (!store) {
		std::fprintf(stderr, "lethe hits %s: %s\n", command, store.error().message.c_str());
		return kExitFailure;
	}
	investigate::Question q;
	q.action = cropping ? audit::Action::HitsCrop : audit::Action::HitsList;
	q.purpose = purpose;
	q.case_number = case_number;
	q.event_id = event_id;
	q.since = *since;
	auto answer = investigate::ask(q, (*access)->who, *(*access)->authorizer, policy,
				       store->get(), state_dir);
	if (!answer) {
		const int code = answer.error().code;
		std::fprintf(stderr, "lethe hits %s: %s%s\n", command,
			     code == -EACCES ? "refused: " : "", answer.error().message.c_str());
		return code == -EINVAL ? kExitUsage
				       : (code == -ENOSYS ? kExitUnavailable : kExitFailure);
	}
	return cropping ? write_crop(out, event_id, answer->jpeg, as_json)
			: print_hits(answer->hits, as_json);
}

} // namespace

LETHE_COMMAND("hits", "Hit records and their images (investigators; purpose and case required)",
	      run_hits);

} // namespace lethe::cli
