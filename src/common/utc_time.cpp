// SPDX-License-Identifier: GPL-3.0-or-later
// ISO 8601 UTC parsing and formatting shared by policies, hot lists and records.
#include "lethe/common/utc_time.h"

#include <cerrno>
#include <charconv>
#include <cstdio>

namespace lethe {

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t len, int &out)
{
	for (std::size_t i = pos; i < pos + len; ++i)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return std::from_chars(s.data() + pos, s.data() + pos + len, out).ec == std::errc{};
}

/// "YYYY-MM-DDTHH:MM:SS" of a UTC time in whole seconds.
std::string date_time(std::chrono::sys_seconds secs)
{
	using namespace std::chrono;
	const auto day = floor<days>(secs);
	const year_month_day ymd{day};
	const hh_mm_ss hms{secs - day};
	char buf[64];
	std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d", int(ymd.year()),
		      unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
		      int(hms.minutes().count()), int(hms.seconds().count()));
	return buf;
}

} // namespace

Result<UtcTime> parse_utc(std::string_view s, UtcForm form)
{
	using namespace std::chrono;
	const bool date_ok = form == UtcForm::DateOrDateTime;
	const std::string want = date_ok ? "a UTC date like 2026-01-31 or time like 2026-01-31T23:59:59Z"
					 : "a UTC time like 2026-01-31T23:59:59Z";
	const bool date_only = date_ok && s.size() == 10;
	if (!date_only && (s.size() != 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z'))
		return make_error(-EINVAL, "'" + std::string(s) + "' is not " + want);
	if (s[4] != '-' || s[7] != '-')
		return make_error(-EINVAL, "'" + std::string(s) + "' is not " + want);
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
	if (!digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) ||
	    (!date_only && (!digits(s, 11, 2, h) || !digits(s, 14, 2, mi) || !digits(s, 17, 2, se))))
		return make_error(-EINVAL, "'" + std::string(s) + "' is not " + want);
	const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
				 day{static_cast<unsigned>(d)}};
	if (!ymd.ok() || h > 23 || mi > 59 || se > 59)
		return make_error(-EINVAL, "'" + std::string(s) + "' is not a valid UTC date and time");
	if (y < 1970 || y > 2200)
		return make_error(-ERANGE, "'" + std::string(s) + "': year outside 1970..2200");
	return UtcTime{sys_days{ymd} + hours{h} + minutes{mi} + seconds{se}};
}

std::string format_utc(UtcTime t)
{
	using namespace std::chrono;
	if (t == UtcTime::min())
		return "-infinity";
	if (t == UtcTime::max())
		return "infinity";
	return date_time(floor<seconds>(t)) + "Z";
}

std::string format_utc_ms(UtcTime t)
{
	using namespace std::chrono;
	// Truncated to milliseconds first, then floored to seconds: times before 1970 keep a
	// non-negative fraction (as gmtime_r-based formatting did).
	const auto ms = duration_cast<milliseconds>(t.time_since_epoch());
	const auto secs = floor<seconds>(ms);
	char frac[8];
	std::snprintf(frac, sizeof(frac), ".%03dZ", static_cast<int>((ms - secs).count()));
	return date_time(sys_seconds{secs}) + frac;
}

} // namespace lethe
