// SPDX-License-Identifier: GPL-3.0-or-later
// Daemon: what the box says about itself — health, status, selftest, topic checks, cameras.
#include "daemon.h"

#include <sys/statvfs.h>
#include <sys/timex.h>
#include <unistd.h>

#include <cstdio>

#include "lethe/common/log.h"
#include "lethe/common/memory_wipe.h"
#include "lethe/common/rounding.h"
#include "lethe/common/thread_entry.h"

namespace lethe::daemon {

using json = nlohmann::json;
using namespace std::chrono_literals;

publish::Health Daemon::health() const
{
	publish::Health h;
	PipelineStats ps;
	{
		std::lock_guard lock(pipeline_mutex_);
		if (pipeline_)
			ps = pipeline_->stats();
	}
	h.frames_per_second = ps.frames_per_second;
	h.frames = ps.frames_read;
	h.reads = ps.events;
	h.hits = router_ ? router_->stats().hits : 0;
	// The oldest list: the age an integrator alerts on.
	const auto now = std::chrono::system_clock::now();
	std::lock_guard lock(policy_mutex_);
	if (matchers_)
		for (const auto &m : *matchers_) {
			const std::int64_t age = m->age(now).count();
			if (!h.hotlist_age_s || age > *h.hotlist_age_s) {
				h.hotlist_age_s = age;
				h.hotlist_id = m->info().id;
			}
		}
	return h;
}

std::vector<Daemon::TopicCheck> Daemon::topic_checks() const
{
	policy::Policy policy;
	{
		std::lock_guard lock(policy_mutex_);
		if (effective_.fallback)
			return {};
		policy = effective_.policy;
	}
	const std::string named = "policy '" + policy.id + "' v" + std::to_string(policy.version);
	std::vector<TopicCheck> out;
	for (const auto &b : brokers_) {
		const std::string where = "broker " + b.name + " (" + b.address + "): ";
		const std::size_t before = out.size();
		if (b.topic.empty())
			out.push_back(
			    {"warn", where + "no hit_topic configured: no hit is sent there"});
		else if (!publish::Publisher::allowed(policy, b.address, b.topic))
			out.push_back({"FAIL", where + named + " does not allow the hit topic '" +
			                           b.topic + "': every hit is refused"});
		if (!b.status_topic.empty() && // "" = no status messages
		    !publish::Publisher::allowed(policy, b.address, b.status_topic)) {
			const bool set = b.status_topic_set;
			out.push_back(
			    {set ? "FAIL" : "warn", where + named + " does not allow the " +
			                                (set ? "" : "default ") + "status topic '" +
			                                b.status_topic + "': no status is sent"});
		}
		if (out.size() == before)
			out.push_back(
			    {"ok", where + named + " allows hit topic '" + b.topic + "'" +
			               (b.status_topic.empty()
			                    ? std::string(" (no status topic)")
			                    : " and status topic '" + b.status_topic + "'")});
	}
	return out;
}

void Daemon::log_topic_checks() const
{
	for (const auto &c : topic_checks()) {
		if (c.result == "FAIL") {
			LOG(Publish, Error) << c.detail;
		} else if (c.result == "warn") {
			LOG(Publish, Warning) << c.detail;
		}
	}
}

json Daemon::status_json() const
{
	json j{{"ok", true}, {"device_id", device_.id}, {"version", LETHE_VERSION}};
	j["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(
	                    std::chrono::steady_clock::now() - started_)
	                    .count();
	json problems = json::array();
	{
		std::lock_guard lock(policy_mutex_);
		const auto &p = effective_.policy;
		j["policy"] = {{"id", p.id},
		               {"version", p.version},
		               {"hash", p.hash},
		               {"fallback", effective_.fallback},
		               {"why", effective_.why}};
		if (effective_.fallback)
			problems.push_back("no valid policy: strictest mode (" + effective_.why +
			                   ")");
		json lists = json::array();
		const auto now = std::chrono::system_clock::now();
		if (matchers_)
			for (const auto &m : *matchers_) {
				const bool stale = m->stale(p.hotlist, now);
				lists.push_back({{"id", m->info().id},
				                 {"version", m->info().version},
				                 {"entries", m->size()},
				                 {"age_s", m->age(now).count()},
				                 {"stale", stale}});
				if (stale)
					problems.push_back("hot list " + m->info().id +
					                   " is stale");
			}
		j["hotlists"] = lists;
		if (!hotlist_error_.empty())
			problems.push_back("hot lists: " + hotlist_error_);
	}
	PipelineStats ps;
	{
		std::lock_guard lock(pipeline_mutex_);
		if (pipeline_)
			ps = pipeline_->stats();
	}
	json cams = json::array();
	for (const auto &c : ps.cameras) {
		const double since = c.last_frame == std::chrono::steady_clock::time_point{}
		                         ? -1
		                         : std::chrono::duration<double>(
		                               std::chrono::steady_clock::now() - c.last_frame)
		                               .count();
		cams.push_back({{"id", c.camera_id},
		                {"source", c.source},
		                {"open", c.open},
		                {"ended", c.ended},
		                {"frames", c.frames},
		                {"failures", c.failures},
		                {"reopens", c.reopens},
		                {"pool_exhausted", c.pool_exhausted},
		                {"last_frame_s", round_decimals(since, 3)},
		                {"last_error", c.last_error}});
		cams.back()["skipped"] = c.skipped; // replay files that were not loadable images
		if (!c.open && !c.ended)
			problems.push_back("camera " + c.camera_id + " is down: " + c.last_error);
	}
	j["cameras"] = cams;
	j["pipeline"] = {{"frames_captured", ps.frames_captured},
	                 {"frames_dropped", ps.frames_dropped},
	                 {"frames_read", ps.frames_read},
	                 {"read_errors", ps.read_errors},
	                 {"event_errors", ps.event_errors},
	                 {"sightings", ps.sightings},
	                 {"events", ps.events},
	                 {"frame_queue", ps.frame_queue},
	                 {"event_queue", ps.event_queue},
	                 {"tracks", ps.tracks},
	                 {"frames_per_second", round_decimals(ps.frames_per_second, 2)},
	                 {"finished", finished()}};
	const route::RouterStats routed = router_ ? router_->stats() : route::RouterStats{};
	j["hits"] = routed.hits;
	j["hits_unpublished"] = routed.hits_unpublished;
	j["nonhits"] = routed.nonhits;
	j["store_errors"] = routed.store_errors;
	// Exceptions caught at a thread's entry (the thread went on): a bug to report.
	j["thread_failures"] = thread_failures();
	if (const std::uint64_t n = thread_failures(); n > 0)
		problems.push_back(std::to_string(n) + " exception(s) caught at a thread's entry "
		                                       "(see the log)");
	// How freed memory is wiped in this build (docs/retention.md): the C++ allocator's
	// blocks by lethed's operator delete, or by AddressSanitizer's free fill.
	j["memory_wipe"] = {{"freed_blocks", memory::freed_block_wiper()},
	                    {"image_bytes_wiped", memory::mat_bytes_wiped()}};
	json brokers = json::array();
	for (const auto &b : brokers_) {
		const auto s = b.publisher->stats();
		brokers.push_back({{"name", b.name},
		                   {"connected", s.connected},
		                   {"protocol", s.protocol},
		                   {"queued", s.queued},
		                   {"acked", s.acked},
		                   {"refused", s.refused},
		                   {"outbox_depth", s.outbox_depth},
		                   {"last_error", s.last_error}});
		if (!s.connected)
			problems.push_back("broker " + b.name + " is not connected" +
			                   (s.last_error.empty() ? "" : ": " + s.last_error));
	}
	j["brokers"] = brokers;
	// A device whose policy refuses its topics publishes nothing: not healthy.
	for (const auto &c : topic_checks())
		if (c.result == "FAIL")
			problems.push_back(c.detail);
	j["problems"] = problems;
	j["healthy"] = problems.empty();
	return j;
}

json Daemon::selftest_json() const
{
	json checks = json::array();
	bool passed = true;
	auto add = [&](const std::string &check, const std::string &result,
	               const std::string &detail) {
		checks.push_back({{"check", check}, {"result", result}, {"detail", detail}});
		passed = passed && result != "FAIL";
	};
	const json st = status_json();

	// Camera: every camera delivers frames (or, for a replay, has delivered them all).
	if (st["cameras"].empty())
		add("camera", "FAIL", "no camera configured");
	for (const auto &c : st["cameras"]) {
		const double since = c["last_frame_s"].get<double>();
		if (c["ended"].get<bool>())
			add("camera", "ok", c["id"].get<std::string>() + ": replay finished");
		else if (c["open"].get<bool>() && since >= 0 && since < 5)
			add("camera", "ok", c["id"].get<std::string>() + ": frames flowing");
		else
			add("camera", "FAIL",
			    c["id"].get<std::string>() + ": no frames (" +
			        c["last_error"].get<std::string>() + ")");
	}
	// Models: the readers were built at start (Tesseract data and detector loaded).
	{
		std::lock_guard lock(pipeline_mutex_);
		std::lock_guard clock(config_mutex_);
		add("models", pipeline_ ? "ok" : "FAIL",
		    pipeline_ ? "plate reader loaded (" + config_.reader.region + ")"
		              : "no pipeline");
	}
	// Broker.
	if (st["brokers"].empty())
		add("broker", "warn", "no broker configured: hits stay in the outbox");
	for (const auto &b : st["brokers"])
		add("broker", b["connected"].get<bool>() ? "ok" : "FAIL",
		    b["name"].get<std::string>() +
		        (b["connected"].get<bool>() ? ": connected" : ": not connected"));
	// Topics: the policy in force allows what each broker is configured to publish.
	for (const auto &c : topic_checks())
		add("topics", c.result, c.detail);
	// Policy.
	const auto &pol = st["policy"];
	if (pol["fallback"].get<bool>()) {
		add("policy", "FAIL", "strictest fallback: " + pol["why"].get<std::string>());
	} else {
		const auto p = current_policy();
		const auto left = std::chrono::duration_cast<std::chrono::hours>(
		    p.not_after - std::chrono::system_clock::now());
		add("policy", left < std::chrono::hours(24 * 7) ? "warn" : "ok",
		    p.id + " v" + std::to_string(p.version) + ", expires in " +
		        std::to_string(left.count() / 24) + " day(s)");
	}
	// Hot lists.
	if (st["hotlists"].empty())
		add("hotlist", "warn", "no hot list installed: nothing can be a hit");
	for (const auto &h : st["hotlists"])
		add("hotlist", h["stale"].get<bool>() ? "warn" : "ok",
		    h["id"].get<std::string>() + " v" +
		        std::to_string(h["version"].get<std::uint64_t>()) + ", " +
		        std::to_string(h["entries"].get<std::size_t>()) + " entries, age " +
		        std::to_string(h["age_s"].get<std::int64_t>()) + " s");
	// Disk: the state directory is writable and has room.
	struct statvfs vfs {
	};
	if (::statvfs(device_.state_dir.c_str(), &vfs) != 0 ||
	    ::access(device_.state_dir.c_str(), W_OK) != 0) {
		add("disk", "FAIL", device_.state_dir + " is not writable");
	} else {
		const double free_mb = static_cast<double>(vfs.f_bavail) * vfs.f_frsize / 1048576.0;
		char d[128];
		std::snprintf(d, sizeof(d), "%s: %.0f MiB free", device_.state_dir.c_str(),
		              free_mb);
		add("disk", free_mb < 64 ? "FAIL" : (free_mb < 512 ? "warn" : "ok"), d);
	}
	// Clock: plausible, and synchronised (retention deadlines and event times depend on it).
	{
		const auto now = std::chrono::system_clock::now();
		const auto year_2024 = std::chrono::sys_days(std::chrono::year(2024) / 1 / 1);
		timex tx{};
		const int state = ::adjtimex(&tx);
		const bool synced = state != TIME_ERROR && !(tx.status & STA_UNSYNC);
		if (now < year_2024)
			add("clock", "FAIL", "system time is before 2024: not set");
		else
			add("clock", synced ? "ok" : "warn",
			    synced ? "synchronised"
			           : "not synchronised (NTP) — event times may drift");
	}
	return {{"ok", true}, {"passed", passed}, {"checks", checks}};
}

json Daemon::camera_list_json() const
{
	json configured = json::array();
	PipelineStats ps;
	{
		std::lock_guard lock(pipeline_mutex_);
		if (pipeline_)
			ps = pipeline_->stats();
	}
	for (const auto &c : ps.cameras)
		configured.push_back({{"id", c.camera_id},
		                      {"source", c.source},
		                      {"open", c.open},
		                      {"frames", c.frames}});
	json available = json::array();
	for (const auto &c : capture::list_cameras())
		available.push_back({{"backend", c.backend},
		                     {"id", c.id},
		                     {"model", c.model},
		                     {"detail", c.detail}});
	return {{"ok", true}, {"configured", configured}, {"available", available}};
}

} // namespace lethe::daemon
