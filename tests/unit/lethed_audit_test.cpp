// SPDX-License-Identifier: GPL-3.0-or-later
// lethed's audit trail through the running daemon (replay source, real mosquitto): what a run
// records, the role × command matrix of the control socket, purges, key destruction and
// audit-log retention, retro-hit queries, and the role check of local installs.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lethe/audit/audit_log.h"
#include "lethe/common/crypto.h"
#include "support/byte_scan.h"
#include "support/lethed_fixture.h"
#include "support/mosquitto_fixture.h"
#include "support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;
using lethe::test::forensic_scan;
using lethe::test::read_file;
using lethe::test::run_command;

// The shared lethed fixture, with what the audit needs on top: policy options (retro-hit
// queries, short retention), a [roles] table per test, the CLI's environment.
using Device = lethe::test::LethedDevice;
using Lethed = lethe::test::LethedProcess;
using lethe::test::make_replay;
using lethe::test::wait_until;

const std::string kCli = LETHE_CLI_PATH;
const std::string kHitTopic = lethe::test::kLethedTopic;
/// Sample plates that are never on a hot list here: they must never reach the audit log.
const std::vector<std::string> kNonHitPlates = {"KLM4829", "MXQ1601"};

const std::string kAllRoles = "technician = [\"root\"]\nprivacy_officer = [\"root\"]\n"
                              "investigator = [\"root\"]\npurpose_codes = [\"investigation\"]\n";

/// Every record of STATE/audit/audit.log, parsed (the verifier checks the chain; this reads).
std::vector<json> audit_records(const Device &d)
{
	std::vector<json> out;
	const std::string text = read_file(d.state / "audit" / "audit.log");
	std::size_t pos = 0;
	while (pos < text.size()) {
		const std::size_t nl = text.find('\n', pos);
		if (nl == std::string::npos)
			break;
		auto j = json::parse(text.substr(pos, nl - pos), nullptr, false);
		EXPECT_FALSE(j.is_discarded()) << text.substr(pos, nl - pos);
		out.push_back(std::move(j));
		pos = nl + 1;
	}
	return out;
}

std::vector<json> entries(const Device &d, const std::string &action)
{
	std::vector<json> out;
	for (auto &r : audit_records(d))
		if (r.value("kind", "") == "entry" && r.value("action", "") == action)
			out.push_back(std::move(r));
	return out;
}

/// The last entry appended by the test process itself (actor root).
json last_root_entry(const Device &d)
{
	const auto all = audit_records(d);
	for (auto it = all.rbegin(); it != all.rend(); ++it)
		if ((*it).value("kind", "") == "entry" && (*it).value("actor", "") == "root")
			return *it;
	return {};
}

std::string target_value(const json &e)
{
	return e.contains("target") ? e["target"].value("value", "") : "";
}

/// `lethe audit verify` on the device's state directory (as a privacy officer).
lethe::test::CommandResult audit_verify(const Device &d)
{
	return run_command(d.cli_env() + kCli + " audit verify", true);
}

/// One raw control-socket session: send `line`, return the reply line parsed.
json raw_request(const Device &d, const std::string &line)
{
	const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	EXPECT_GE(fd, 0);
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	const std::string path = d.control_socket().string();
	std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
	if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
		::close(fd);
		ADD_FAILURE() << "connect " << path << ": " << std::strerror(errno);
		return {};
	}
	timeval tv{30, 0};
	::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
	std::string reply;
	char buf[65536];
	for (;;) {
		const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		reply.append(buf, static_cast<std::size_t>(n));
	}
	::close(fd);
	auto j = json::parse(reply, nullptr, false);
	EXPECT_FALSE(j.is_discarded()) << line << " -> " << reply;
	return j;
}

lethe::audit::TimePoint when(const json &record, const char *key = "time")
{
	auto t = lethe::audit::parse_time(record.value(key, ""));
	EXPECT_TRUE(t.ok()) << record.dump();
	return t.ok() ? *t : lethe::audit::TimePoint{};
}

TEST(LethedAudit, RunIsAuditedAndRetroHitQueryFindsANonHitSighting)
{
	lethe::test::MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	lethe::test::MqttSubscriber sub(broker, kHitTopic);
	ASSERT_TRUE(sub.connected());

	Device d(broker, lethe::test::kLethedTestRetention, true); // retro-hit queries allowed
	d.roles = kAllRoles;
	d.install_hotlist({"7ABC123"}, 1);
	// us-front: 7ABC123, listed; us-angle: KLM4829, a non-hit.
	const auto replay = make_replay(d.dir / "replay", {"us-front.jpg", "us-angle.jpg"});
	d.write_config(broker, replay);

	const auto started = lethe::audit::Clock::now();
	{
		Lethed lethed(d, true);
		ASSERT_EQ(lethed.wait(240s), 0) << read_file(d.log);
	}
	const auto ended = lethe::audit::Clock::now();
	ASSERT_TRUE(sub.wait_for(1, 10s)) << read_file(d.log);

	// The chain verifies.
	auto v = audit_verify(d);
	EXPECT_EQ(v.status, 0) << v.output;
	EXPECT_NE(v.output.find("audit log OK"), std::string::npos) << v.output;

	// The daemon's own entries: start, the policy and hot list it applied, stop.
	auto by_lethed = [](const std::vector<json> &es) {
		return std::all_of(es.begin(), es.end(), [](const json &e) {
			return e.value("actor", "") == "lethed" &&
			       e.value("role", "") == "system" && e.contains("uid");
		});
	};
	const auto starts = entries(d, "daemon.start"), stops = entries(d, "daemon.stop");
	ASSERT_EQ(starts.size(), 1u);
	ASSERT_EQ(stops.size(), 1u);
	EXPECT_TRUE(by_lethed(starts) && by_lethed(stops));
	const auto policies = entries(d, "policy.load");
	ASSERT_EQ(policies.size(), 1u);
	EXPECT_EQ(policies[0].value("outcome", ""), "success");
	EXPECT_EQ(target_value(policies[0]), "lethe-test v1");
	EXPECT_FALSE(policies[0].value("policy", "").empty());
	const auto lists = entries(d, "hotlist.load");
	ASSERT_EQ(lists.size(), 1u);
	EXPECT_EQ(target_value(lists[0]), "test-list v1");
	EXPECT_EQ(lists[0].value("results", 0), 1);
	// The local installs before the run, by the user who ran them.
	ASSERT_EQ(entries(d, "policy.install").size(), 1u);
	EXPECT_EQ(entries(d, "policy.install")[0].value("actor", ""), "root");
	EXPECT_EQ(entries(d, "policy.install")[0].value("uid", -1), 0);
	ASSERT_EQ(entries(d, "hotlist.install").size(), 1u);

	// Every event that reached the broker has its publish entry: the hit's plate, the event
	// id, the recipient with broker and topic.
	const auto publishes = entries(d, "publish");
	std::set<std::string> published;
	for (const auto &e : publishes) {
		EXPECT_EQ(e["target"].value("type", ""), "hit_plate") << e.dump();
		EXPECT_EQ(e.value("outcome", ""), "success") << e.dump();
		EXPECT_NE(e.value("recipient", "").find("test-dispatch"), std::string::npos)
		    << e.dump();
		EXPECT_NE(e.value("recipient", "").find(broker.address()), std::string::npos)
		    << e.dump();
		EXPECT_NE(e.value("recipient", "").find(kHitTopic), std::string::npos) << e.dump();
		published.insert(e.value("event", ""));
	}
	for (const auto &m : sub.messages()) {
		const auto j = json::parse(m.payload, nullptr, false);
		EXPECT_TRUE(published.count(j.value("event_id", "?")))
		    << "not audited: " << m.payload;
	}
	EXPECT_FALSE(publishes.empty());

	// Forensic: no audit file holds a non-hit plate (nor does anything else in the state).
	auto traces = forensic_scan(d.state / "audit", kNonHitPlates);
	EXPECT_TRUE(traces.empty()) << traces.front();
	traces = forensic_scan(d.state, kNonHitPlates);
	EXPECT_TRUE(traces.empty()) << traces.front();

	// Hit records carry the event id and the time the integrator received, and an
	// investigator gets each hit's stored crop; both are recorded like any investigation.
	std::map<std::string, json> events;
	for (const auto &m : sub.messages()) {
		const auto j = json::parse(m.payload, nullptr, false);
		events[j.value("event_id", "")] = j;
	}
	const std::string investigate = " --purpose investigation --case C-17";
	const auto listed = run_command(d.cli_env() + kCli + " hits list --json" + investigate);
	ASSERT_EQ(listed.status, 0) << listed.output;
	const auto hit_rows = json::parse(listed.output, nullptr, false);
	ASSERT_TRUE(hit_rows.is_array()) << listed.output;
	ASSERT_EQ(hit_rows.size(), events.size()) << listed.output;
	for (const auto &h : hit_rows) {
		const std::string id = h.value("event_id", "");
		ASSERT_EQ(events.count(id), 1u) << "not a published event id: " << h.dump();
		EXPECT_EQ(when(h, "seen"), when(events[id], "time")) << h.dump() << "\n"
		                                                     << events[id].dump();
		const auto file = d.dir / ("crop-" + id + ".jpg");
		const auto cropped = run_command(d.cli_env() + kCli + " hits crop " + id +
		                                     " --out " + file.string() + investigate,
		                                 true);
		ASSERT_EQ(cropped.status, 0) << cropped.output;
		const std::string jpeg = read_file(file);
		ASSERT_GT(jpeg.size(), 2u);
		EXPECT_EQ(jpeg.substr(0, 2), "\xff\xd8") << "a JPEG";
		if (events[id].contains("crop_jpeg_base64")) {
			EXPECT_EQ(lethe::crypto::to_base64(jpeg.data(), jpeg.size()),
			          events[id].value("crop_jpeg_base64", ""))
			    << "the crop the integrator received";
		}
		struct stat sb {};
		ASSERT_EQ(::stat(file.c_str(), &sb), 0);
		EXPECT_EQ(sb.st_mode & 0777, 0600u);
		const json e = last_root_entry(d);
		EXPECT_EQ(e.value("action", ""), "hits.crop");
		EXPECT_EQ(e.value("outcome", ""), "success");
		EXPECT_EQ(e.value("purpose", ""), "investigation");
		EXPECT_EQ(e.value("case", ""), "C-17");
		EXPECT_EQ(e.value("results", -1), 1);
		EXPECT_EQ(target_value(e), "hit:" + id);
		// Never over an existing file.
		EXPECT_EQ(run_command(d.cli_env() + kCli + " hits crop " + id + " --out " +
		                          file.string() + investigate,
		                      true)
		              .status,
		          1);
	}
	// Without a purpose: refused and recorded; an id that is not one: a usage error.
	auto refused = run_command(d.cli_env() + kCli + " hits crop " +
	                               hit_rows[0].value("event_id", "") + " --out " +
	                               (d.dir / "x.jpg").string() + " --case C-17",
	                           true);
	EXPECT_EQ(refused.status, 1) << refused.output;
	EXPECT_EQ(last_root_entry(d).value("outcome", ""), "refused");
	EXPECT_FALSE(fs::exists(d.dir / "x.jpg"));
	EXPECT_EQ(run_command(d.cli_env() + kCli + " hits crop 42 --out x.jpg" + investigate, true)
	              .status,
	          2);

	// Retro-hit: the non-hit KLM4829 was seen; an investigator with purpose and case finds
	// when and at which camera.
	const std::string query = d.cli_env() + kCli + " query --plate KLM4829 --json";
	auto q = run_command(query + " --purpose investigation --case C-17");
	ASSERT_EQ(q.status, 0) << q.output;
	const auto rows = json::parse(q.output, nullptr, false);
	ASSERT_TRUE(rows.is_array()) << q.output;
	ASSERT_FALSE(rows.empty()) << "the sighting of KLM4829 was not found";
	for (const auto &r : rows) {
		EXPECT_EQ(r.value("camera", ""), "cam-a");
		const auto seen = when(r, "seen");
		EXPECT_GE(seen, started - 1s);
		EXPECT_LE(seen, ended + 1s);
	}
	auto e = last_root_entry(d);
	EXPECT_EQ(e.value("action", ""), "query");
	EXPECT_EQ(e.value("outcome", ""), "success");
	EXPECT_EQ(e.value("purpose", ""), "investigation");
	EXPECT_EQ(e.value("case", ""), "C-17");
	EXPECT_EQ(e.value("results", -1), static_cast<int>(rows.size()));
	EXPECT_EQ(e.value("uid", -1), 0);
	// Found, it is a (retro-)hit: its text may be in the entry.
	EXPECT_EQ(e["target"].value("type", ""), "hit_plate");

	// A plate never seen: no sightings, and only the digest of the term is recorded.
	q = run_command(d.cli_env() + kCli +
	                " query --plate QQQ0007 --purpose investigation --case C-17 --json");
	EXPECT_EQ(q.status, 0) << q.output;
	EXPECT_EQ(json::parse(q.output, nullptr, false), json::array());
	e = last_root_entry(d);
	EXPECT_EQ(e.value("results", -1), 0);
	EXPECT_EQ(e["target"].value("type", ""), "digest");
	EXPECT_TRUE(forensic_scan(d.state / "audit", {"QQQ0007"}).empty());

	// Without purpose or case: refused, and the refusal is recorded.
	q = run_command(query + " --case C-17", true);
	EXPECT_EQ(q.status, 1) << q.output;
	EXPECT_NE(q.output.find("refused"), std::string::npos) << q.output;
	e = last_root_entry(d);
	EXPECT_EQ(e.value("action", ""), "query");
	EXPECT_EQ(e.value("outcome", ""), "refused");
	EXPECT_EQ(e.value("reason", ""), "a purpose code is required");
	q = run_command(query + " --purpose investigation", true);
	EXPECT_EQ(q.status, 1) << q.output;
	e = last_root_entry(d);
	EXPECT_EQ(e.value("outcome", ""), "refused");
	EXPECT_EQ(e.value("reason", ""), "a case number is required");

	// Installing a policy on the device's state directory takes a privacy officer: without
	// the role it is refused, recorded, and nothing changes.
	const auto v2 = lethe::test::sign_policy(d.dir.path(), "policy-v2",
	                            {{"version = 1", "version = 2"},
	                             {"retro_hit_queries = true", "retro_hit_queries = false"}});
	d.roles = "technician = [\"root\"]\ninvestigator = [\"root\"]\n"
	          "purpose_codes = [\"investigation\"]\n";
	d.write_config(broker, replay);
	auto in = run_command(d.cli_env() + kCli + " policy install " + v2.string(), true);
	EXPECT_EQ(in.status, 1) << in.output;
	EXPECT_NE(in.output.find("refused"), std::string::npos) << in.output;
	e = last_root_entry(d);
	EXPECT_EQ(e.value("action", ""), "policy.install");
	EXPECT_EQ(e.value("outcome", ""), "refused");
	EXPECT_EQ(e.value("role", ""), "technician,investigator");
	EXPECT_EQ(target_value(e), "policy-v2.bundle");
	auto shown = json::parse(run_command(d.cli_env() + kCli + " policy show --json").output,
	                         nullptr, false);
	EXPECT_EQ(shown["effective"].value("version", 0), 1) << shown.dump();
	// Hot lists likewise (the role is checked before the bundle is even read).
	const auto hl = d.dir / "hotlist-1.bundle";
	in = run_command(d.cli_env() + kCli + " hotlist install " + hl.string(), true);
	EXPECT_EQ(in.status, 1) << in.output;
	e = last_root_entry(d);
	EXPECT_EQ(e.value("action", ""), "hotlist.install");
	EXPECT_EQ(e.value("outcome", ""), "refused");
	EXPECT_NE(e.value("reason", "").find("may not hotlist.install"), std::string::npos)
	    << e.dump();

	// As a privacy officer it is installed (and recorded); the new policy forbids retro-hit
	// queries: the same query is now refused, and that is recorded too.
	d.roles = kAllRoles;
	d.write_config(broker, replay);
	in = run_command(d.cli_env() + kCli + " policy install " + v2.string(), true);
	EXPECT_EQ(in.status, 0) << in.output;
	e = last_root_entry(d);
	EXPECT_EQ(e.value("action", ""), "policy.install");
	EXPECT_EQ(e.value("outcome", ""), "success");
	q = run_command(query + " --purpose investigation --case C-17", true);
	EXPECT_EQ(q.status, 1) << q.output;
	e = last_root_entry(d);
	EXPECT_EQ(e.value("action", ""), "query");
	EXPECT_EQ(e.value("outcome", ""), "refused");
	EXPECT_NE(e.value("reason", "").find("does not allow retro-hit queries"), std::string::npos)
	    << e.dump();

	v = audit_verify(d);
	EXPECT_EQ(v.status, 0) << v.output;
}

TEST(LethedAudit, EveryControlCommandByEveryRoleIsDecidedAndRecorded)
{
	static constexpr const char *kNoSuchEvent = "0b0e8e56-8f35-4a3c-9d7e-1c2b3a4d5e6f";
	lethe::test::MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	Device d(broker, lethe::test::kLethedTestRetention, true); // retro-hit queries allowed
	d.install_hotlist({"ZZZ9999"}, 1);
	const auto replay = make_replay(d.dir / "replay", {"us-front.jpg"});
	const std::string camera = "loop = true\nreplay_fps = 15\n";
	d.write_config(broker, replay, camera);
	Lethed lethed(d, false);
	ASSERT_TRUE(wait_until([&] { return fs::exists(d.control_socket()); }, 60s))
	    << read_file(d.log);
	ASSERT_TRUE(wait_until(
	    [&] {
		    return raw_request(d, R"({"command":"status"})")["pipeline"].value(
		               "frames_read", 0) > 0;
	    },
	    90s))
	    << read_file(d.log);

	// Every control-socket command, and the audit action it is recorded as.
	const std::vector<std::pair<std::string, std::string>> commands = {
	    {"status", "status"},
	    {"camera.list", "camera.list"},
	    {"camera.snapshot", "camera.snapshot"},
	    {"selftest", "selftest"},
	    {"reload", "config.change"},
	    {"query", "query"},
	    {"hits.list", "hits.list"},
	    {"hits.crop", "hits.crop"},
	};
	// Who may do what over the socket (docs/audit.md, docs/control.md): the technician
	// the device, the investigator the reads (with purpose and case), nobody else anything.
	const std::map<std::string, std::set<std::string>> allowed = {
	    {"technician", {"status", "camera.list", "camera.snapshot", "selftest", "reload"}},
	    {"privacy_officer", {}},
	    {"investigator", {"query", "hits.list", "hits.crop"}},
	    {"none", {}},
	};
	auto request_for = [](const std::string &command) {
		json r = {{"command", command}};
		if (command == "query" || command == "hits.list" || command == "hits.crop") {
			r["purpose"] = "investigation";
			r["case"] = "C-9";
		}
		if (command == "query")
			r["plate"] = "KLM4829";
		if (command == "hits.crop")
			r["event_id"] = kNoSuchEvent;
		return r.dump() + "\n";
	};
	// Reloads by the daemon that changed the role map.
	auto role_reloads = [&] {
		const auto es = entries(d, "config.change");
		return std::count_if(es.begin(), es.end(), [](const json &e) {
			return e.value("actor", "") == "lethed" &&
			       target_value(e).find("changed: roles") != std::string::npos;
		});
	};
	int reloads = 0;
	for (const std::string role : {"technician", "privacy_officer", "investigator", "none"}) {
		if (role != "technician") {
			// The root user (this test) now holds `role` only; SIGHUP applies the map.
			d.roles = role == "none" ? "technician = [\"lethe-tech\"]\n"
			                         : role + " = [\"root\"]\n";
			d.write_config(broker, replay, camera);
			const auto before = role_reloads();
			lethed.signal(SIGHUP);
			ASSERT_TRUE(wait_until([&] { return role_reloads() > before; }, 60s))
			    << role << "\n"
			    << read_file(d.log);
			++reloads;
		}
		// `lethe query` with no state directory asks the daemon: the role is that of
		// this process on the socket, and only an investigator gets an answer. 7ABC123
		// is not on this device's hot list: a non-hit, found by its keyed digest.
		const std::string via_daemon = "LETHE_CONTROL_SOCKET=" +
		                               d.control_socket().string() + " " + kCli +
		                               " query --plate 7ABC123 --purpose investigation"
		                               " --case C-9 --json";
		if (role == "investigator") {
			json rows;
			ASSERT_TRUE(wait_until(
			    [&] {
				    rows = json::parse(run_command(via_daemon).output, nullptr, false);
				    return rows.is_array() && !rows.empty();
			    },
			    90s))
			    << rows.dump() << "\n"
			    << read_file(d.log);
			EXPECT_EQ(rows[0].value("camera", ""), "cam-a");
			EXPECT_EQ(rows[0].value("match", ""), "exact");
			const json e = last_root_entry(d);
			EXPECT_EQ(e.value("action", ""), "query");
			EXPECT_EQ(e["target"].value("type", ""), "hit_plate") << e.dump();
			EXPECT_EQ(e.value("results", -1), static_cast<int>(rows.size()));
			const auto hits = run_command(
			    "LETHE_CONTROL_SOCKET=" + d.control_socket().string() + " " + kCli +
			    " hits list --purpose investigation --case C-9 --json");
			EXPECT_EQ(hits.status, 0) << hits.output;
			EXPECT_TRUE(json::parse(hits.output, nullptr, false).is_array()) << hits.output;
		} else {
			const auto q = run_command(via_daemon, true);
			EXPECT_EQ(q.status, 1) << role << ": " << q.output;
			EXPECT_NE(q.output.find("refused"), std::string::npos) << q.output;
			EXPECT_EQ(last_root_entry(d).value("outcome", ""), "refused");
		}
		for (const auto &[command, action] : commands) {
			const json reply = raw_request(d, request_for(command));
			const bool may = allowed.at(role).count(command) > 0;
			// No vehicle on this device's list passed: there is no hit to crop.
			const bool none = may && command == "hits.crop";
			EXPECT_EQ(reply.value("ok", false), may && !none)
			    << role << " " << command << " " << reply.dump();
			if (!may) {
				EXPECT_EQ(reply.value("code", ""), "forbidden")
				    << role << " " << command;
			}
			const json e = last_root_entry(d);
			EXPECT_EQ(e.value("action", ""), action) << role << " " << command;
			EXPECT_EQ(e.value("outcome", ""), none ? "failed" : may ? "success" : "refused")
			    << role << " " << command;
			EXPECT_EQ(e.value("role", ""), role) << role << " " << command;
			EXPECT_EQ(e.value("uid", -1), 0);
			if (!may) {
				EXPECT_NE(e.value("reason", "").find("may not"), std::string::npos)
				    << e.dump();
			}
			if (may && command == "camera.snapshot") {
				EXPECT_EQ(e.value("results", 0), 1);
				EXPECT_EQ(target_value(e), "camera:cam-a");
			}
			if (none) {
				EXPECT_EQ(reply.value("code", ""), "failed") << reply.dump();
				EXPECT_NE(reply.value("error", "").find("no image"), std::string::npos);
			}
			if (command == "hits.crop") {
				EXPECT_EQ(target_value(e), std::string("hit:") + kNoSuchEvent);
			}
			if (command == "query" || command == "hits.list" || command == "hits.crop") {
				EXPECT_EQ(e.value("purpose", ""), "investigation");
				EXPECT_EQ(e.value("case", ""), "C-9");
			}
			if (command == "query") {
				// Never seen here: only the keyed digest of the term is recorded.
				EXPECT_EQ(e["target"].value("type", ""), "digest") << e.dump();
				if (may) {
					EXPECT_EQ(e.value("results", -1), 0);
					EXPECT_EQ(reply["sightings"], json::array());
				}
			}
			if (may && command == "hits.list") {
				EXPECT_TRUE(reply["hits"].is_array()) << reply.dump();
				EXPECT_EQ(e.value("results", -1),
				          static_cast<int>(reply["hits"].size()));
			}
		}
	}
	EXPECT_EQ(reloads, 3);

	// Sessions that never name a command are recorded as well; text a client sends is not
	// copied into the log unless it is one of ours.
	json reply = raw_request(d, "KLM4829\n");
	EXPECT_EQ(reply.value("code", ""), "usage");
	json e = last_root_entry(d);
	EXPECT_EQ(e.value("action", ""), "control");
	EXPECT_EQ(e.value("outcome", ""), "refused");
	EXPECT_NE(e.value("reason", "").find("expected one JSON object"), std::string::npos);
	reply = raw_request(d, R"({"command":"MXQ1601"})"
	                       "\n");
	EXPECT_EQ(reply.value("code", ""), "usage");
	e = last_root_entry(d);
	EXPECT_EQ(e.value("reason", ""), "unknown command '?'");
	reply = raw_request(d, R"({"command":"camera.snapshot","camera":"KLM4829"})"
	                       "\n");
	EXPECT_EQ(reply.value("code", ""), "forbidden"); // role none
	EXPECT_EQ(target_value(last_root_entry(d)), "camera:?");
	const auto traces = forensic_scan(d.state / "audit", kNonHitPlates);
	EXPECT_TRUE(traces.empty()) << traces.front();

	// A configuration that does not parse is refused on reload, and that is recorded.
	lethe::test::write_file(d.config, "[device]\nid = \"test-dev\"\n[pipeline]\nworkers = 0\n");
	const auto before = entries(d, "config.change").size();
	lethed.signal(SIGHUP);
	ASSERT_TRUE(wait_until([&] { return entries(d, "config.change").size() > before; }, 30s));
	e = entries(d, "config.change").back();
	EXPECT_EQ(e.value("outcome", ""), "refused");
	EXPECT_NE(e.value("reason", "").find(":4: pipeline.workers"), std::string::npos)
	    << e.dump();

	lethed.signal(SIGTERM);
	ASSERT_EQ(lethed.wait(60s), 0) << read_file(d.log);
	d.roles = kAllRoles;
	d.write_config(broker, replay, camera);
	const auto v = audit_verify(d);
	EXPECT_EQ(v.status, 0) << v.output;
}

TEST(LethedAudit, PurgeBatchesKeyDestructionAndAuditRetentionAreRecorded)
{
	lethe::test::MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	Device d(broker, lethe::test::lethed_retention({{"nonhit_digest", "2s"},
							 {"audit_log", "6s"},
							 {"audit_log_minimum", "4s"}}));
	d.roles = kAllRoles;
	d.install_hotlist({"7ABC123"}, 1);
	const auto replay = make_replay(d.dir / "replay", {"us-front.jpg", "us-angle.jpg"});
	const std::string camera = "loop = true\nreplay_fps = 15\n";
	d.write_config(broker, replay, camera);
	Lethed lethed(d, false);

	// Non-hit digests expire after 2 s: purged in batches, each recorded with counts per
	// class (and never a plate).
	auto purged = [&](const std::string &cls) {
		for (const auto &e : entries(d, "purge"))
			if (e.contains("counts") && e["counts"].value(cls, 0) > 0)
				return true;
		return false;
	};
	ASSERT_TRUE(wait_until([&] { return purged("nonhit_digest"); }, 150s)) << read_file(d.log);
	for (const auto &e : entries(d, "purge")) {
		EXPECT_EQ(e.value("actor", ""), "lethed");
		EXPECT_FALSE(e.contains("target") && e["target"].value("type", "") != "object")
		    << e.dump();
	}

	// The audit log itself is kept 6 s (never under the 4 s minimum): older records go,
	// a signed anchor takes their place, and the purge is recorded.
	ASSERT_TRUE(wait_until(
	    [&] {
		    // The first purge may take only the installs made before the daemon started;
		    // wait until the daemon's own first entries have aged out as well.
		    bool purged_some = false;
		    for (const auto &e : entries(d, "audit.purge"))
			    if (e.value("results", 0) > 0)
				    purged_some = true;
		    return purged_some && entries(d, "daemon.start").empty();
	    },
	    60s))
	    << "the first entries are purged\n"
	    << read_file(d.log);
	auto records = audit_records(d);
	ASSERT_FALSE(records.empty());
	EXPECT_EQ(records.front().value("kind", ""), "anchor");
	EXPECT_GT(records.front().value("purged", 0), 0);

	// A hit record exists once a hit is published; a policy that keeps none (installed by the
	// privacy officer, applied on SIGHUP) purges it and destroys its epoch keys: both recorded.
	ASSERT_TRUE(wait_until([&] { return !entries(d, "publish").empty(); }, 90s))
	    << read_file(d.log);
	const auto v2 = lethe::test::sign_policy(d.dir.path(), "policy-v2",
	                            {{"version = 1", "version = 2"},
	                             {"hit_record = \"1d\"", "hit_record = \"0s\""},
	                             {"hit_image = \"1d\"", "hit_image = \"0s\""}});
	const auto installed =
	    run_command(d.cli_env() + kCli + " policy install " + v2.string(), true);
	EXPECT_EQ(installed.status, 0) << installed.output;
	lethed.signal(SIGHUP);
	ASSERT_TRUE(wait_until(
	    [&] {
		    for (const auto &e : entries(d, "policy.load"))
			    if (target_value(e) == "lethe-test v2" &&
			        e.value("outcome", "") == "success")
				    return true;
		    return false;
	    },
	    60s))
	    << read_file(d.log);
	ASSERT_TRUE(wait_until([&] { return purged("hit_record"); }, 60s)) << read_file(d.log);
	ASSERT_TRUE(wait_until([&] { return !entries(d, "keys.destroy").empty(); }, 60s))
	    << read_file(d.log);
	const auto keys = entries(d, "keys.destroy").back();
	EXPECT_GT(keys.value("results", 0), 0);
	EXPECT_EQ(keys.value("actor", ""), "lethed");

	lethed.signal(SIGTERM);
	ASSERT_EQ(lethed.wait(60s), 0) << read_file(d.log);

	// Whatever was purged, the log still verifies; the anchor never cut a record younger
	// than the retention (6 s) at the time of the purge that wrote it.
	const auto v = audit_verify(d);
	EXPECT_EQ(v.status, 0) << v.output;
	records = audit_records(d);
	ASSERT_EQ(records.front().value("kind", ""), "anchor");
	EXPECT_LE(when(records.front(), "until"), when(records.front()) - 6s)
	    << records.front().dump();
	const auto traces = forensic_scan(d.state, kNonHitPlates);
	EXPECT_TRUE(traces.empty()) << traces.front();
}

} // namespace
