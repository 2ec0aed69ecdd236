// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: lethed's control socket — bytes from any local user to a running daemon.
//
// The socket is mode 0666 (access is decided per request by role), so its request parser and
// everything a request reaches before and after authorisation must survive any input. One
// real daemon (src/lethed, no camera, no broker, no policy: strictest fallback) runs in this
// process with the fuzzer's group as technician; each input is sent as it is over a new
// connection and the reply must be one JSON object line with an "ok" boolean.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_io.h"
#include "lethe/common/log.h"
#include "lethe/config/config.h"
#include "lethed/daemon.h"

namespace {

namespace fs = std::filesystem;

struct Running {
	fs::path dir;
	fs::path socket;
	std::unique_ptr<lethe::daemon::Daemon> daemon;
	~Running()
	{
		daemon.reset();
		std::error_code ec;
		if (!dir.empty())
			fs::remove_all(dir, ec);
	}
};

Running *g_running = nullptr;

Running &running()
{
	static const bool started = [] {
		g_running = new Running;
		Running &s = *g_running;
		// tmpfs when there is one: the audit log grows by one fsync'd record per input.
		const fs::path base =
		    fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
		s.dir = base / ("lethe-control-fuzz-" + std::to_string(::getpid()));
		fs::create_directories(s.dir / "state");
		fs::create_directories(s.dir / "trust");
		const group *g = ::getgrgid(::getgid());
		const std::string group = g ? g->gr_name : "root";
		const fs::path config = s.dir / "lethed.toml";
		std::ofstream(config)
		    << "[device]\nid = \"fuzz-dev\"\nstate_dir = \"" << (s.dir / "state").string()
		    << "\"\ntrust_dir = \"" << (s.dir / "trust").string() << "\"\nruntime_dir = \""
		    << (s.dir / "run").string()
		    << "\"\nkey_mode = \"ram\"\n[log]\nlevels = \"*:Fatal\"\n"
		    << "[roles]\ntechnician = [\"" << group << "\"]\n";
		(void)lethe::log::set_levels("*:Fatal");
		auto cfg = lethe::config::load(config);
		if (!cfg)
			__builtin_trap();
		s.socket = cfg->control_socket();
		auto d = lethe::daemon::Daemon::create(std::move(cfg).value());
		if (!d || !(*d)->start())
			__builtin_trap();
		s.daemon = std::move(d).value();
		// Stop the daemon before OpenSSL's exit handler, registered while it started, runs.
		std::atexit([] { delete g_running; });
		return true;
	}();
	(void)started;
	return *g_running;
}

/// The inputs before the current one (for a daemon that stops answering).
std::deque<std::string> g_recent;

/// One request: connect, send everything, half-close, read the reply to EOF.
std::string exchange(const fs::path &path, const std::uint8_t *data, std::size_t size)
{
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
	const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc = -1;
	if (fd >= 0) {
		do
			rc = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
		while (rc != 0 && errno == EINTR);
	}
	if (rc != 0)
		__builtin_trap(); // the daemon stopped listening
	// The daemon may answer and close before reading everything.
	(void)lethe::fuzz::send_all(fd, data, size);
	::shutdown(fd, SHUT_WR);
	std::string reply;
	char buf[65536];
	for (;;) {
		if (lethe::fuzz::wait_readable(fd, 30000) <= 0) {
			// The daemon waits at most 5 s for a request line; the slowest request
			// (camera.list: libcamera enumeration) takes a few seconds under ASan.
			for (const auto &r : g_recent) {
				std::fprintf(stderr, "earlier input:");
				for (const char c : r)
					std::fprintf(
					    stderr, " %02x",
					    static_cast<unsigned>(static_cast<std::uint8_t>(c)));
				std::fprintf(stderr, "\n");
			}
			__builtin_trap(); // no answer within 30 s
		}
		const ssize_t n = lethe::fuzz::recv_retry(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		reply.append(buf, static_cast<std::size_t>(n));
	}
	::close(fd);
	return reply;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	auto &r = running();
	g_recent.emplace_back(reinterpret_cast<const char *>(data), size);
	if (g_recent.size() > 4)
		g_recent.pop_front();
	const std::string reply = exchange(r.socket, data, size);
	// Exactly one line holding one JSON object with an "ok" boolean.
	if (reply.empty() || reply.back() != '\n' || reply.find('\n') != reply.size() - 1)
		__builtin_trap();
	const auto j = nlohmann::json::parse(reply, nullptr, false);
	if (j.is_discarded() || !j.is_object() || !j.contains("ok") || !j["ok"].is_boolean())
		__builtin_trap();
	return 0;
}
