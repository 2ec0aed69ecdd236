// SPDX-License-Identifier: GPL-3.0-or-later
// Control socket server: one poll loop, non-blocking sessions, deadlines and per-uid budgets.
#include "control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "lethe/common/crypto.h"
#include "lethe/common/log.h"
#include "lethe/common/thread_entry.h"

namespace lethe::daemon {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxRequest = 64 * 1024;
constexpr int kMaxAcceptsPerWake = 64;

/// One client connection: reading its request line, then writing its reply.
struct Session {
	UniqueFD fd; ///< closed when the session is erased
	uid_t uid = static_cast<uid_t>(-1);
	std::uint64_t order = 0;   ///< accept order: the oldest gives way first
	Clock::time_point deadline; ///< of the current phase
	bool replying = false;
	std::string in;
	std::string out;
	std::size_t sent = 0;
};

/// Requests a uid may still make: refilled at `rate` per second up to `burst`.
struct Bucket {
	double tokens = 0;
	Clock::time_point refilled;
	std::uint64_t busy = 0, dropped = 0; ///< since the last Throttled report
	Clock::time_point reported;
};

uid_t peer_uid(int fd)
{
	struct ucred cred {};
	socklen_t len = sizeof(cred);
	if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
		return static_cast<uid_t>(-1);
	return cred.uid;
}

/// Read what is there without blocking. False once the peer has closed or failed.
bool read_some(Session &s)
{
	char buf[4096];
	for (;;) {
		const ssize_t n = ::recv(s.fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			s.in.append(buf, static_cast<std::size_t>(n));
			if (s.in.size() > kMaxRequest || s.in.find('\n') != std::string::npos)
				return true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
}

/// Write what the socket takes without blocking. False on a failed peer.
bool write_some(Session &s)
{
	while (s.sent < s.out.size()) {
		const ssize_t n = ::send(s.fd.get(), s.out.data() + s.sent, s.out.size() - s.sent,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			s.sent += static_cast<std::size_t>(n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
	return true;
}

} // namespace

nlohmann::json error_reply(const std::string &code, const std::string &why)
{
	return {{"ok", false}, {"code", code}, {"error", why}};
}

Result<std::unique_ptr<ControlServer>> ControlServer::create(const std::filesystem::path &path,
							     Handler handler, Rejected rejected,
							     Throttled throttled, ControlLimits limits)
{
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	if (path.string().size() >= sizeof(addr.sun_path))
		return make_error(-ENAMETOOLONG, "control socket path too long: " + path.string());
	std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
	std::error_code ec;
	std::filesystem::create_directories(path.parent_path(), ec);
	UniqueFD fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (!fd.isValid())
		return make_error(-errno, "socket: " + std::string(std::strerror(errno)));
	::unlink(path.c_str()); // a stale socket from a previous run
	if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0 ||
	    ::chmod(path.c_str(), 0666) != 0 || ::listen(fd.get(), 64) != 0) {
		const int e = errno;
		return make_error(-e, "control socket " + path.string() + ": " + std::strerror(e));
	}
	UniqueFD wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!wake.isValid())
		return make_error(-errno, "eventfd failed");
	return std::unique_ptr<ControlServer>(new ControlServer(path, std::move(fd), std::move(wake),
								 std::move(handler),
								 std::move(rejected),
								 std::move(throttled), limits));
}

ControlServer::ControlServer(std::filesystem::path path, UniqueFD fd, UniqueFD wake,
			     Handler handler, Rejected rejected, Throttled throttled,
			     ControlLimits limits)
	: path_(std::move(path)), fd_(std::move(fd)), wake_(std::move(wake)),
	  handler_(std::move(handler)),
	  rejected_(std::move(rejected)), throttled_(std::move(throttled)), limits_(limits)
{
}

ControlServer::~ControlServer()
{
	stop();
	fd_.reset();
	::unlink(path_.c_str());
}

void ControlServer::start()
{
	if (!thread_.joinable())
		thread_ = std::thread([this] {
			run_thread("control socket", [this] { run(); }, [this] { return stop_.load(); });
		});
}

void ControlServer::stop()
{
	stop_ = true;
	if (wake_.isValid()) {
		const std::uint64_t one = 1;
		(void)!::write(wake_.get(), &one, sizeof(one));
	}
	if (thread_.joinable())
		thread_.join();
}

ControlServer::Stats ControlServer::stats() const
{
	return {served_.load(), rejected_count_.load(), busy_.load(), dropped_.load()};
}

/// The state of run(): sessions and per-uid budgets, touched by the server thread only.
class ControlServer::Loop
{
public:
	explicit Loop(ControlServer &server) : server_(server), limits_(server.limits_) {}
	Loop(const Loop &) = delete;
	Loop &operator=(const Loop &) = delete;

	/// One poll round; false when the server is told to stop.
	bool once()
	{
		std::vector<pollfd> fds{{server_.fd_.get(), POLLIN, 0}, {server_.wake_.get(), POLLIN, 0}};
		for (const auto &s : sessions_)
			fds.push_back({s.fd.get(), static_cast<short>(s.replying ? POLLOUT : POLLIN), 0});
		if (::poll(fds.data(), fds.size(), poll_timeout_ms()) < 0) {
			if (errno == EINTR)
				return true;
			LOG(Daemon, Error) << "control socket poll: " << std::strerror(errno);
			return false;
		}
		if (fds[1].revents != 0 || server_.stop_)
			return false;
		const auto now = Clock::now();
		// Sessions first (their indices match fds), then new ones.
		for (std::size_t i = 0; i < sessions_.size(); ++i)
			if (fds[i + 2].revents != 0)
				progress(sessions_[i], now);
		expire(now);
		close_finished();
		if (fds[0].revents & POLLIN)
			accept_all(now);
		report_throttled(now);
		return true;
	}

private:
	[[nodiscard]] int poll_timeout_ms() const
	{
		auto wait = std::chrono::milliseconds{1000};
		const auto now = Clock::now();
		for (const auto &s : sessions_)
			wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(
						      std::max(s.deadline - now, Clock::duration{0})));
		return static_cast<int>(wait.count());
	}

	void progress(Session &s, Clock::time_point now)
	{
		if (s.replying) {
			if (!write_some(s) || s.sent == s.out.size())
				finished_.push_back(s.fd.get());
			return;
		}
		const bool open = read_some(s);
		if (s.in.size() > kMaxRequest)
			return answer(s, now, "request too large");
		// A line, or a whole JSON object without its newline (clients that write the object
		// and wait, as the protocol's first clients did): the request is complete.
		if (s.in.find('\n') != std::string::npos || whole_object(s.in))
			return answer(s, now, {});
		if (!open) // the client closed before a whole request
			answer(s, now, s.in.empty() ? "no request" : "no end of line before the client closed");
	}

	/// Does the buffer hold exactly one JSON object (no newline yet)?
	static bool whole_object(const std::string &in)
	{
		const auto last = in.find_last_not_of(" \t\r");
		return last != std::string::npos && in[last] == '}' && nlohmann::json::accept(in);
	}

	void expire(Clock::time_point now)
	{
		for (auto &s : sessions_) {
			if (now < s.deadline)
				continue;
			if (s.replying)
				finished_.push_back(s.fd.get()); // the client does not read: give up on it
			else
				answer(s, now,
				       "no whole request line within " +
					       std::to_string(limits_.request_deadline.count()) + " ms");
		}
	}

	/// Decide the reply (handler, rejection or "busy") and start sending it.
	void answer(Session &s, Clock::time_point now, const std::string &rejected)
	{
		nlohmann::json reply;
		if (!take_token(s.uid, now)) {
			++buckets_[s.uid].busy;
			++server_.busy_;
			reply = error_reply("busy", "too many requests from this user; retry in a second");
		} else if (!rejected.empty()) {
			reply = reject(s, rejected);
		} else {
			auto request = nlohmann::json::parse(s.in.substr(0, s.in.find('\n')), nullptr,
							     false);
			if (request.is_discarded() || !request.is_object() ||
			    !request.contains("command") || !request["command"].is_string()) {
				reply = reject(s, "expected one JSON object with a \"command\" string");
			} else {
				++server_.served_;
				reply = handle(request, s.fd.get());
			}
		}
		crypto::wipe(s.in); // a request line may carry anything the client typed
		s.out = reply.dump() + "\n";
		s.sent = 0;
		s.replying = true;
		// From now, not from when the request was read: a handler may take seconds (a
		// snapshot waits for a reader), and the client gets the whole deadline to read.
		s.deadline = Clock::now() + limits_.reply_deadline;
		if (!write_some(s) || s.sent == s.out.size())
			finished_.push_back(s.fd.get());
	}

	/// The handler, behind this session's catch boundary: a request it chokes on (nlohmann
	/// throws on a wrongly typed field) fails alone, the server goes on.
	nlohmann::json handle(const nlohmann::json &request, int fd)
	{
		try {
			return server_.handler_(request, fd);
		} catch (const std::exception &e) {
			LOG(Daemon, Error) << "control request failed: " << e.what();
			return error_reply("internal", "the request failed inside lethed (logged)");
		}
	}

	nlohmann::json reject(Session &s, const std::string &why)
	{
		++server_.rejected_count_;
		if (server_.rejected_)
			server_.rejected_(s.fd.get(), why); // before the reply: recorded when the client reads it
		return error_reply("usage", why);
	}

	bool take_token(uid_t uid, Clock::time_point now)
	{
		auto [it, fresh] = buckets_.try_emplace(uid);
		Bucket &b = it->second;
		if (fresh) {
			b.tokens = limits_.request_burst;
			b.refilled = now;
			b.reported = now;
		}
		const double elapsed = std::chrono::duration<double>(now - b.refilled).count();
		b.tokens = std::min(limits_.request_burst, b.tokens + elapsed * limits_.requests_per_second);
		b.refilled = now;
		if (b.tokens < 1)
			return false;
		b.tokens -= 1;
		return true;
	}

	void close_finished()
	{
		if (finished_.empty())
			return;
		std::sort(finished_.begin(), finished_.end());
		finished_.erase(std::unique(finished_.begin(), finished_.end()), finished_.end());
		std::erase_if(sessions_, [this](const Session &s) {
			return std::binary_search(finished_.begin(), finished_.end(), s.fd.get());
		});
		finished_.clear();
	}

	void accept_all(Clock::time_point now)
	{
		for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
			UniqueFD fd(::accept4(server_.fd_.get(), nullptr, nullptr,
					      SOCK_CLOEXEC | SOCK_NONBLOCK));
			if (!fd.isValid())
				return;
			Session s;
			s.uid = peer_uid(fd.get());
			s.fd = std::move(fd);
			s.order = next_order_++;
			s.deadline = now + limits_.request_deadline;
			make_room(s.uid);
			sessions_.push_back(std::move(s));
		}
	}

	/// Keep within the session limits by closing the oldest unfinished session: of the same
	/// uid when that uid is at its limit, else of anyone when all slots are taken. A new
	/// session always gets in, so idle connections cannot lock others out.
	void make_room(uid_t uid)
	{
		const auto count = static_cast<std::size_t>(std::count_if(
			sessions_.begin(), sessions_.end(), [uid](const Session &s) { return s.uid == uid; }));
		const bool same_uid = count >= limits_.sessions_per_uid;
		if (!same_uid && sessions_.size() < limits_.sessions_total)
			return;
		auto oldest = sessions_.end();
		for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
			if (it->replying || (same_uid && it->uid != uid))
				continue;
			if (oldest == sessions_.end() || it->order < oldest->order)
				oldest = it;
		}
		if (oldest == sessions_.end())
			return; // every slot is busy sending a reply: those end by their deadline
		++buckets_[oldest->uid].dropped;
		++server_.dropped_;
		sessions_.erase(oldest); // closes it
	}

	void report_throttled(Clock::time_point now)
	{
		for (auto &[uid, b] : buckets_) {
			if ((b.busy == 0 && b.dropped == 0) ||
			    now - b.reported < limits_.throttle_report_interval)
				continue;
			if (server_.throttled_)
				server_.throttled_(uid, b.busy, b.dropped);
			b.busy = b.dropped = 0;
			b.reported = now;
		}
	}

	ControlServer &server_;
	const ControlLimits limits_;
	std::vector<Session> sessions_;
	std::vector<int> finished_;
	std::map<uid_t, Bucket> buckets_;
	std::uint64_t next_order_ = 0;
};

void ControlServer::run()
{
	// run_thread() is this thread's catch boundary (a throw here restarts the loop with fresh
	// sessions); each handler call has its own (Loop::handle).
	Loop loop(*this);
	while (loop.once()) {
	}
}

} // namespace lethe::daemon
