// SPDX-License-Identifier: GPL-3.0-or-later
// Builds the retention report from the state directory, read-only.
#include "lethe/retention/report.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "lethe/common/utc_time.h"
#include "lethe/retention/retention.h"
#include "lethe/store/database.h"

namespace lethe::retention {
namespace {

namespace fs = std::filesystem;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::int64_t to_ms(WallTime t)
{
	return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

nlohmann::json policy_json(const PolicyRef &p)
{
	nlohmann::json j = {{"id", p.id}, {"version", p.version}, {"hash", p.hash},
			    {"in_force", p.in_force}};
	if (!p.problem.empty())
		j["problem"] = p.problem;
	return j;
}

} // namespace

std::optional<WallTime> persisted_high_water(const fs::path &state_dir)
{
	const fs::path db_path = state_dir / std::string(kDatabaseName);
	std::error_code ec;
	if (!fs::exists(db_path, ec))
		return std::nullopt;
	store::Database::Options o;
	o.read_only = true;
	auto db = store::Database::open(db_path, o);
	if (!db)
		return std::nullopt;
	auto q = (*db)->prepare("SELECT value FROM meta WHERE key = 'high_water_ms'");
	if (!q)
		return std::nullopt;
	auto row = q->step();
	if (!row || !*row)
		return std::nullopt;
	std::int64_t ms = 0;
	const std::string v = q->column_text(0);
	if (std::from_chars(v.data(), v.data() + v.size(), ms).ec != std::errc{})
		return std::nullopt;
	return WallTime{milliseconds{ms}};
}

WallTime trusted_now(const fs::path &state_dir, WallTime wall)
{
	const auto mark = persisted_high_water(state_dir);
	return mark ? std::max(wall, *mark) : wall;
}

Result<Report> build_report(const fs::path &state_dir, WallTime now)
{
	Report rep;
	rep.generated = now;
	rep.state_dir = state_dir.string();
	for (DataClass c : kDataClasses) {
		ClassReport cr;
		cr.name = std::string(class_name(c));
		rep.classes.push_back(cr);
	}

	const fs::path db_path = state_dir / std::string(kDatabaseName);
	std::error_code ec;
	if (fs::exists(db_path, ec)) {
		rep.database_present = true;
		store::Database::Options o;
		o.read_only = true;
		auto db = store::Database::open(db_path, o);
		if (!db)
			return db.error();
		auto meta = (*db)->prepare("SELECT key, value FROM meta");
		if (!meta)
			return meta.error();
		nlohmann::json applied;
		for (;;) {
			auto row = meta->step();
			if (!row)
				return row.error();
			if (!*row)
				break;
			const std::string k = meta->column_text(0);
			const std::string v = meta->column_text(1);
			if (k == "key_mode")
				rep.key_mode = v;
			else if (k == "high_water_ms")
				rep.high_water = WallTime{milliseconds{std::stoll(v)}};
			else if (k == "clock_setback_ms")
				rep.clock_setback_ms = std::stoll(v);
			else if (k == "nonhit_plaintext_max_us")
				rep.nonhit_plaintext_max_us = std::stoll(v);
			else if (k == "policy")
				applied = nlohmann::json::parse(v, nullptr, false);
		}
		if (applied.is_object()) {
			PolicyRef p;
			p.id = applied.value("id", "");
			p.version = applied.value("version", std::uint64_t{0});
			p.hash = applied.value("hash", "");
			rep.applied = p;
			const auto ret = applied.value("retention_s", nlohmann::json::object());
			for (auto &cr : rep.classes) {
				if (ret.contains(cr.name))
					cr.retention_s = ret[cr.name].get<std::int64_t>();
			}
			// An image never outlives its record.
			if (rep.classes[2].retention_s >= 0 && rep.classes[1].retention_s >= 0)
				rep.classes[2].retention_s = std::min(rep.classes[2].retention_s,
								      rep.classes[1].retention_s);
		}
		for (auto &cr : rep.classes) {
			auto st = (*db)->prepare("SELECT count(*), min(seen_ms) FROM " + cr.name);
			if (!st)
				return st.error();
			auto row = st->step();
			if (!row)
				return row.error();
			cr.kept = st->column_int64(0);
			if (!st->is_null(1)) {
				cr.oldest = WallTime{milliseconds{st->column_int64(1)}};
				cr.longest_ms = std::max<std::int64_t>(0, to_ms(now) -
									   st->column_int64(1));
			}
			auto stats = (*db)->prepare("SELECT purged, not_stored, longest_ms FROM "
						    "class_stats WHERE class = ?");
			if (!stats)
				return stats.error();
			stats->bind(1, cr.name);
			auto srow = stats->step();
			if (!srow)
				return srow.error();
			if (*srow) {
				cr.purged = stats->column_int64(0);
				cr.not_stored = stats->column_int64(1);
				cr.longest_ms = std::max(cr.longest_ms, stats->column_int64(2));
			}
		}
	}

	// Live keys per purpose (file mode: the key files; RAM mode: not visible from here).
	const fs::path keys = state_dir / "keys";
	if (rep.key_mode != "ram") {
		for (auto &cr : rep.classes)
			cr.keys = 0;
		const std::string purposes[] = {"digest", "hit-record", "hit-image"};
		if (fs::is_directory(keys, ec)) {
			for (const auto &e : fs::directory_iterator(keys, ec)) {
				const std::string n = e.path().filename().string();
				for (std::size_t i = 0; i < 3; ++i)
					if (n.rfind(purposes[i] + "-", 0) == 0 &&
					    n.size() > 4 && n.compare(n.size() - 4, 4, ".key") == 0 &&
					    n.find_first_not_of("0123456789", purposes[i].size() + 1) ==
						    n.size() - 4)
						++rep.classes[i].keys;
			}
		}
	}

	const std::int64_t plaintext_ms = (rep.nonhit_plaintext_max_us + 999) / 1000;
	rep.nonhit_longest_ms = std::max(rep.classes[0].longest_ms, plaintext_ms);
	return rep;
}

nlohmann::json report_json(const Report &r)
{
	nlohmann::json classes = nlohmann::json::object();
	for (const auto &c : r.classes) {
		nlohmann::json j = {{"kept", c.kept},
				    {"purged", c.purged},
				    {"not_stored", c.not_stored},
				    {"oldest", c.oldest ? nlohmann::json(format_utc_ms(*c.oldest))
							: nlohmann::json(nullptr)},
				    {"longest_s", static_cast<double>(c.longest_ms) / 1000.0},
				    {"retention_s", c.retention_s >= 0 ? nlohmann::json(c.retention_s)
								       : nlohmann::json(nullptr)},
				    {"live_keys", c.keys >= 0 ? nlohmann::json(c.keys)
							      : nlohmann::json(nullptr)}};
		classes[c.name] = j;
	}
	nlohmann::json installed = nlohmann::json::array();
	for (const auto &p : r.installed)
		installed.push_back(policy_json(p));
	nlohmann::json j = {
		{"format", "lethe-retention-report/1"},
		{"generated", format_utc_ms(r.generated)},
		{"state_dir", r.state_dir},
		{"database_present", r.database_present},
		{"key_mode", r.key_mode.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.key_mode)},
		{"classes", classes},
		{"nonhit_longest_s", static_cast<double>(r.nonhit_longest_ms) / 1000.0},
		{"nonhit_plaintext_max_us", r.nonhit_plaintext_max_us},
		{"high_water", r.high_water ? nlohmann::json(format_utc_ms(*r.high_water))
					    : nlohmann::json(nullptr)},
		{"clock_setback_s", static_cast<double>(r.clock_setback_ms) / 1000.0},
		{"applied_policy", r.applied ? policy_json(*r.applied) : nlohmann::json(nullptr)},
		{"installed_policies", installed},
		{"effective_policy", r.effective ? policy_json(*r.effective) : nlohmann::json(nullptr)},
		{"effective_is_fallback", r.effective_is_fallback},
	};
	return j;
}

std::string report_text(const Report &r)
{
	std::string out;
	char line[256];
	out += "Retention report for " + r.state_dir + " at " + format_utc_ms(r.generated) + "\n";
	if (!r.database_present)
		out += "  no retention database: nothing has been stored\n";
	out += "  key mode: " + (r.key_mode.empty() ? std::string("unknown") : r.key_mode) + "\n\n";
	std::snprintf(line, sizeof(line), "  %-14s %10s %10s %10s %12s %12s %6s  %s\n", "class",
		      "kept", "purged", "not-stored", "retention-s", "longest-s", "keys", "oldest");
	out += line;
	for (const auto &c : r.classes) {
		std::snprintf(line, sizeof(line), "  %-14s %10lld %10lld %10lld %12s %12.3f %6s  %s\n",
			      c.name.c_str(), static_cast<long long>(c.kept),
			      static_cast<long long>(c.purged), static_cast<long long>(c.not_stored),
			      c.retention_s >= 0 ? std::to_string(c.retention_s).c_str() : "?",
			      static_cast<double>(c.longest_ms) / 1000.0,
			      c.keys >= 0 ? std::to_string(c.keys).c_str() : "ram",
			      c.oldest ? format_utc_ms(*c.oldest).c_str() : "-");
		out += line;
	}
	std::snprintf(line, sizeof(line),
		      "\n  longest any non-hit existed: %.3f s (as plaintext in memory: %lld us)\n",
		      static_cast<double>(r.nonhit_longest_ms) / 1000.0,
		      static_cast<long long>(r.nonhit_plaintext_max_us));
	out += line;
	if (r.clock_setback_ms > 0) {
		std::snprintf(line, sizeof(line),
			      "  WARNING: wall clock found %.1f s behind the high-water mark at "
			      "start-up (retention used the later time)\n",
			      static_cast<double>(r.clock_setback_ms) / 1000.0);
		out += line;
	}
	auto pol = [](const PolicyRef &p) {
		return p.id + " v" + std::to_string(p.version) + " sha256:" +
		       (p.hash.empty() ? std::string("-") : p.hash) +
		       (p.in_force ? "" : " (NOT in force: " + p.problem + ")");
	};
	out += "\n  policy applied by retention: " + (r.applied ? pol(*r.applied) : "-") + "\n";
	if (r.effective)
		out += "  effective policy: " + pol(*r.effective) +
		       (r.effective_is_fallback ? " (fallback: strictest)" : "") + "\n";
	for (const auto &p : r.installed)
		out += "  installed: " + pol(p) + "\n";
	return out;
}

} // namespace lethe::retention
