// SPDX-License-Identifier: GPL-3.0-or-later
// The system clock and the retention-time ratchet (wall time that never runs backwards).
#include "lethe/retention/clock.h"

#include <algorithm>

namespace lethe::retention {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

const SystemClock &SystemClock::instance()
{
	static const SystemClock clock;
	return clock;
}

RetentionTime::RetentionTime(const Clock &clock, WallTime high_water_mark)
	: clock_(clock), last_(clock.wall()), last_mono_(clock.monotonic())
{
	if (high_water_mark > last_) {
		startup_setback_ = duration_cast<milliseconds>(high_water_mark - last_);
		max_setback_ = startup_setback_;
		last_ = high_water_mark;
	}
}

WallTime RetentionTime::now()
{
	std::lock_guard<std::mutex> lock(mutex_);
	const WallTime wall = clock_.wall();
	const MonoTime mono = clock_.monotonic();
	const auto elapsed = std::max(MonoTime::duration::zero(), mono - last_mono_);
	const WallTime ratchet = last_ + duration_cast<WallTime::duration>(elapsed);
	if (wall < ratchet)
		max_setback_ = std::max(max_setback_, duration_cast<milliseconds>(ratchet - wall));
	last_ = std::max(wall, ratchet);
	last_mono_ = mono;
	return last_;
}

std::chrono::milliseconds RetentionTime::max_setback() const
{
	std::lock_guard<std::mutex> lock(mutex_);
	return max_setback_;
}

} // namespace lethe::retention
