// SPDX-License-Identifier: GPL-3.0-or-later
// Daemon: control-socket commands — who may do what, dispatch, investigations, and the record of
// each session.
#include "daemon.h"

#include <algorithm>
#include <vector>

#include "lethe/common/crypto.h"
#include "lethe/common/log.h"
#include "lethe/investigate/investigation.h"

namespace lethe::daemon {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// A command name from a request, copied into the log only if it looks like one ([a-z.],
/// 1..32): a client could send anything, plate text included.
std::string loggable_command(const std::string &name)
{
	const bool ok = !name.empty() && name.size() <= 32 &&
	                std::all_of(name.begin(), name.end(),
	                            [](char c) { return (c >= 'a' && c <= 'z') || c == '.'; });
	return ok ? name : "?";
}

} // namespace

void Daemon::rejected(int fd, const std::string &reason)
{
	const auto authz = authorizer();
	auto who = authz->identify_peer(fd);
	audit::AuditEntry e;
	e.actor = who ? who->user : "unknown";
	if (who && who->uid != static_cast<uid_t>(-1))
		e.uid = static_cast<std::int64_t>(who->uid);
	std::string roles;
	if (who)
		for (audit::Role r : who->roles)
			roles += (roles.empty() ? "" : ",") + std::string(audit::role_name(r));
	e.role = roles.empty() ? std::string(audit::role_name(audit::Role::None)) : roles;
	e.organisation = authz->role_map().organisation;
	e.action = "control";
	e.target = audit::AuditTarget::object("control:session");
	e.outcome = audit::Outcome::Refused;
	e.reason = reason;
	e.policy_hash = current_policy().hash;
	if (Status s = audit_->append(std::move(e)); !s) {
		LOG(Audit, Error) << "control session not recorded: " << s.error().message;
	}
}

void Daemon::throttled(uid_t uid, std::uint64_t busy, std::uint64_t dropped)
{
	// One record for a whole flood (ControlServer calls this at most every 10 s per uid):
	// the trail shows it happened and how big it was, without one fdatasync per request.
	audit::AuditEntry e;
	e.actor = "uid:" + std::to_string(uid);
	e.uid = static_cast<std::int64_t>(uid);
	e.role = std::string(audit::role_name(audit::Role::None));
	e.organisation = authorizer()->role_map().organisation;
	e.action = "control";
	e.target = audit::AuditTarget::object("control:session");
	e.outcome = audit::Outcome::Refused;
	e.reason = std::to_string(busy) + " request(s) over the per-user rate answered busy, " +
	           std::to_string(dropped) + " unfinished session(s) closed for newer ones";
	e.policy_hash = current_policy().hash;
	LOG(Daemon, Warning) << "control socket: uid " << uid << ": " << e.reason;
	if (Status s = audit_->append(std::move(e)); !s) {
		LOG(Audit, Error) << "control throttling not recorded: " << s.error().message;
	}
}

const std::vector<Daemon::Command> &Daemon::commands()
{
	// Who may run each command is decided by its action (audit::Authorizer and the policy,
	// docs/audit.md), never here. Investigations need a purpose and a case (investigate()).
	using A = audit::Action;
	static const std::vector<Command> table = {
	    {"status", A::Status, [](Daemon &d, const json &, uid_t) { return d.status_json(); }},
	    {"camera.list", A::CameraList,
	     [](Daemon &d, const json &, uid_t) { return d.camera_list_json(); }},
	    {"camera.snapshot", A::CameraSnapshot,
	     [](Daemon &d, const json &r, uid_t uid) { return d.snapshot_json(r, uid); }},
	    {"selftest", A::SelfTest,
	     [](Daemon &d, const json &, uid_t) { return d.selftest_json(); }},
	    {"reload", A::ConfigChange,
	     [](Daemon &d, const json &, uid_t) {
		     Status s = d.reload();
		     return s ? json{{"ok", true}} : error_reply("failed", s.error().message);
	     }},
	    {"query", A::RetroHitQuery, nullptr},
	    {"hits.list", A::HitsList, nullptr},
	    {"hits.crop", A::HitsCrop, nullptr},
	};
	return table;
}

json Daemon::handle(const json &request, int fd)
{
	const std::string command = request["command"].get<std::string>();
	// Every session is recorded: who (SO_PEERCRED), which role, what, and how it ended.
	const auto authz = authorizer();
	const auto &table = commands();
	const auto it = std::find_if(table.begin(), table.end(),
	                             [&](const Command &c) { return c.name == command; });
	if (it == table.end()) {
		const std::string why = "unknown command '" + loggable_command(command) + "'";
		rejected(fd, why);
		return error_reply("usage", why);
	}
	auto who = authz->identify_peer(fd);
	if (!who) {
		rejected(fd, "cannot identify the caller: " + who.error().message);
		return error_reply("forbidden",
		                   "cannot identify the caller: " + who.error().message);
	}
	audit::AccessRequest req;
	req.action = it->action;
	// The camera asked for, in the log only if it is one of ours (the client's text could be
	// anything).
	std::string camera = "*";
	if (request.contains("camera")) {
		camera = "?";
		std::lock_guard lock(config_mutex_);
		for (const auto &c : config_.cameras)
			if (request["camera"].is_string() &&
			    request["camera"].get<std::string>() == c.source.camera_id)
				camera = c.source.camera_id;
	}
	const bool snapshot = req.action == audit::Action::CameraSnapshot;
	req.target =
	    audit::AuditTarget::object(snapshot ? "camera:" + camera : "control:" + command);
	const policy::Policy policy = current_policy();
	if (audit::requires_purpose(req.action))
		return answer_investigation(request, fd, *who, req.action, policy);
	auto role = authz->authorize(*who, req, policy);
	if (!role)
		return error_reply("forbidden", role.error().message);

	const json reply = it->run(*this, request, who->uid);
	const bool ok = reply.value("ok", false);
	std::optional<audit::AuditTarget> target;
	if (snapshot && ok)
		target =
		    audit::AuditTarget::object("camera:" + reply.value("camera", std::string()));
	if (Status s = authz->record(
	        *who, *role, req, policy, ok ? audit::Outcome::Success : audit::Outcome::Failed,
	        snapshot ? std::optional<std::int64_t>(ok ? 1 : 0) : std::nullopt,
	        target ? &*target : nullptr, ok ? std::string() : reply.value("error", ""));
	    !s) {
		// The action happened but left no trace: say so rather than answer as if all is
		// well.
		LOG(Audit, Error) << "control session not recorded: " << s.error().message;
		if (snapshot)
			return error_reply("failed",
			                   "the snapshot could not be recorded in the audit "
			                   "log: " +
			                       s.error().message);
	}
	return reply;
}

json Daemon::answer_investigation(const json &request, int fd, const audit::Principal &who,
                                  audit::Action action, const policy::Policy &policy)
{
	// An investigator's question, answered from the live store (the only way when keys are
	// kept in RAM) by the one investigation workflow (lethe/investigate).
	auto text = [&](const char *key) {
		return request.contains(key) && request[key].is_string()
		           ? request[key].get<std::string>()
		           : std::string();
	};
	investigate::Question q;
	q.action = action;
	q.purpose = text("purpose");
	q.case_number = text("case");
	if (action == audit::Action::RetroHitQuery)
		q.plate = text("plate");
	if (action == audit::Action::HitsCrop)
		q.event_id = text("event_id");
	const auto now = audit::Clock::now();
	const std::string since_text = text("since");
	if (!since_text.empty()) {
		auto since = audit::parse_time(since_text, now);
		if (!since) {
			crypto::wipe(q.plate);
			return error_reply("usage", since.error().message);
		}
		q.since = *since;
	}
	auto answer = investigate::ask(q, who, *authorizer(), policy, retention_.get(),
	                               retention_->state_dir(), now);
	if (!answer) {
		const int code = answer.error().code;
		if (code == -EINVAL) {
			rejected(fd, action == audit::Action::RetroHitQuery
			                 ? "query without a plate"
			                 : "hits.crop without a valid event id");
			return error_reply("usage", answer.error().message);
		}
		return error_reply(code == -EACCES || code == -EPERM ? "forbidden" : "failed",
		                   answer.error().message);
	}
	json reply = {{"ok", true}};
	if (action == audit::Action::RetroHitQuery) {
		reply["sightings"] = investigate::sightings_json(answer->sightings);
		reply["skipped"] = answer->sightings.skipped;
	} else if (action == audit::Action::HitsCrop) {
		reply["event_id"] = q.event_id;
		reply["jpeg"] = crypto::to_base64(answer->jpeg.data(), answer->jpeg.size());
	} else {
		reply["hits"] = investigate::hits_json(answer->hits);
	}
	return reply;
}

} // namespace lethe::daemon
