// SPDX-License-Identifier: GPL-3.0-or-later
// run_thread(): a thread's catch boundary, shared by every stage.
#include "lethe/common/thread_entry.h"

#include <atomic>
#include <exception>
#include <string>
#include <thread>

#include "lethe/common/log.h"

namespace lethe {
namespace {

std::atomic<std::uint64_t> g_failures{0};

} // namespace

void run_thread(std::string_view name, const std::function<void()> &body,
                const std::function<bool()> &stopping, std::chrono::milliseconds pause)
{
	for (;;) {
		std::string what;
		try {
			body();
			return;
		} catch (const std::exception &e) {
			what = e.what();
		} catch (...) {
			what = "an exception that is not a std::exception";
		}
		const std::uint64_t n = ++g_failures;
		// e.what() of OpenCV and the standard library names the failed call, never pixels
		// or plate text.
		LOG(Daemon, Error)
		    << "thread " << name << ": " << what << " (failure " << n
		    << " in this process); " << (stopping() ? "the thread ends" : "it goes on");
		if (stopping())
			return;
		std::this_thread::sleep_for(pause);
	}
}

std::uint64_t thread_failures()
{
	return g_failures.load();
}

} // namespace lethe
