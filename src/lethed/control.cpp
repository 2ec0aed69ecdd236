// SPDX-License-Identifier: GPL-3.0-or-later
// Control socket server: accept, read one JSON line (bounded, with a time-out), answer, close.
#include "control.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lethe/common/log.h"

namespace lethe::daemon {
namespace {

constexpr std::size_t kMaxRequest = 64 * 1024;

bool write_all(int fd, const std::string &s)
{
	std::size_t off = 0;
	while (off < s.size()) {
		const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		off += static_cast<std::size_t>(n);
	}
	return true;
}

} // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::create(const std::filesystem::path &path,
							     Handler handler, Rejected rejected)
{
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	if (path.string().size() >= sizeof(addr.sun_path))
		return make_error(-ENAMETOOLONG, "control socket path too long: " + path.string());
	std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
	std::error_code ec;
	std::filesystem::create_directories(path.parent_path(), ec);
	const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return make_error(-errno, "socket: " + std::string(std::strerror(errno)));
	::unlink(path.c_str()); // a stale socket from a previous run
	if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0 ||
	    ::chmod(path.c_str(), 0666) != 0 || ::listen(fd, 16) != 0) {
		const int e = errno;
		::close(fd);
		return make_error(-e, "control socket " + path.string() + ": " + std::strerror(e));
	}
	const int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake < 0) {
		::close(fd);
		return make_error(-errno, "eventfd failed");
	}
	return std::unique_ptr<ControlServer>(
		new ControlServer(path, fd, wake, std::move(handler), std::move(rejected)));
}

ControlServer::~ControlServer()
{
	stop();
	if (fd_ >= 0) {
		::close(fd_);
		::unlink(path_.c_str());
	}
	if (wake_ >= 0)
		::close(wake_);
}

void ControlServer::start()
{
	if (!thread_.joinable())
		thread_ = std::thread([this] { run(); });
}

void ControlServer::stop()
{
	stop_ = true;
	if (wake_ >= 0) {
		const std::uint64_t one = 1;
		(void)!::write(wake_, &one, sizeof(one));
	}
	if (thread_.joinable())
		thread_.join();
}

void ControlServer::run()
{
	while (!stop_) {
		pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_, POLLIN, 0}};
		if (::poll(fds, 2, 1000) < 0) {
			if (errno == EINTR)
				continue;
			LOG(Daemon, Error) << "control socket poll: " << std::strerror(errno);
			return;
		}
		if (fds[1].revents)
			break;
		if (!(fds[0].revents & POLLIN))
			continue;
		const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
		if (client < 0)
			continue;
		serve(client);
		::close(client);
	}
}

void ControlServer::serve(int client)
{
	timeval tv{5, 0};
	(void)::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	std::string line;
	char buf[4096];
	while (line.find('\n') == std::string::npos && line.size() <= kMaxRequest) {
		const ssize_t n = ::recv(client, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		line.append(buf, static_cast<std::size_t>(n));
	}
	nlohmann::json reply;
	std::string rejected;
	if (line.size() > kMaxRequest) {
		rejected = "request too large";
	} else if (line.empty()) {
		rejected = "no request";
	} else {
		auto request = nlohmann::json::parse(line.substr(0, line.find('\n')), nullptr, false);
		if (request.is_discarded() || !request.is_object() || !request.contains("command") ||
		    !request["command"].is_string())
			rejected = "expected one JSON object with a \"command\" string";
		else
			reply = handler_(request, client);
	}
	if (!rejected.empty()) {
		if (rejected_)
			rejected_(client, rejected); // before the reply: recorded when the client reads it
		reply = {{"ok", false}, {"code", "usage"}, {"error", rejected}};
	}
	(void)write_all(client, reply.dump() + "\n");
}

} // namespace lethe::daemon
