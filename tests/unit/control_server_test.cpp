// SPDX-License-Identifier: GPL-3.0-or-later
// lethed's control server in process: slow, idle and flooding local clients cannot starve it.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "lethed/control.h"
#include "support/temp_dir.h"

namespace lethe::daemon {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

/// A connected client socket (closed on destruction).
class Client
{
public:
	explicit Client(const std::filesystem::path &path)
	{
		fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_un addr{};
		addr.sun_family = AF_UNIX;
		std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
		connected_ = fd_ >= 0 &&
			     ::connect(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0;
	}
	~Client()
	{
		if (fd_ >= 0)
			::close(fd_);
	}
	Client(const Client &) = delete;
	Client &operator=(const Client &) = delete;

	[[nodiscard]] bool connected() const { return connected_; }
	bool send(const std::string &s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
	/// Everything until the server closes, or what came before `timeout`.
	std::string read_all(std::chrono::milliseconds timeout)
	{
		std::string out;
		const auto end = Clock::now() + timeout;
		char buf[65536];
		while (Clock::now() < end) {
			pollfd p{fd_, POLLIN, 0};
			const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
			if (::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0))) <= 0)
				break;
			const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
			if (n <= 0)
				break;
			out.append(buf, static_cast<std::size_t>(n));
		}
		return out;
	}

private:
	int fd_ = -1;
	bool connected_ = false;
};

/// A server whose handler answers {"ok": true, "command": ...}, recording rejections.
class ControlServerTest : public ::testing::Test
{
protected:
	void start(ControlLimits limits = {}, std::size_t reply_size = 0)
	{
		auto s = ControlServer::create(
			dir_ / "control.sock",
			[reply_size](const json &request, int) {
				json r = {{"ok", true}, {"command", request["command"]}};
				// Only the snapshot's reply is large: the time of the others measures waiting.
				if (reply_size > 0 && request["command"] == "camera.snapshot")
					r["padding"] = std::string(reply_size, 'x');
				return r;
			},
			[this](int, const std::string &why) {
				std::lock_guard lock(mutex_);
				rejected_.push_back(why);
			},
			[this](uid_t, std::uint64_t busy, std::uint64_t dropped) {
				busy_reported_ += busy;
				dropped_reported_ += dropped;
			},
			limits);
		ASSERT_TRUE(s.ok()) << s.error().message;
		server_ = std::move(s).value();
		server_->start();
	}
	/// One request as `lethe status` makes it: the reply and how long it took.
	std::pair<json, std::chrono::milliseconds> request(const std::string &line)
	{
		const auto t0 = Clock::now();
		Client c(server_->path());
		EXPECT_TRUE(c.connected());
		c.send(line);
		const std::string reply = c.read_all(10s);
		return {json::parse(reply, nullptr, false),
			std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0)};
	}
	// The server's thread calls back into the members below: stop it before they go.
	void TearDown() override { server_.reset(); }

	std::size_t rejections()
	{
		std::lock_guard lock(mutex_);
		return rejected_.size();
	}

	test::TempDir dir_;
	std::unique_ptr<ControlServer> server_;
	std::mutex mutex_;
	std::vector<std::string> rejected_;
	std::atomic<std::uint64_t> busy_reported_{0}, dropped_reported_{0};
};

TEST_F(ControlServerTest, SlowAndIdleClientsDoNotDelayARequest)
{
	// Red team (issue 15.3): one client sending a byte every 4 s, or 12 idle connections,
	// blocked `lethe status` for 30 s and more (a 5 s limit per recv, one session at a time).
	start();
	std::vector<std::unique_ptr<Client>> idle;
	for (int i = 0; i < 12; ++i) {
		idle.push_back(std::make_unique<Client>(server_->path()));
		ASSERT_TRUE(idle.back()->connected());
	}
	std::atomic<bool> stop{false};
	std::thread slow([&] {
		Client c(server_->path());
		const std::string line = "{\"command\": \"status\"}";
		for (std::size_t i = 0; i < line.size() && !stop; ++i) {
			c.send(line.substr(i, 1));
			for (int t = 0; t < 40 && !stop; ++t)
				std::this_thread::sleep_for(10ms);
		}
	});
	std::this_thread::sleep_for(200ms); // the slow client is mid-request, the idle ones idle
	const auto [reply, took] = request("{\"command\": \"status\"}\n");
	stop = true;
	slow.join();
	EXPECT_TRUE(reply.value("ok", false)) << reply.dump();
	EXPECT_EQ(reply.value("command", ""), "status");
	EXPECT_LT(took, 1000ms) << "a request waited behind slow or idle clients";
}

TEST_F(ControlServerTest, WholeObjectWithoutNewlineIsARequest)
{
	start();
	const auto [reply, took] = request("{\"command\": \"status\"}");
	EXPECT_TRUE(reply.value("ok", false)) << reply.dump();
	EXPECT_LT(took, 1000ms);
}

TEST_F(ControlServerTest, RequestDeadlineIsAbsoluteNotPerRead)
{
	ControlLimits limits;
	limits.request_deadline = 1000ms;
	start(limits);
	Client c(server_->path());
	ASSERT_TRUE(c.connected());
	const auto t0 = Clock::now();
	std::string reply;
	// A byte every 200 ms, never a newline: each read is quick, the request never ends.
	for (int i = 0; i < 20 && reply.empty(); ++i) {
		c.send("x");
		reply = c.read_all(200ms);
	}
	const auto took = Clock::now() - t0;
	const auto j = json::parse(reply, nullptr, false);
	ASSERT_TRUE(j.is_object()) << reply;
	EXPECT_FALSE(j.value("ok", true));
	EXPECT_NE(j.value("error", "").find("within 1000 ms"), std::string::npos) << reply;
	EXPECT_LT(took, 2000ms);
	EXPECT_EQ(rejections(), 1u);
}

TEST_F(ControlServerTest, FloodIsAnsweredBusyAndRecordedInAggregate)
{
	// Red team (issue 15.3): 4,093 junk requests in 15 s grew audit.log by 2 MB, one
	// fdatasync each. Past the per-user budget a request is answered "busy" and only counted.
	ControlLimits limits;
	limits.requests_per_second = 20;
	limits.request_burst = 40;
	limits.throttle_report_interval = 200ms;
	start(limits);
	const auto t0 = Clock::now();
	int busy = 0;
	const int total = 300;
	for (int i = 0; i < total; ++i) {
		const auto [reply, took] = request("junk\n");
		ASSERT_TRUE(reply.is_object());
		if (reply.value("code", "") == "busy")
			++busy;
		else
			EXPECT_EQ(reply.value("code", ""), "usage");
	}
	const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
	// Every rejection that reached the recorder fits the budget: the burst plus the rate.
	EXPECT_LE(static_cast<double>(rejections()), 40 + 20 * seconds + 1);
	EXPECT_EQ(rejections() + static_cast<std::size_t>(busy), static_cast<std::size_t>(total));
	EXPECT_GT(busy, 0);
	// The busy ones are reported, in aggregate.
	const auto deadline = Clock::now() + 3s;
	while (busy_reported_ < static_cast<std::uint64_t>(busy) && Clock::now() < deadline)
		std::this_thread::sleep_for(20ms);
	EXPECT_EQ(busy_reported_.load(), static_cast<std::uint64_t>(busy));
	EXPECT_EQ(server_->stats().busy, static_cast<std::uint64_t>(busy));
}

TEST_F(ControlServerTest, ClientThatNeverReadsItsReplyBlocksNobody)
{
	start({}, 4 * 1024 * 1024); // replies far larger than the socket buffer
	Client hog(server_->path());
	ASSERT_TRUE(hog.connected());
	hog.send("{\"command\": \"camera.snapshot\"}\n"); // and never reads
	std::this_thread::sleep_for(100ms);
	const auto [reply, took] = request("{\"command\": \"status\"}\n");
	EXPECT_TRUE(reply.value("ok", false));
	EXPECT_LT(took, 2000ms);
}

} // namespace
} // namespace lethe::daemon
