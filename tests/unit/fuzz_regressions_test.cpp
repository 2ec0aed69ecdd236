// SPDX-License-Identifier: GPL-3.0-or-later
// Inputs found by the libFuzzer targets (tests/fuzz): each must now be refused cleanly.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lethe/config/config.h"
#include "lethe/hotlist/hotlist.h"
#include "lethe/publish/outbox.h"
#include "lethe/store/database.h"
#include "support/temp_dir.h"

namespace lethe {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(FuzzRegressions, HotlistTimesBeyondClockRangeAreRefused)
{
	// 9135-01-01 overflowed system_clock::from_time_t (signed overflow, UBSan).
	EXPECT_FALSE(lethe::parse_utc("9135-01-01", lethe::UtcForm::DateOrDateTime).ok());
	EXPECT_FALSE(hotlist::parse_utc("9999-12-31T23:59:59Z").ok());
	EXPECT_FALSE(hotlist::parse_utc("2026-01-01T-1:00:00Z").ok());
	EXPECT_TRUE(lethe::parse_utc("2200-01-01", lethe::UtcForm::DateOrDateTime).ok());
}

TEST(FuzzRegressions, ConfigHugeNumbersAreRefusedWithoutOverflow)
{
	// config_fuzz: `port = 1.8e84` reached toml++'s value<long long>() on a float, an
	// out-of-range float-to-integer conversion (UBSan float-cast-overflow, clang). And a roi
	// of two huge integers overflowed `x + width` (signed overflow, caught here by GCC too).
	const std::string head = "[device]\nid = \"d\"\n";
	auto port = config::parse(head + "[[broker]]\nname = \"b\"\nport = 1.8e84\n", "f.toml");
	ASSERT_FALSE(port.ok());
	EXPECT_NE(port.error().message.find("f.toml:5: broker[0].port: must be an integer"),
	          std::string::npos)
	    << port.error().message;
	auto roi = config::parse(head + "[[camera]]\nid = \"c\"\nsource = \"replay\"\n"
	                                "uri = \"/r\"\nroi = [9223372036854775807, 0, "
	                                "9223372036854775807, 1]\n",
	                         "f.toml");
	ASSERT_FALSE(roi.ok());
	EXPECT_NE(roi.error().message.find("roi: must be [x, y, width, height]"), std::string::npos)
	    << roi.error().message;
}

TEST(FuzzRegressions, OutboxRowTimesBeyondClockRangeDoNotOverflow)
{
	// outbox_fuzz: a damaged row's created_ms/expires_ms (5099982185084405446) overflowed the
	// clock's nanoseconds in Outbox::peek (signed overflow, UBSan). They now saturate.
	test::TempDir dir;
	auto keys = publish::FileOutboxKeys::create(dir / "outbox.key");
	ASSERT_TRUE(keys.ok());
	auto outbox = publish::Outbox::open(dir / "outbox.db", **keys);
	ASSERT_TRUE(outbox.ok());
	const auto now = std::chrono::system_clock::now();
	ASSERT_TRUE((*outbox)->put("e1", "t", "payload", now, 1h).ok());
	{
		auto raw = store::Database::open(dir / "outbox.db");
		ASSERT_TRUE(raw.ok());
		auto st = (*raw)->prepare("UPDATE outbox SET created_ms = ?, expires_ms = ?");
		ASSERT_TRUE(st.ok());
		ASSERT_TRUE(st->bind(1, std::int64_t{5099982185084405446})
		                .bind(2, std::numeric_limits<std::int64_t>::max())
		                .run()
		                .ok());
	}
	auto items = (*outbox)->peek(4, now);
	ASSERT_TRUE(items.ok()) << items.error().message;
	ASSERT_EQ(items->size(), 1U);
	EXPECT_EQ(std::string(items->front().payload.begin(), items->front().payload.end()),
	          "payload");
	EXPECT_GT(items->front().expires, now);
	EXPECT_GT(items->front().created, now);
}

/// Send one request line to a unix socket, return the reply (empty if none).
std::string control_exchange(const fs::path &socket, const std::string &line)
{
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
	const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
		if (fd >= 0)
			::close(fd);
		return {};
	}
	(void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
	std::string reply;
	char buf[4096];
	for (;;) {
		pollfd p{fd, POLLIN, 0};
		if (::poll(&p, 1, 30000) <= 0)
			break;
		const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		reply.append(buf, static_cast<std::size_t>(n));
	}
	::close(fd);
	return reply;
}

TEST(FuzzRegressions, ControlSocketNonStringCameraIsRefusedAndDaemonStaysUp)
{
	// control_fuzz: {"command":"camera.snapshot","camera":1} from any local user made
	// json::value() throw inside lethed's control thread: std::terminate, daemon gone.
	test::TempDir dir;
	fs::create_directories(dir / "state");
	fs::create_directories(dir / "trust");
	const group *g = ::getgrgid(::getgid());
	ASSERT_NE(g, nullptr);
	const fs::path config = dir / "lethed.toml";
	test::write_file(config, "[device]\nid = \"fuzz-regression\"\nstate_dir = \"" +
	                             (dir / "state").string() + "\"\ntrust_dir = \"" +
	                             (dir / "trust").string() + "\"\nruntime_dir = \"" +
	                             (dir / "run").string() + "\"\nkey_mode = \"ram\"\n" +
	                             "[roles]\ntechnician = [\"" + g->gr_name + "\"]\n");
	const fs::path log = dir / "lethed.log";
	const pid_t pid = ::fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
		::dup2(fd, 1);
		::dup2(fd, 2);
		// LETHED_PATH is a shell command prefix (under qemu-user it starts with the
		// emulator): exec through the shell, which leaves lethed with this pid.
		const std::string script = std::string("exec ") + LETHED_PATH + " \"$@\"";
		const char *argv[] = {"/bin/sh", "-c",          script.c_str(), "lethed",
		                      "--config", config.c_str(), nullptr};
		::execv("/bin/sh", const_cast<char *const *>(argv));
		::_exit(127);
	}
	const fs::path socket = dir / "run" / "control.sock";
	auto status_ok = [&] {
		const auto r = nlohmann::json::parse(
		    control_exchange(socket, "{\"command\":\"status\"}\n"), nullptr, false);
		return r.is_object() && r.value("ok", false);
	};
	const auto deadline = std::chrono::steady_clock::now() + 60s;
	while (!status_ok() && std::chrono::steady_clock::now() < deadline)
		std::this_thread::sleep_for(100ms);
	ASSERT_TRUE(status_ok()) << test::read_file(log);

	for (const char *bad : {"{\"command\":\"camera.snapshot\",\"camera\":1}\n",
	                        "{\"command\":\"camera.snapshot\",\"camera\":null}\n",
	                        "{\"command\":\"camera.snapshot\",\"camera\":[\"cam0\"]}\n"}) {
		const auto reply =
		    nlohmann::json::parse(control_exchange(socket, bad), nullptr, false);
		ASSERT_TRUE(reply.is_object()) << bad << test::read_file(log);
		EXPECT_FALSE(reply.value("ok", true)) << bad;
		EXPECT_TRUE(status_ok()) << "daemon gone after " << bad << test::read_file(log);
	}

	::kill(pid, SIGTERM);
	int status = 0;
	for (int i = 0; i < 300 && ::waitpid(pid, &status, WNOHANG) == 0; ++i)
		std::this_thread::sleep_for(100ms);
	if (::waitpid(pid, &status, WNOHANG) == 0) {
		::kill(pid, SIGKILL);
		::waitpid(pid, &status, 0);
	}
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_file(log);
}

} // namespace
} // namespace lethe
