// SPDX-License-Identifier: GPL-3.0-or-later
// Investigations: an investigator's question (retro-hit query, hit list, hit crop) checked,
// answered, recorded.
//
// One workflow for the daemon's control socket and the CLI's --state-dir path: validate the
// question, authorize it (role, purpose, case, policy; a refusal is recorded by the
// authorizer), clamp a query to the retention window, look it up, record the outcome, and
// answer only if the record was written ("no trace, no answer"). The plate asked for is never
// logged: the audit entry carries the keyed digest of the query terms, or the plate itself
// once it was seen (a retro-hit).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/audit/audit_log.h"
#include "lethe/audit/roles.h"
#include "lethe/common/crypto.h"
#include "lethe/common/result.h"
#include "lethe/retention/lookup.h"
#include "lethe/retention/retention.h"

namespace lethe::investigate {

/// What is asked. action: RetroHitQuery, HitsList or HitsCrop.
struct Question {
	audit::Action action = audit::Action::HitsList;
	std::string purpose;
	std::string case_number;
	std::string plate;        ///< RetroHitQuery: required; wiped by ask()
	std::string event_id;     ///< HitsCrop: the hit's event id (a UUID v4, as published)
	audit::TimePoint since{}; ///< RetroHitQuery, HitsList: from when (clamped to retention)
};

/// A stored hit record, as listed.
struct HitRow {
	std::string event_id; ///< as published (the MQTT event's event_id)
	std::string plate, camera, list_id, category;
	audit::TimePoint seen{};
};

struct Answer {
	retention::PlateLookup sightings; ///< RetroHitQuery
	std::vector<HitRow> hits;         ///< HitsList
	crypto::SecretBytes jpeg;         ///< HitsCrop
};

/// Answer `question` for `who` from `store` (lent; null: nothing was ever retained, so every
/// answer is empty and a crop is -ENOENT). Errors: -EINVAL the question is malformed (no
/// plate, no valid event id; nothing recorded); -EACCES refused (recorded by the authorizer);
/// -EPERM refused by the store; -ENOSYS the store cannot answer here (keys in RAM); -ENOENT
/// no such image; any other: the lookup or its record failed.
[[nodiscard]] Result<Answer> ask(Question &question, const audit::Principal &who,
                                 audit::Authorizer &authorizer, const policy::Policy &policy,
                                 retention::Retention *store,
                                 const std::filesystem::path &state_dir,
                                 audit::TimePoint now = audit::Clock::now());

/// The retention store of state_dir for a reader that is not the daemon (the CLI's
/// --state-dir path): null if nothing was ever retained there (no database is created by
/// asking).
[[nodiscard]] Result<std::unique_ptr<retention::Retention>>
open_records(const std::filesystem::path &state_dir, const policy::Policy &policy);

// One JSON form for answers, on the control socket and in `--json` output.
[[nodiscard]] nlohmann::json sightings_json(const retention::PlateLookup &found);
[[nodiscard]] retention::PlateLookup sightings_from_json(const nlohmann::json &rows,
                                                         std::size_t skipped);
[[nodiscard]] nlohmann::json hits_json(const std::vector<HitRow> &rows);
[[nodiscard]] std::vector<HitRow> hits_from_json(const nlohmann::json &rows);

} // namespace lethe::investigate
