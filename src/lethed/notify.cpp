// SPDX-License-Identifier: GPL-3.0-or-later
// sd_notify wrappers; compiled to no-ops when libsystemd is not available.
#include "notify.h"

#ifdef LETHE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace lethe::daemon::notify {

namespace {
void send([[maybe_unused]] const std::string &state)
{
#ifdef LETHE_HAVE_SYSTEMD
	(void)sd_notify(0, state.c_str());
#endif
}
} // namespace

void ready()
{
	send("READY=1\nSTATUS=running");
}

void reloading()
{
	send("RELOADING=1\nSTATUS=reloading");
}

void stopping()
{
	send("STOPPING=1\nSTATUS=stopping");
}

void watchdog()
{
	send("WATCHDOG=1");
}

void status(const std::string &text)
{
	send("STATUS=" + text);
}

std::optional<std::chrono::microseconds> watchdog_interval()
{
#ifdef LETHE_HAVE_SYSTEMD
	std::uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
		return std::chrono::microseconds(usec);
#endif
	return std::nullopt;
}

} // namespace lethe::daemon::notify
