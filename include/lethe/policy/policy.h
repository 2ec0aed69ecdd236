// SPDX-License-Identifier: GPL-3.0-or-later
// The retention/sharing policy in force: typed form of a signed policy bundle.
//
// This struct is the contract between src/policy (parsing, signatures, install,
// composition) and its consumers (retention, store, hotlist, publish, audit).
// Add fields; do not rename them without updating every consumer.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lethe::policy {

using Seconds = std::chrono::seconds;
using TimePoint = std::chrono::system_clock::time_point;

/// How long each class of data may exist. 0 = destroy immediately.
struct Retention {
	Seconds nonhit_digest{0}; ///< keyed digest + time + camera of a read that matched nothing
	Seconds hit_record{0};    ///< a read that matched a hot list (text, time, camera, list)
	Seconds hit_image{0};     ///< the JPEG crop of a hit
	Seconds outbox{0};        ///< an unsent hit waiting for the broker
	Seconds audit_log{0};     ///< audit entries; never below audit_log_minimum
	Seconds audit_log_minimum{0};
	Seconds key_rotation{3600}; ///< epoch length for digest/data keys
};

/// One allowed destination for hits.
struct Recipient {
	std::string name;    ///< e.g. "state-fusion-center"
	std::string broker;  ///< host:port as configured in the publisher
	std::vector<std::string> topics; ///< exact MQTT topics hits may be sent to
	std::string purpose; ///< why this recipient may receive hits
	bool public_agency = true; ///< SB 34: sharing only with public agencies
};

struct HotlistRules {
	Seconds max_age{86400};               ///< older lists mark hits stale
	bool publish_stale = false;           ///< send stale hits at all?
	std::vector<std::string> categories;  ///< allowed hot-list categories
	bool match_confusions = true;         ///< tolerate O/0, I/1, B/8, ...
	int max_edit_distance = 0;            ///< 0 or 1 missing/extra character
};

struct Policy {
	std::string id;
	std::uint64_t version = 0;
	std::string issuer;
	TimePoint not_before{};
	TimePoint not_after{};
	std::string jurisdiction;
	Retention retention;
	HotlistRules hotlist;
	std::vector<Recipient> recipients;
	bool retro_hit_queries = false;
	std::string hash; ///< hex SHA-256 of the signed bundle (empty for the built-in strictest)

	// Added by src/policy (parse/install/compose); see docs/policy.md.
	/// SB 34 style: every recipient must be a public agency (composition: any policy sets it).
	bool public_agencies_only = false;
	std::string legal_basis; ///< free text: the statutes the policy implements
	std::string key_id;      ///< hex id of the officer key that signed it (empty if unsigned)
	/// The installed policies this one is composed of (one entry for a single policy, none for
	/// the built-in strictest).
	struct Source {
		std::string id;
		std::uint64_t version = 0;
		std::string hash;
	};
	std::vector<Source> sources;
};

/// The policy in force when no valid policy is installed: nothing retained,
/// nothing published, no queries.
[[nodiscard]] Policy strictest();

} // namespace lethe::policy
