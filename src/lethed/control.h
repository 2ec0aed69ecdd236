// SPDX-License-Identifier: GPL-3.0-or-later
// Control socket: a unix stream socket in the runtime directory, one JSON request line per connection.
//
// Protocol (docs/control.md): the client sends one line {"command": "...", ...}; the daemon
// answers one line {"ok": true, ...} or {"ok": false, "error": "...", "code": "..."} and
// closes. The caller is identified by SO_PEERCRED and authorised by role.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "lethe/common/result.h"

namespace lethe::daemon {

class ControlServer
{
public:
	/// Handles one request; fd is the connected socket (for peer credentials).
	using Handler = std::function<nlohmann::json(const nlohmann::json &request, int fd)>;
	/// Told of a session whose request never reached the handler (too large, not JSON, no
	/// command, no request line at all); fd is the connected socket, reason says why.
	using Rejected = std::function<void(int fd, const std::string &reason)>;

	/// Bind (replacing a stale socket file), mode 0666: access is decided per request by
	/// the caller's role, not by file permissions.
	[[nodiscard]] static Result<std::unique_ptr<ControlServer>>
	create(const std::filesystem::path &path, Handler handler, Rejected rejected = {});
	~ControlServer();
	ControlServer(const ControlServer &) = delete;
	ControlServer &operator=(const ControlServer &) = delete;

	void start();
	void stop();
	[[nodiscard]] const std::filesystem::path &path() const { return path_; }

private:
	ControlServer(std::filesystem::path path, int fd, int wake, Handler handler, Rejected rejected)
		: path_(std::move(path)), fd_(fd), wake_(wake), handler_(std::move(handler)),
		  rejected_(std::move(rejected))
	{
	}
	void run();
	void serve(int client);

	std::filesystem::path path_;
	int fd_ = -1;
	int wake_ = -1;
	Handler handler_;
	Rejected rejected_;
	std::thread thread_;
	std::atomic<bool> stop_{false};
};

} // namespace lethe::daemon
