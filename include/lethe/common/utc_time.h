// SPDX-License-Identifier: GPL-3.0-or-later
// ISO 8601 UTC times as Lethe's signed files and records write them ("2026-11-26T10:00:00Z").
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "lethe/common/result.h"

namespace lethe {

using UtcTime = std::chrono::system_clock::time_point;

/// Which forms parse_utc() accepts.
enum class UtcForm {
	DateTime,       ///< exactly "YYYY-MM-DDTHH:MM:SSZ"
	DateOrDateTime, ///< also "YYYY-MM-DD" (midnight UTC), as hot-list sources write dates
};

/// Strict parse: digits where digits belong, a real calendar date, years 1970..2200 (later
/// years overflow system_clock's nanosecond range — found by fuzzing). -EINVAL/-ERANGE with
/// a message that shows the expected form.
[[nodiscard]] Result<UtcTime> parse_utc(std::string_view text, UtcForm form = UtcForm::DateTime);

/// "2026-11-26T15:00:00Z" (UTC, whole seconds); time_point::min()/max() print as
/// "-infinity"/"infinity" (an open validity bound).
[[nodiscard]] std::string format_utc(UtcTime t);

/// "2026-11-26T15:00:00.123Z" (UTC, milliseconds): the form of audit records, hit events and
/// retention reports.
[[nodiscard]] std::string format_utc_ms(UtcTime t);

} // namespace lethe
