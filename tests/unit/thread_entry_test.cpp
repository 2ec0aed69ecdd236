// SPDX-License-Identifier: GPL-3.0-or-later
// run_thread(): an exception at a thread's entry is logged, counted and survived.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "lethe/common/thread_entry.h"

namespace {

using namespace std::chrono_literals;

TEST(ThreadEntry, ThrowingBodyRunsAgainUntilItReturns)
{
	const std::uint64_t before = lethe::thread_failures();
	int runs = 0;
	std::thread t([&] {
		lethe::run_thread(
		    "test",
		    [&] {
			    if (++runs < 3)
				    throw std::runtime_error("boom");
		    },
		    [] { return false; }, 1ms);
	});
	t.join(); // would have called std::terminate without the boundary
	EXPECT_EQ(runs, 3);
	EXPECT_EQ(lethe::thread_failures() - before, 2u);
}

TEST(ThreadEntry, ThrowingBodyEndsWhenStopping)
{
	const std::uint64_t before = lethe::thread_failures();
	std::atomic<int> runs{0};
	lethe::run_thread(
	    "test",
	    [&] {
		    ++runs;
		    throw 42;
	    },
	    [] { return true; }, 1ms);
	EXPECT_EQ(runs.load(), 1);
	EXPECT_EQ(lethe::thread_failures() - before, 1u);
}

} // namespace
