// SPDX-License-Identifier: GPL-3.0-or-later
// lethed end to end: replay source → real reader → tracker → hot list → real mosquitto; control
// socket (status, camera list/snapshot, selftest); SIGHUP reload; forensic scan of the state dir.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support/byte_scan.h"
#include "support/lethed_fixture.h"
#include "support/mosquitto_fixture.h"
#include "support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using lethe::test::run_command;
using json = nlohmann::json;

const std::string kCli = LETHE_CLI_PATH;
const std::string kTopic = lethe::test::kLethedTopic;

// The bundled samples: hits on the test hot list and non-hits that must never leave the device.
const std::vector<std::string> kHitPlates = {"7ABC123", "PAG5219"};
const std::vector<std::string> kNonHitPlates = {"KLM4829", "MXQ1601"};

using Device = lethe::test::LethedDevice;
using Lethed = lethe::test::LethedProcess;
using lethe::test::control;
using lethe::test::forensic_scan;
using lethe::test::make_replay;
using lethe::test::wait_until;

TEST(Lethed, EndToEndHitsArriveNonHitsDoNotOneEventPerVehicle)
{
	lethe::test::MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	lethe::test::MqttSubscriber sub(broker, "lethe/#");
	ASSERT_TRUE(sub.connected());

	Device d(broker);
	d.install_hotlist({"7ABC123", "PAG5219", "ZZZ9999"}, 1);
	const auto replay = make_replay(d.dir / "replay",
					{"us-front.jpg", "us-angle.jpg", "br-front.jpg", "br-angle.jpg"});
	d.write_config(broker, replay);

	Lethed lethed(d, true);
	const int rc = lethed.wait(240s);
	const std::string log = lethe::test::read_file(d.log);
	ASSERT_EQ(rc, 0) << log;

	// Hits: each listed vehicle exactly once (by event id), on the allowed topic.
	ASSERT_TRUE(sub.wait_for(2, 10s)) << log;
	std::this_thread::sleep_for(500ms);
	std::map<std::string, std::set<std::string>> events_by_plate;
	for (const auto &m : sub.messages()) {
		for (const auto &p : kNonHitPlates)
			EXPECT_EQ(m.payload.find(p), std::string::npos) << "non-hit left the device: " << m.topic;
		if (m.topic != kTopic)
			continue;
		auto j = json::parse(m.payload, nullptr, false);
		ASSERT_FALSE(j.is_discarded()) << m.payload;
		EXPECT_EQ(j.value("device_id", ""), "test-dev");
		EXPECT_EQ(j.value("camera_id", ""), "cam-a");
		EXPECT_EQ(j.value("verification_required", false), true);
		// A consensus read of a clean sample plate: a real confidence, not 0 (a vote bug once
		// let alternatives of another length outvote the read and zero it).
		EXPECT_GT(j.value("confidence", 0.0), 0.3) << m.payload.substr(0, 300);
		EXPECT_LE(j.value("confidence", 2.0), 1.0);
		events_by_plate[j.value("plate", "")].insert(j.value("event_id", ""));
	}
	// The event carries the plate as read; the policy lets the matcher tolerate one missing or
	// extra character, so a read may differ from the listed plate by exactly that much.
	auto within_one_indel = [](const std::string &a, const std::string &b) {
		if (a == b)
			return true;
		const std::string &longer = a.size() > b.size() ? a : b;
		const std::string &shorter = a.size() > b.size() ? b : a;
		if (longer.size() != shorter.size() + 1)
			return false;
		for (std::size_t i = 0; i < longer.size(); ++i)
			if (longer.substr(0, i) + longer.substr(i + 1) == shorter)
				return true;
		return false;
	};
	for (const auto &p : kHitPlates) {
		std::size_t events = 0;
		for (const auto &[read, ids] : events_by_plate)
			if (within_one_indel(read, p))
				events += ids.size();
		EXPECT_EQ(events, 1u) << p << ": one vehicle, one event; log:\n" << log;
	}
	EXPECT_EQ(events_by_plate.size(), kHitPlates.size());

	// The log never names a non-hit; the state directory holds no trace of one.
	for (const auto &p : kNonHitPlates)
		EXPECT_EQ(log.find(p), std::string::npos) << p << " in the daemon's log";
	const auto traces = forensic_scan(d.state, kNonHitPlates);
	EXPECT_TRUE(traces.empty()) << traces.front();
}

TEST(Lethed, ControlSocketReloadAndCleanShutdown)
{
	lethe::test::MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	lethe::test::MqttSubscriber sub(broker, kTopic);
	ASSERT_TRUE(sub.connected());

	Device d(broker);
	d.install_hotlist({"ZZZ9999"}, 1); // the passing vehicle is not listed yet
	const auto replay = make_replay(d.dir / "replay", {"us-front.jpg"});
	d.write_config(broker, replay, "loop = true\nreplay_fps = 15\n");
	Lethed lethed(d, false);
	const auto sock = d.run / "control.sock";
	ASSERT_TRUE(wait_until([&] { return fs::exists(sock); }, 60s))
	    << lethe::test::read_file(d.log);

	// status / camera list / selftest / snapshot, each with --json and exit codes.
	ASSERT_TRUE(wait_until([&] {
		return control(d, "status")["pipeline"].value("frames_read", 0) > 0;
	}, 60s)) << lethe::test::read_file(d.log);
	int st = -1;
	json status = control(d, "status", &st);
	EXPECT_TRUE(status.value("ok", false));
	EXPECT_EQ(status.value("device_id", ""), "test-dev");
	EXPECT_EQ(status["policy"].value("id", ""), "lethe-test");
	EXPECT_FALSE(status["policy"].value("fallback", true));
	EXPECT_EQ(st, status.value("healthy", false) ? 0 : 1);
	EXPECT_EQ(status.dump().find("7ABC123"), std::string::npos) << "status shows no plates";

	json cams = control(d, "camera list", &st);
	EXPECT_EQ(st, 0);
	ASSERT_EQ(cams["configured"].size(), 1u);
	EXPECT_EQ(cams["configured"][0].value("id", ""), "cam-a");

	json self = control(d, "selftest", &st);
	EXPECT_EQ(st, self.value("passed", false) ? 0 : 1);
	std::set<std::string> checks;
	for (const auto &c : self["checks"])
		checks.insert(c.value("check", ""));
	for (const char *c : {"camera", "models", "broker", "policy", "hotlist", "disk", "clock"})
		EXPECT_TRUE(checks.count(c)) << c;

	const auto shot = d.dir / "aim.jpg";
	json snap = control(d, "camera snapshot --annotate " + shot.string(), &st);
	EXPECT_EQ(st, 0) << snap.dump();
	EXPECT_FALSE(cv::imread(shot.string()).empty());
	EXPECT_EQ(snap.dump().find("7ABC123"), std::string::npos) << "no plate text to a technician";
	// --json alone: the figures, no file.
	json figures = control(d, "camera snapshot", &st);
	EXPECT_EQ(st, 0) << figures.dump();
	EXPECT_TRUE(figures.contains("sharpness")) << figures.dump();
	EXPECT_FALSE(figures.contains("file")) << figures.dump();
	auto bad = run_command(kCli + " camera snapshot --annotate " + (d.dir / "aim.txt").string() +
				       " --socket " + sock.string(),
			       true);
	EXPECT_EQ(bad.status, 2) << bad.output;
	EXPECT_NE(bad.output.find("unsupported extension"), std::string::npos) << bad.output;
	EXPECT_FALSE(fs::exists(d.dir / "aim.txt"));

	// No hits yet: the vehicle's plate is being read (the replay is one still, a parked car:
	// one track, whose event comes when the track ends), and nothing has been published. Then
	// install a hot list that lists the vehicle and reload before the track ends: the event is
	// matched against the list in force when it ends, and the hit arrives.
	ASSERT_TRUE(wait_until(
	    [&] {
		    return control(d, "status")
			       .value("pipeline", json::object())
			       .value("sightings", 0) >= 1;
	    },
	    90s))
	    << lethe::test::read_file(d.log);
	EXPECT_EQ(control(d, "status").value("hits", -1), 0);
	EXPECT_EQ(sub.messages().size(), 0u);
	d.install_hotlist({"ZZZ9999", "7ABC123"}, 2);
	lethed.signal(SIGHUP);
	ASSERT_TRUE(sub.wait_for(1, 90s)) << lethe::test::read_file(d.log);
	EXPECT_NE(sub.messages().front().payload.find("7ABC123"), std::string::npos);

	// A broken configuration is refused on reload; the daemon keeps running.
	lethe::test::write_file(d.config, "[device]\nid = \"test-dev\"\n[pipeline]\nworkers = 0\n");
	lethed.signal(SIGHUP);
	// The refusal in the log shows the reload was handled: only then is "still running" news.
	ASSERT_TRUE(wait_until(
	    [&] {
		    const std::string log = lethe::test::read_file(d.log);
		    return log.find(":4: pipeline.workers") != std::string::npos;
	    },
	    30s))
	    << lethe::test::read_file(d.log);
	EXPECT_TRUE(lethed.running());
	EXPECT_TRUE(control(d, "status").value("ok", false));
	EXPECT_NE(lethe::test::read_file(d.log).find(":4: pipeline.workers"), std::string::npos);

	// SIGTERM: clean exit, socket removed.
	lethed.signal(SIGTERM);
	EXPECT_EQ(lethed.wait(60s), 0) << lethe::test::read_file(d.log);
	EXPECT_FALSE(fs::exists(sock));
	int down = -1;
	(void)run_command(kCli + " status --socket " + sock.string());
	down = run_command(kCli + " status --socket " + sock.string()).status;
	EXPECT_EQ(down, 3);
}

/// One raw `camera.snapshot` request, as any client could make it: the reply, with the JPEG
/// written to `out` when there is one.
json raw_snapshot(const Device &d, const fs::path &out)
{
	const std::string py =
	    "import socket,sys,json,base64\n"
	    "s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
	    "s.sendall(b'{\"command\":\"camera.snapshot\"}\\n')\n"
	    "d=b''.join(iter(lambda: s.recv(65536), b''))\n"
	    "r=json.loads(d)\n"
	    "if r.get('ok'): open(sys.argv[2],'wb').write(base64.b64decode(r.pop('jpeg')))\n"
	    "print(json.dumps(r))\n";
	lethe::test::write_file(d.dir / "snap.py", py);
	auto r = run_command("python3 " + (d.dir / "snap.py").string() + " " +
			     (d.run / "control.sock").string() + " " + out.string());
	return json::parse(r.output, nullptr, false);
}

TEST(Lethed, AimSnapshotHoldsNoLegiblePlateAndIsRateLimited)
{
	// Red team (issue 15.1): `camera snapshot` handed a technician the whole newest frame;
	// `lethe read` on it read every plate in it (123 frames in 10 s, no limit).
	lethe::test::MosquittoBroker broker;
	ASSERT_TRUE(broker.start()) << broker.log_text();
	Device d(broker);
	d.install_hotlist({"ZZZ9999"}, 1); // 7ABC123 passes as a non-hit
	// No empty frames between passes: every newest frame shows the plate.
	const auto replay = make_replay(d.dir / "replay", {"us-front.jpg"}, 6, 0);
	d.write_config(broker, replay, "loop = true\nreplay_fps = 15\n");
	Lethed lethed(d, false);
	ASSERT_TRUE(wait_until([&] { return fs::exists(d.run / "control.sock"); }, 60s))
	    << lethe::test::read_file(d.log);
	ASSERT_TRUE(wait_until([&] {
		return control(d, "status")["pipeline"].value("frames_read", 0) > 0;
	}, 60s)) << lethe::test::read_file(d.log);
	// The reader does read this frame: what the snapshot must not let anyone do.
	auto direct = run_command(kCli + " read " + lethe::test::sample_image("us-front.jpg").string());
	ASSERT_NE(direct.output.find("7ABC123"), std::string::npos) << direct.output;

	const auto shot = d.dir / "raw.jpg";
	json reply = raw_snapshot(d, shot);
	ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
	EXPECT_LE(reply.value("width", 0), 640);
	EXPECT_GT(reply.value("sharpness", 0.0), 0.0);
	EXPECT_FALSE(reply["masked"].empty()) << reply.dump();
	ASSERT_FALSE(cv::imread(shot.string()).empty());
	auto read = run_command(kCli + " read --json " + shot.string());
	EXPECT_EQ(read.output.find("7ABC"), std::string::npos) << read.output;
	const auto j = json::parse(read.output.substr(0, read.output.find('\n')), nullptr, false);
	ASSERT_TRUE(j.is_object()) << read.output;
	EXPECT_TRUE(j["plates"].empty()) << read.output;

	// A burst, then "busy": an aiming aid, not a video feed. The budget is taken before the
	// frame is looked at, so requests for a camera that does not exist count as well and
	// come back at once (a masked snapshot takes seconds under ASan, long enough to refill).
	// Eight requests from one process, back to back (milliseconds apart: no refill).
	const std::string py =
	    "import socket,sys,json\n"
	    "for i in range(8):\n"
	    "    s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
	    "    s.sendall(b'{\"command\":\"camera.snapshot\",\"camera\":\"none\"}\\n')\n"
	    "    d=b''.join(iter(lambda: s.recv(65536), b''))\n"
	    "    print(json.loads(d).get('code','?'))\n";
	lethe::test::write_file(d.dir / "burst.py", py);
	const auto burst = run_command("python3 " + (d.dir / "burst.py").string() + " " +
				       (d.run / "control.sock").string());
	std::vector<std::string> codes;
	std::istringstream lines(burst.output);
	for (std::string line; std::getline(lines, line);)
		codes.push_back(line);
	// 5 at once, one used above.
	const auto usage = std::count(codes.begin(), codes.end(), "usage");
	const auto busy = std::count(codes.begin(), codes.end(), "busy");
	EXPECT_EQ(usage + busy, 8) << json(codes).dump();
	EXPECT_GE(usage, 4) << json(codes).dump();
	EXPECT_GE(busy, 3) << json(codes).dump();
	lethed.signal(SIGTERM);
	EXPECT_EQ(lethed.wait(60s), 0);
}

TEST(Lethed, NotifiesReadyAndFeedsWatchdogOnlyWhileFramesFlow)
{
	lethe::test::MosquittoBroker broker;
	ASSERT_TRUE(broker.start());
	Device d(broker);
	const auto replay = make_replay(d.dir / "replay", {"us-angle.jpg"});
	d.write_config(broker, replay, "replay_fps = 10\n"); // 14 frames: 1.4 s of video

	// Stand in for systemd: a datagram socket at $NOTIFY_SOCKET, watchdog period 600 ms.
	const auto path = d.dir / "notify.sock";
	const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(fd, 0);
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
	ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)), 0);
	timeval tv{0, 100000};
	::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	Lethed lethed(d, false, {{"NOTIFY_SOCKET", path.string()}, {"WATCHDOG_USEC", "600000"}});
	struct Message {
		std::chrono::steady_clock::time_point at;
		std::string text;
	};
	std::vector<Message> got;
	auto receive_for = [&](std::chrono::milliseconds span) {
		const auto end = std::chrono::steady_clock::now() + span;
		char buf[512];
		while (std::chrono::steady_clock::now() < end) {
			const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
			if (n > 0)
				got.push_back({std::chrono::steady_clock::now(),
					       std::string(buf, static_cast<std::size_t>(n))});
		}
	};
	auto count = [&](const std::string &what, std::chrono::steady_clock::time_point after = {}) {
		return std::count_if(got.begin(), got.end(), [&](const Message &m) {
			return m.at >= after && m.text.find(what) != std::string::npos;
		});
	};
	// READY comes once the pipeline runs; the replay then lasts ~1.4 s (longer under ASan).
	receive_for(20s);
	ASSERT_GE(count("READY=1"), 1) << lethe::test::read_file(d.log);
	EXPECT_GE(count("WATCHDOG=1"), 1) << "fed while frames flowed";
	// The finite source has ended long ago: the watchdog must have gone quiet.
	const auto quiet_since = std::chrono::steady_clock::now();
	receive_for(3s);
	EXPECT_EQ(count("WATCHDOG=1", quiet_since), 0) << "fed although no frame arrives";
	lethed.signal(SIGTERM);
	EXPECT_EQ(lethed.wait(60s), 0);
	receive_for(200ms);
	EXPECT_GE(count("STOPPING=1"), 1);
	::close(fd);
}

TEST(Lethed, BadConfigRefusedWithFileLine)
{
	lethe::test::TempDir dir;
	lethe::test::write_file(dir / "bad.toml", "[device]\nid = \"x\"\n[[camera]]\nid = \"c\"\nsource = \"usb\"\n");
	auto r = run_command(std::string(LETHED_PATH) + " --config " + (dir / "bad.toml").string(), true);
	EXPECT_EQ(r.status, 2);
	EXPECT_NE(r.output.find((dir / "bad.toml").string() + ":5: camera[0].source"), std::string::npos)
		<< r.output;
}

} // namespace
