// SPDX-License-Identifier: GPL-3.0-or-later
// `lethed`: the Lethe daemon (capture → detect → OCR → track → match → publish / forget).
#include <sys/prctl.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include <CLI/CLI.hpp>

#include "daemon.h"
#include "lethe/common/log.h"
#include "lethe/common/memory_wipe.h"
#include "lethe/config/config.h"
#include "notify.h"

namespace {

using namespace std::chrono_literals;

/// Frames and plates live in this process's memory: no core dumps, no ptrace by others.
void forbid_core_dumps()
{
	(void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	rlimit none{0, 0};
	(void)::setrlimit(RLIMIT_CORE, &none);
}

/// With --exit-when-done (someone is watching): where the run is, on stderr whatever the log
/// levels. Counts and rate only, never a plate.
void print_progress(const lethe::daemon::Daemon &daemon, const char *what)
{
	const lethe::publish::Health h = daemon.health();
	std::fprintf(stderr, "lethed: %s: %llu frames, %llu reads, %llu hits, %.1f frames/s\n",
		     what, static_cast<unsigned long long>(h.frames),
		     static_cast<unsigned long long>(h.reads), static_cast<unsigned long long>(h.hits),
		     h.frames_per_second);
	std::fflush(stderr);
}

/// This process's peak resident memory since its exec (VmHWM), in kB; -1 if unknown.
/// (getrusage's ru_maxrss would also count the pages of whatever forked us before the exec.)
long peak_rss_kb()
{
	std::FILE *f = std::fopen("/proc/self/status", "re");
	if (!f)
		return -1;
	char line[256];
	long kb = -1;
	while (std::fgets(line, sizeof(line), f))
		if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	std::fclose(f);
	return kb;
}

int run(const std::string &config_path, bool exit_when_done)
{

	// Signals are taken synchronously by this thread; every thread created later inherits
	// the mask, so none of them is interrupted.
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, nullptr);
	std::signal(SIGPIPE, SIG_IGN);

	// What the configuration names is checked before anything starts, so that a missing file
	// is refused with the FILE:LINE that names it (as `lethe config check` reports it).
	auto cfg = lethe::config::load(config_path);
	lethe::Status files = cfg ? lethe::config::check_files(*cfg) : lethe::Status(cfg.error());
	if (!files) {
		std::fprintf(stderr, "lethed: configuration refused:\n%s\n", files.error().message.c_str());
		return 2;
	}
	if (!std::getenv("LETHE_LOG_LEVELS"))
		(void)lethe::log::set_levels(cfg->log.levels);
	auto daemon = lethe::daemon::Daemon::create(std::move(cfg).value());
	if (!daemon) {
		LOG(Daemon, Fatal) << "cannot start: " << daemon.error().message;
		return 1;
	}
	if (lethe::Status s = (*daemon)->start(); !s) {
		LOG(Daemon, Fatal) << "cannot start: " << s.error().message;
		return 1;
	}
	lethe::daemon::notify::ready();

	// The watchdog is fed only while frames flow: a stalled camera gets us restarted.
	const auto wd = lethe::daemon::notify::watchdog_interval();
	const auto tick = wd ? std::min<std::chrono::milliseconds>(
				       std::chrono::duration_cast<std::chrono::milliseconds>(*wd) / 3, 1000ms)
			     : 1000ms;
	constexpr auto kProgressEvery = 5s;
	auto next_progress = std::chrono::steady_clock::now() + kProgressEvery;
	int rc = 0;
	for (;;) {
		timespec ts{tick.count() / 1000, (tick.count() % 1000) * 1000000};
		const int sig = sigtimedwait(&signals, nullptr, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			LOG(Daemon, Info) << "signal " << sig << ": shutting down";
			break;
		}
		if (sig == SIGHUP) {
			lethe::daemon::notify::reloading();
			(void)(*daemon)->reload();
			lethe::daemon::notify::ready();
		}
		if (wd && (*daemon)->frames_flowing(*wd))
			lethe::daemon::notify::watchdog();
		if (exit_when_done && std::chrono::steady_clock::now() >= next_progress) {
			print_progress(**daemon, "progress");
			next_progress += kProgressEvery;
		}
		if (exit_when_done && (*daemon)->finished()) {
			print_progress(**daemon, "all input processed");
			if (const long kb = peak_rss_kb(); kb > 0)
				std::fprintf(stderr, "lethed: peak memory: %ld MB\n", kb / 1024);
			LOG(Daemon, Info) << "all input processed; flushing the outbox";
			if (!(*daemon)->flush_outbox(60s)) {
				LOG(Daemon, Error) << "outbox not flushed within 60 s: hits remain queued";
				rc = 1;
			}
			break;
		}
	}
	lethe::daemon::notify::stopping();
	(*daemon)->stop();
	daemon->reset();
	LOG(Daemon, Info) << "stopped";
	return rc;
}

} // namespace

int main(int argc, char **argv)
{
	forbid_core_dumps();
	lethe::memory::install_wiping_allocators(); // before any image exists (issue 15.4)
	CLI::App app{"Lethe daemon: reads plates, publishes hits, forgets everything else",
		     "lethed"};
	std::string config_path = lethe::config::kDefaultPath;
	bool exit_when_done = false;
	bool version = false;
	app.add_option("--config", config_path, "Configuration file (TOML)")->capture_default_str();
	app.add_flag("--exit-when-done", exit_when_done,
		     "For finite sources: process everything (progress on stderr every 5 s), flush "
		     "the outbox, exit 0");
	app.add_flag("--version", version, "Print the version (as `lethe version`) and exit");
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		return app.exit(e) == 0 ? 0 : 2;
	}
	if (version) {
		std::printf("lethed %s\n", LETHE_VERSION);
		return 0;
	}
	try {
		return run(config_path, exit_when_done);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "lethed: fatal: %s\n", e.what());
		return 1;
	}
}
