// SPDX-License-Identifier: GPL-3.0-or-later
// Client side of lethed's control socket (docs/control.md) for `lethe status`, `camera`, `selftest`.
#pragma once

#include <chrono>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "lethe/common/result.h"

namespace lethe::cli {

/// --socket PATH (default $LETHE_CONTROL_SOCKET, else /run/lethe/control.sock).
void add_socket_option(CLI::App &app, std::string &socket);

/// Send one request, return the daemon's reply object. -ECONNREFUSED/-ENOENT when no
/// daemon listens (the caller exits with kExitUnavailable).
[[nodiscard]] Result<nlohmann::json> control_request(const std::string &socket,
						     const nlohmann::json &request,
						     std::chrono::seconds timeout = std::chrono::seconds(30));

/// Exit code for a reply with "ok": false (forbidden → 1, usage → 2, unavailable → 3).
[[nodiscard]] int exit_code_for(const nlohmann::json &reply);

} // namespace lethe::cli
