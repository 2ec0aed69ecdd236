// SPDX-License-Identifier: GPL-3.0-or-later
// Wall + monotonic clocks (injectable for tests) and the ratchet retention deadlines run on.
#pragma once

#include <chrono>
#include <mutex>

namespace lethe::retention {

using WallTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;

/// The two clocks retention needs. Tests drive ManualClock; the device uses SystemClock.
class Clock
{
public:
	virtual ~Clock() = default;
	[[nodiscard]] virtual WallTime wall() const = 0;
	[[nodiscard]] virtual MonoTime monotonic() const = 0;
};

class SystemClock final : public Clock
{
public:
	[[nodiscard]] WallTime wall() const override { return std::chrono::system_clock::now(); }
	[[nodiscard]] MonoTime monotonic() const override
	{
		return std::chrono::steady_clock::now();
	}
	/// A process-wide instance.
	[[nodiscard]] static const SystemClock &instance();
};

/// A clock the test sets: advance() moves both clocks, set_wall() only the wall clock (as an
/// administrator, NTP or a flat RTC battery would).
class ManualClock final : public Clock
{
public:
	explicit ManualClock(WallTime wall = WallTime{std::chrono::seconds{1'800'000'000}},
			     MonoTime mono = MonoTime{std::chrono::hours{1}})
		: wall_(wall), mono_(mono)
	{
	}
	[[nodiscard]] WallTime wall() const override
	{
		std::lock_guard<std::mutex> lock(mutex_);
		return wall_;
	}
	[[nodiscard]] MonoTime monotonic() const override
	{
		std::lock_guard<std::mutex> lock(mutex_);
		return mono_;
	}
	template<typename Rep, typename Period>
	void advance(std::chrono::duration<Rep, Period> d)
	{
		std::lock_guard<std::mutex> lock(mutex_);
		wall_ += std::chrono::duration_cast<WallTime::duration>(d);
		mono_ += std::chrono::duration_cast<MonoTime::duration>(d);
	}
	void set_wall(WallTime t)
	{
		std::lock_guard<std::mutex> lock(mutex_);
		wall_ = t;
	}

private:
	mutable std::mutex mutex_;
	WallTime wall_;
	MonoTime mono_;
};

/// The time retention deadlines are checked against: a ratchet that never runs backwards and
/// never runs slower than the monotonic clock.
///
///   now() = max(wall clock, previous now() + monotonic time elapsed since then)
///
/// Records are stamped with now() and are due when now() >= stamp + retention. Because now()
/// advances at least as fast as the monotonic clock, a record is due at the latest after
/// `retention` of real (monotonic) elapsed time, however the wall clock is set; a wall clock
/// set forward only makes records due earlier. Across restarts the ratchet starts from the
/// persisted high-water mark (the last now() written to the database), so a wall clock that
/// is behind at boot (set back, or an RTC that lost power) is detected and never extends
/// retention either.
class RetentionTime
{
public:
	RetentionTime(const Clock &clock, WallTime high_water_mark);

	[[nodiscard]] WallTime now();
	/// How far the wall clock was behind the high-water mark at start-up (0 if not).
	[[nodiscard]] std::chrono::milliseconds startup_setback() const { return startup_setback_; }
	/// Largest amount the wall clock has been seen behind now() (setbacks while running).
	[[nodiscard]] std::chrono::milliseconds max_setback() const;
	[[nodiscard]] const Clock &clock() const { return clock_; }

private:
	const Clock &clock_;
	mutable std::mutex mutex_;
	WallTime last_;
	MonoTime last_mono_;
	std::chrono::milliseconds startup_setback_{0};
	std::chrono::milliseconds max_setback_{0};
};

} // namespace lethe::retention
