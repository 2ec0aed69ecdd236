// SPDX-License-Identifier: GPL-3.0-or-later
// Canonical JSON form of audit records: serialising entries and strict parsing.
#include "audit/record_json.h"

#include <set>

namespace lethe::audit {

using nlohmann::json;

namespace {

Error bad(const std::string &what) { return make_error(-EBADMSG, what); }

Status only_keys(const json &j, const std::set<std::string> &allowed)
{
	for (const auto &[k, v] : j.items())
		if (!allowed.count(k))
			return bad("unknown field '" + k + "'");
	return {};
}

bool get_string(const json &j, const char *key, std::string &out, bool required)
{
	if (!j.contains(key))
		return !required;
	if (!j[key].is_string())
		return false;
	out = j[key].get<std::string>();
	return true;
}

Result<TimePoint> get_time(const json &j, const char *key)
{
	std::string s;
	if (!get_string(j, key, s, true))
		return bad(std::string("missing or invalid '") + key + "'");
	auto t = parse_time(s);
	if (!t || format_time(*t) != s)
		return bad(std::string("'") + key + "' is not a canonical UTC time");
	return t;
}

} // namespace

json entry_to_json(const AuditEntry &e)
{
	json j;
	j["time"] = format_time(e.time);
	j["action"] = e.action;
	j["outcome"] = std::string(outcome_name(e.outcome));
	auto opt = [&](const char *key, const std::string &v) {
		if (!v.empty())
			j[key] = v;
	};
	opt("actor", e.actor);
	opt("role", e.role);
	opt("org", e.organisation);
	opt("purpose", e.purpose);
	opt("case", e.case_number);
	opt("recipient", e.recipient);
	opt("event", e.event);
	opt("reason", e.reason);
	opt("policy", e.policy_hash);
	if (e.target.kind() != AuditTarget::Kind::None)
		j["target"] = {{"type", std::string(AuditTarget::kind_name(e.target.kind()))},
			       {"value", e.target.value()}};
	if (e.result_count)
		j["results"] = *e.result_count;
	if (e.uid)
		j["uid"] = *e.uid;
	if (!e.counts.empty())
		j["counts"] = e.counts;
	return j;
}

Result<AuditEntry> parse_entry(const json &j)
{
	if (!j.is_object())
		return bad("entry is not an object");
	auto st = only_keys(j, {"kind", "seq", "prev", "hash", "time", "action", "outcome",
				"actor", "role", "org", "target", "purpose", "case", "results",
				"recipient", "reason", "policy", "counts", "uid", "event"});
	if (!st)
		return st.error();
	AuditEntry e;
	auto t = get_time(j, "time");
	if (!t)
		return t.error();
	e.time = *t;
	std::string outcome;
	if (!get_string(j, "action", e.action, true) || e.action.empty())
		return bad("missing or invalid 'action'");
	if (!get_string(j, "outcome", outcome, true))
		return bad("missing or invalid 'outcome'");
	if (outcome == "success")
		e.outcome = Outcome::Success;
	else if (outcome == "refused")
		e.outcome = Outcome::Refused;
	else if (outcome == "failed")
		e.outcome = Outcome::Failed;
	else
		return bad("invalid 'outcome'");
	if (!get_string(j, "actor", e.actor, false) || !get_string(j, "role", e.role, false) ||
	    !get_string(j, "org", e.organisation, false) ||
	    !get_string(j, "purpose", e.purpose, false) ||
	    !get_string(j, "case", e.case_number, false) ||
	    !get_string(j, "recipient", e.recipient, false) ||
	    !get_string(j, "event", e.event, false) ||
	    !get_string(j, "reason", e.reason, false) ||
	    !get_string(j, "policy", e.policy_hash, false))
		return bad("a text field has the wrong type");
	if (j.contains("target")) {
		const json &t2 = j["target"];
		if (!t2.is_object() || !only_keys(t2, {"type", "value"}))
			return bad("invalid 'target'");
		std::string type, value;
		if (!get_string(t2, "type", type, true) || !get_string(t2, "value", value, true))
			return bad("invalid 'target'");
		if (type == "hit_plate")
			e.target = AuditTarget::hit_plate(value);
		else if (type == "digest")
			e.target = AuditTarget::digest(value);
		else if (type == "object")
			e.target = AuditTarget::object(value);
		else
			return bad("invalid target type '" + type + "'");
	}
	if (j.contains("results")) {
		if (!j["results"].is_number_integer())
			return bad("invalid 'results'");
		e.result_count = j["results"].get<std::int64_t>();
	}
	if (j.contains("uid")) {
		if (!j["uid"].is_number_integer())
			return bad("invalid 'uid'");
		e.uid = j["uid"].get<std::int64_t>();
	}
	if (j.contains("counts")) {
		if (!j["counts"].is_object())
			return bad("invalid 'counts'");
		for (const auto &[k, v] : j["counts"].items()) {
			if (!v.is_number_integer())
				return bad("invalid count '" + k + "'");
			e.counts[k] = v.get<std::int64_t>();
		}
	}
	return e;
}

Result<Anchor> parse_anchor(const json &j)
{
	if (!j.is_object() || str_field(j, "kind") != "anchor")
		return bad("not an anchor");
	auto st = only_keys(j, {"kind", "seq", "prev", "time", "until", "purged", "key", "sig",
				"genesis"});
	if (!st)
		return st.error();
	Anchor a;
	if (!j.contains("seq") || !j["seq"].is_number_unsigned() || !j.contains("purged") ||
	    !j["purged"].is_number_unsigned() || !get_string(j, "prev", a.prev, true))
		return bad("anchor lacks seq, prev or purged");
	a.seq = j["seq"].get<std::uint64_t>();
	a.purged = j["purged"].get<std::uint64_t>();
	auto t = get_time(j, "time");
	if (!t)
		return t.error();
	a.time = *t;
	auto u = get_time(j, "until");
	if (!u)
		return u.error();
	a.until = *u;
	if (j.contains("genesis")) {
		auto g = get_time(j, "genesis");
		if (!g)
			return g.error();
		a.genesis = j["genesis"].get<std::string>();
	}
	return a;
}

Result<Genesis> parse_genesis(const json &j)
{
	if (!j.is_object() || str_field(j, "kind") != "genesis")
		return bad("not a genesis record");
	auto st = only_keys(j, {"kind", "seq", "prev", "time", "created", "key", "upgraded",
				"sig"});
	if (!st)
		return st.error();
	Genesis g;
	if (!j.contains("seq") || !j["seq"].is_number_unsigned() ||
	    j["seq"].get<std::uint64_t>() != 0 || str_field(j, "prev") != genesis_hash() ||
	    !get_string(j, "key", g.key, true) ||
	    (j.contains("upgraded") && !j["upgraded"].is_boolean()))
		return bad("genesis record lacks seq 0, the zero prev, key or a valid 'upgraded'");
	g.upgraded = j.value("upgraded", false);
	auto c = get_time(j, "created");
	if (!c)
		return c.error();
	g.created = j["created"].get<std::string>();
	auto t = get_time(j, "time");
	if (!t)
		return t.error();
	g.time = *t;
	return g;
}

Result<TimePoint> parse_seal(const json &j)
{
	if (!j.is_object() || str_field(j, "kind") != "seal")
		return bad("not a seal");
	auto st = only_keys(j, {"kind", "seq", "prev", "hash", "time", "key", "sealed", "sig"});
	if (!st)
		return st.error();
	if (!j.contains("sealed") || !j["sealed"].is_number_unsigned())
		return bad("seal lacks 'sealed'");
	return get_time(j, "time");
}

Result<Record> parse_record(std::string_view line)
{
	const json j = json::parse(line, nullptr, false);
	if (!j.is_object())
		return bad("record is not valid JSON");
	Record r;
	r.line = std::string(line);
	const std::string kind = str_field(j, "kind");
	if (!j.contains("seq") || !j["seq"].is_number_unsigned())
		return bad("record lacks 'seq'");
	r.seq = j["seq"].get<std::uint64_t>();
	r.prev = str_field(j, "prev");
	r.hash = str_field(j, "hash");
	if (kind == "entry") {
		auto e = parse_entry(j);
		if (!e)
			return e.error();
		r.kind = Record::Kind::Entry;
		r.entry = std::move(e.value());
	} else if (kind == "seal") {
		auto t = parse_seal(j);
		if (!t)
			return t.error();
		r.kind = Record::Kind::Seal;
		r.entry.time = *t;
		r.entry.action = "audit.seal";
	} else if (kind == "anchor") {
		auto a = parse_anchor(j);
		if (!a)
			return a.error();
		r.kind = Record::Kind::Anchor;
		r.entry.time = a->time;
		r.entry.action = "audit.anchor";
	} else if (kind == "genesis") {
		auto g = parse_genesis(j);
		if (!g)
			return g.error();
		r.kind = Record::Kind::Genesis;
		r.entry.time = g->time;
		r.entry.action = "audit.genesis";
	} else {
		return bad("unknown record kind '" + kind + "'");
	}
	return r;
}

} // namespace lethe::audit
