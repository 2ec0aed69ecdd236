// SPDX-License-Identifier: GPL-3.0-or-later
// Investigations: validate, authorize, look up, record, answer (the daemon's and the CLI's).
#include "lethe/investigate/investigation.h"

#include <cerrno>

#include "lethe/audit/query_digest.h"
#include "lethe/publish/event.h"

namespace lethe::investigate {
namespace {

/// Look up what was asked (after authorization). count: rows answered.
Status look_up(const Question &q, const policy::Policy &policy, retention::Retention *store,
               const std::filesystem::path &state_dir, audit::TimePoint now, Answer &answer,
               std::int64_t &count)
{
	switch (q.action) {
	case audit::Action::RetroHitQuery: {
		// Never further back than the policy keeps non-hit digests.
		const audit::TimePoint window = now - policy.retention.nonhit_digest;
		const audit::TimePoint from = q.since < window ? window : q.since;
		if (store) {
			auto found = retention::find_plate(*store, q.plate, from, policy.hotlist);
			if (!found)
				return found.error();
			answer.sightings = std::move(found).value();
		}
		count = static_cast<std::int64_t>(answer.sightings.sightings.size());
		return {};
	}
	case audit::Action::HitsCrop: {
		if (!store)
			return make_error(-ENOENT, "no image for hit " + q.event_id +
			                               " (no hit records in " + state_dir.string() +
			                               ")");
		auto image = store->hit_image_of_event(q.event_id);
		if (!image)
			return image.error();
		answer.jpeg = std::move(image).value();
		count = 1;
		return {};
	}
	default: {
		if (store) {
			auto rows = store->hits(q.since);
			if (!rows)
				return rows.error();
			for (const auto &h : *rows)
				answer.hits.push_back({h.hit.event_id, h.hit.plate, h.hit.camera,
				                       h.hit.list_id, h.hit.category, h.seen});
		}
		count = static_cast<std::int64_t>(answer.hits.size());
		return {};
	}
	}
}

} // namespace

Result<Answer> ask(Question &q, const audit::Principal &who, audit::Authorizer &authorizer,
                   const policy::Policy &policy, retention::Retention *store,
                   const std::filesystem::path &state_dir, audit::TimePoint now)
{
	struct WipePlate {
		std::string &plate;
		~WipePlate() { crypto::wipe(plate); }
	} wipe{q.plate};
	const bool query = q.action == audit::Action::RetroHitQuery;
	const bool crop = q.action == audit::Action::HitsCrop;
	if (!query && !crop && q.action != audit::Action::HitsList)
		return make_error(-EINVAL, "not an investigation");
	if (query && q.plate.empty())
		return make_error(-EINVAL, "a plate is required");
	// Only an id as the daemon makes them reaches the log (client text is never copied).
	if (crop && !publish::is_uuid_v4(q.event_id))
		return make_error(-EINVAL,
		                  "an event_id (the hit's UUID, as published) is required");

	audit::AccessRequest req;
	req.action = q.action;
	req.purpose = q.purpose;
	req.case_number = q.case_number;
	if (query) {
		auto digest = audit::term_digest(state_dir, q.plate);
		if (!digest)
			return digest.error();
		req.target = audit::AuditTarget::digest(*digest);
	} else if (crop) {
		req.target = audit::AuditTarget::object("hit:" + q.event_id);
	}
	auto role = authorizer.authorize(who, req, policy); // a refusal is recorded here
	if (!role)
		return make_error(-EACCES, role.error().message);

	Answer answer;
	std::int64_t count = 0;
	const Status found = look_up(q, policy, store, state_dir, now, answer, count);
	// A plate that was seen is a (retro-)hit: its text may be recorded. Otherwise only the
	// keyed digest of the query terms is.
	std::optional<audit::AuditTarget> seen_plate;
	if (found && query && count > 0)
		seen_plate = audit::AuditTarget::hit_plate(q.plate);
	const Status recorded = authorizer.record(
	    who, *role, req, policy, found ? audit::Outcome::Success : audit::Outcome::Failed,
	    found ? std::optional<std::int64_t>(count) : std::nullopt,
	    seen_plate ? &*seen_plate : nullptr, found ? std::string() : found.error().message);
	if (!found)
		return found.error();
	if (!recorded) // no trace, no answer
		return make_error(recorded.error().code == -EACCES ? -EIO : recorded.error().code,
		                  "the access could not be recorded in the audit log, not "
		                  "answering: " +
		                      recorded.error().message);
	return answer;
}

Result<std::unique_ptr<retention::Retention>> open_records(const std::filesystem::path &state_dir,
                                                           const policy::Policy &policy)
{
	if (!std::filesystem::exists(state_dir / retention::kDatabaseName))
		return std::unique_ptr<retention::Retention>{};
	retention::Config cfg;
	cfg.state_dir = state_dir;
	return retention::Retention::create(cfg, policy);
}

nlohmann::json sightings_json(const retention::PlateLookup &found)
{
	nlohmann::json out = nlohmann::json::array();
	for (const auto &r : found.sightings)
		out.push_back({{"camera", r.camera},
		               {"seen", audit::format_time(r.seen)},
		               {"match", r.match}});
	return out;
}

retention::PlateLookup sightings_from_json(const nlohmann::json &rows, std::size_t skipped)
{
	retention::PlateLookup found;
	for (const auto &row : rows) {
		auto seen = audit::parse_time(row.value("seen", ""));
		found.sightings.push_back({row.value("camera", ""),
		                           seen ? *seen : audit::TimePoint{},
		                           row.value("match", "exact")});
	}
	found.skipped = skipped;
	return found;
}

nlohmann::json hits_json(const std::vector<HitRow> &rows)
{
	nlohmann::json out = nlohmann::json::array();
	for (const auto &r : rows)
		out.push_back({{"event_id", r.event_id},
		               {"plate", r.plate},
		               {"camera", r.camera},
		               {"list", r.list_id},
		               {"category", r.category},
		               {"seen", audit::format_time(r.seen)}});
	return out;
}

std::vector<HitRow> hits_from_json(const nlohmann::json &rows)
{
	std::vector<HitRow> out;
	for (const auto &h : rows) {
		auto seen = audit::parse_time(h.value("seen", ""));
		out.push_back({h.value("event_id", ""), h.value("plate", ""), h.value("camera", ""),
		               h.value("list", ""), h.value("category", ""),
		               seen ? *seen : audit::TimePoint{}});
	}
	return out;
}

} // namespace lethe::investigate
