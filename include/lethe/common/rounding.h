// SPDX-License-Identifier: GPL-3.0-or-later
// Figures rounded to N decimals for JSON and human output ("70.96", not 70.96000000000001).
#pragma once

#include <cmath>

namespace lethe {

/// v rounded to `decimals` places (0..9), as the double nearest that decimal: JSON writers
/// (shortest round-trip form) then print it with no more digits than that. Scaling down by a
/// division, not a multiplication by 0.01, is what keeps the noise out: 7096 / 100.0 is the
/// double nearest 70.96, 7096 * 0.01 is not.
[[nodiscard]] inline double round_decimals(double v, int decimals)
{
	double scale = 1;
	for (int i = 0; i < decimals; ++i)
		scale *= 10;
	if (!std::isfinite(v))
		return v;
	return std::round(v * scale) / scale;
}

} // namespace lethe
