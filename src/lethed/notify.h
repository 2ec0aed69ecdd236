// SPDX-License-Identifier: GPL-3.0-or-later
// sd_notify for lethed: READY, RELOADING, STOPPING, STATUS and the watchdog (no-ops without systemd).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace lethe::daemon::notify {

void ready();
void reloading();
void stopping();
void watchdog();
void status(const std::string &text);
/// The watchdog period systemd expects (WatchdogSec=), if the watchdog is enabled for us.
[[nodiscard]] std::optional<std::chrono::microseconds> watchdog_interval();

} // namespace lethe::daemon::notify
