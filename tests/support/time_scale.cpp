// SPDX-License-Identifier: GPL-3.0-or-later
// Timing bars of the tests, stretched under slow instrumentation (TSan) by LETHE_TEST_TIME_SCALE.
#include "support/time_scale.h"

#include <cstdlib>
#include <string>

namespace lethe::test {

int time_scale()
{
	const char *v = std::getenv("LETHE_TEST_TIME_SCALE");
	if (v == nullptr)
		return 1;
	char *end = nullptr;
	const long n = std::strtol(v, &end, 10);
	return (end != v && *end == '\0' && n >= 1 && n <= 50) ? static_cast<int>(n) : 1;
}

} // namespace lethe::test
