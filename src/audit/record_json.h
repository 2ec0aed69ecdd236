// SPDX-License-Identifier: GPL-3.0-or-later
// Canonical JSON form of audit records (private to src/audit and the audit CLI).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lethe/audit/audit_log.h"

namespace lethe::audit {

/// Canonical serialisation: keys sorted (nlohmann::json's std::map), no whitespace, non-ASCII
/// escaped as \uXXXX, invalid UTF-8 replaced. A stored line must equal canonical(parse(line)).
[[nodiscard]] inline std::string canonical(const nlohmann::json &j)
{
	return j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

/// j[key] if it is a string, else "" (never throws on a modified record).
[[nodiscard]] inline std::string str_field(const nlohmann::json &j, const char *key)
{
	if (j.is_object()) {
		auto it = j.find(key);
		if (it != j.end() && it->is_string())
			return it->get<std::string>();
	}
	return {};
}

struct Anchor {
	std::uint64_t seq = 0;     ///< first retained record
	std::string prev;          ///< hash of the last purged record
	std::uint64_t purged = 0;  ///< records purged in all
	TimePoint time{}, until{};
	std::string genesis;       ///< "created" of the log's genesis ("" in anchors written before
				   ///< genesis records existed: a log upgraded in place)
};

/// The signed first line of a log (docs/audit.md, "genesis"): not a link of the chain, it
/// binds the device key and the time the identity was created to the start of the chain.
struct Genesis {
	std::string key;           ///< device key id
	std::string created;       ///< when the identity was created (canonical UTC text)
	TimePoint time{};          ///< when the genesis was written
	bool upgraded = false;     ///< prepended to a log written before genesis records existed
};

[[nodiscard]] nlohmann::json entry_to_json(const AuditEntry &entry);
/// Strict: unknown keys or wrong types are errors.
[[nodiscard]] Result<AuditEntry> parse_entry(const nlohmann::json &j);
[[nodiscard]] Result<Anchor> parse_anchor(const nlohmann::json &j);
/// Checks the genesis record's shape (not its signature).
[[nodiscard]] Result<Genesis> parse_genesis(const nlohmann::json &j);
/// Checks the seal's shape (not its signature); returns its time.
[[nodiscard]] Result<TimePoint> parse_seal(const nlohmann::json &j);
/// Parse a stored line into a Record (shape only; use verify_log_text for integrity).
[[nodiscard]] Result<Record> parse_record(std::string_view line);

} // namespace lethe::audit
