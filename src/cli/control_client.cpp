// SPDX-License-Identifier: GPL-3.0-or-later
// Control socket client: connect, send one JSON line, read one JSON line.
#include "cli/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "cli/arguments.h"
#include "cli/command.h"
#include "lethe/common/unique_fd.h"

namespace lethe::cli {

void add_socket_option(CLI::App &app, std::string &socket)
{
	socket = env_or("LETHE_CONTROL_SOCKET", "/run/lethe/control.sock");
	app.add_option("--socket", socket, "lethed's control socket (env LETHE_CONTROL_SOCKET)")
		->capture_default_str();
}

Result<nlohmann::json> control_request(const std::string &socket, const nlohmann::json &request,
				       std::chrono::seconds timeout)
{
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	if (socket.size() >= sizeof(addr.sun_path))
		return make_error(-ENAMETOOLONG, "socket path too long");
	std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
	const UniqueFD fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (!fd.isValid())
		return make_error(-errno, std::strerror(errno));
	timeval tv{static_cast<time_t>(timeout.count()), 0};
	(void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
		const int e = errno;
		return make_error(-e, "lethed is not reachable at " + socket + ": " + std::strerror(e));
	}
	const std::string line = request.dump() + "\n";
	if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
	    static_cast<ssize_t>(line.size()))
		return make_error(-EIO, "cannot send the request to lethed");
	std::string reply;
	char buf[65536];
	bool timed_out = false;
	for (;;) {
		const ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		timed_out = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
		if (n <= 0)
			break;
		reply.append(buf, static_cast<std::size_t>(n));
		if (reply.back() == '\n')
			break;
		if (reply.size() > (64u << 20))
			break;
	}
	if (timed_out)
		return make_error(-ETIMEDOUT, "lethed did not reply within " +
						      std::to_string(timeout.count()) + " s");
	if (reply.empty() || reply.back() != '\n')
		return make_error(-EPROTO, "lethed closed the connection before a whole reply (" +
						   std::to_string(reply.size()) + " bytes)");
	auto j = nlohmann::json::parse(reply, nullptr, false);
	if (j.is_discarded() || !j.is_object())
		return make_error(-EPROTO, "lethed sent no valid reply");
	return j;
}

int exit_code_for(const nlohmann::json &reply)
{
	const std::string code = reply.value("code", "");
	if (code == "usage")
		return kExitUsage;
	if (code == "unavailable")
		return kExitUnavailable;
	return kExitFailure;
}

} // namespace lethe::cli
