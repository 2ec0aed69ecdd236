// SPDX-License-Identifier: GPL-3.0-or-later
// What an audit entry is about (plate text only for hits, by type) and how it ended.
#pragma once

#include <string>
#include <string_view>

namespace lethe::audit {

/// What an entry is about. Plate text is only ever stored through hit_plate(): for a read that
/// matched a hot list. Anything else that identifies a vehicle is passed as a keyed digest.
class AuditTarget
{
public:
	enum class Kind { None, HitPlate, Digest, Object };

	AuditTarget() = default;
	/// Plate text of a hit (a read that matched a hot list, or a query that found one).
	[[nodiscard]] static AuditTarget hit_plate(std::string_view text);
	/// A keyed digest (lowercase hex, 32..128 digits) of a plate that is not a hit.
	/// Anything that is not hex is rejected when the entry is appended.
	[[nodiscard]] static AuditTarget digest(std::string_view hex);
	/// A named object that is not a vehicle: a policy id, hot-list id, file, socket session...
	[[nodiscard]] static AuditTarget object(std::string_view name);

	[[nodiscard]] Kind kind() const { return kind_; }
	[[nodiscard]] const std::string &value() const { return value_; }
	[[nodiscard]] static std::string_view kind_name(Kind k);

private:
	AuditTarget(Kind k, std::string_view v) : kind_(k), value_(v) {}
	Kind kind_ = Kind::None;
	std::string value_;
};

enum class Outcome { Success, Refused, Failed };
[[nodiscard]] std::string_view outcome_name(Outcome o);

} // namespace lethe::audit
