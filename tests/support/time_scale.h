// SPDX-License-Identifier: GPL-3.0-or-later
// Timing bars of the tests, stretched under slow instrumentation (TSan) by LETHE_TEST_TIME_SCALE.
#pragma once

namespace lethe::test {

/// How much slower than a plain build this run's code is expected to be: the value of
/// $LETHE_TEST_TIME_SCALE (1 to 50; anything else, or unset, is 1). tests/run-tsan.sh sets
/// it, because ThreadSanitizer slows code 5-15x and a bar such as "purged within 1 s of the
/// deadline" would then fail on speed, not on behaviour. Plain, ASan and CI runs keep 1: the
/// bars there are the product's.
[[nodiscard]] int time_scale();

} // namespace lethe::test
