// SPDX-License-Identifier: GPL-3.0-or-later
// Control socket: a unix stream socket in the runtime directory, one JSON request line per connection.
//
// Protocol (docs/control.md): the client sends one line {"command": "...", ...}; the daemon
// answers one line {"ok": true, ...} or {"ok": false, "error": "...", "code": "..."} and
// closes. The caller is identified by SO_PEERCRED and authorised by role.
//
// Any local user may connect (mode 0666), so no client may hold the server up (issue 15.3).
// One thread serves every session from a poll loop with non-blocking sockets: a client that
// sends a byte every few seconds, or nothing at all, occupies only its own slot. Each session
// has an absolute deadline for its request line and another for the reply; each uid has a
// bounded number of open sessions (its oldest unfinished session gives way to a new one) and
// a token bucket of requests: a request beyond it is answered "busy" without reaching the
// handler, and is counted instead of recorded one by one (Throttled, once per interval per
// uid), so a flood cannot grow the audit trail at its own pace. Handlers run on this thread,
// one at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "lethe/common/result.h"
#include "lethe/common/unique_fd.h"

namespace lethe::daemon {

/// A refusal as the protocol carries it: {"ok": false, "code": CODE, "error": WHY}. Codes:
/// usage, forbidden, busy, failed, internal (docs/control.md).
[[nodiscard]] nlohmann::json error_reply(const std::string &code, const std::string &why);

/// How much of the server one client may take (defaults: what docs/control.md states).
struct ControlLimits {
	std::chrono::milliseconds request_deadline{3000}; ///< accept → the whole request line
	std::chrono::milliseconds reply_deadline{5000};   ///< request read → the whole reply sent
	std::size_t sessions_per_uid = 8; ///< open sessions per uid
	std::size_t sessions_total = 64;  ///< open sessions in all
	double requests_per_second = 20;  ///< per uid, sustained (token bucket)
	double request_burst = 40;        ///< per uid, bucket size
	std::chrono::milliseconds throttle_report_interval{10000};
};

class ControlServer
{
public:
	/// Handles one request; fd is the connected socket (for peer credentials).
	using Handler = std::function<nlohmann::json(const nlohmann::json &request, int fd)>;
	/// Told of a session whose request never reached the handler (too large, not JSON, no
	/// command, no request line in time); fd is the connected socket, reason says why.
	/// Called only within the uid's request budget.
	using Rejected = std::function<void(int fd, const std::string &reason)>;
	/// Told, at most once per throttle_report_interval and uid, how many sessions of that uid
	/// were answered "busy" (over its budget) or dropped for a newer one since the last call.
	using Throttled = std::function<void(uid_t uid, std::uint64_t busy, std::uint64_t dropped)>;

	/// Bind (replacing a stale socket file), mode 0666: access is decided per request by
	/// the caller's role, not by file permissions.
	[[nodiscard]] static Result<std::unique_ptr<ControlServer>>
	create(const std::filesystem::path &path, Handler handler, Rejected rejected = {},
	       Throttled throttled = {}, ControlLimits limits = {});
	~ControlServer();
	ControlServer(const ControlServer &) = delete;
	ControlServer &operator=(const ControlServer &) = delete;

	void start();
	void stop();
	[[nodiscard]] const std::filesystem::path &path() const { return path_; }

	struct Stats {
		std::uint64_t served = 0;   ///< requests that reached the handler
		std::uint64_t rejected = 0; ///< sessions refused before the handler (bad request, timeout)
		std::uint64_t busy = 0;     ///< requests over their uid's budget
		std::uint64_t dropped = 0;  ///< unfinished sessions closed for a newer one
	};
	[[nodiscard]] Stats stats() const;

private:
	class Loop;
	ControlServer(std::filesystem::path path, UniqueFD fd, UniqueFD wake, Handler handler,
		      Rejected rejected, Throttled throttled, ControlLimits limits);
	void run();

	std::filesystem::path path_;
	UniqueFD fd_;   ///< the listening socket
	UniqueFD wake_; ///< eventfd: stop() wakes the poll loop
	Handler handler_;
	Rejected rejected_;
	Throttled throttled_;
	ControlLimits limits_;
	std::thread thread_;
	std::atomic<bool> stop_{false};
	std::atomic<std::uint64_t> served_{0}, rejected_count_{0}, busy_{0}, dropped_{0};
};

} // namespace lethe::daemon
