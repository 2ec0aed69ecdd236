// SPDX-License-Identifier: GPL-3.0-or-later
// Levenshtein edit distance between short texts (plate reads).
#include "lethe/common/edit_distance.h"

#include <algorithm>
#include <vector>

namespace lethe {

std::size_t edit_distance(std::string_view a, std::string_view b)
{
	std::vector<std::size_t> row(b.size() + 1);
	for (std::size_t j = 0; j <= b.size(); ++j)
		row[j] = j;
	for (std::size_t i = 1; i <= a.size(); ++i) {
		std::size_t diag = row[0];
		row[0] = i;
		for (std::size_t j = 1; j <= b.size(); ++j) {
			const std::size_t up = row[j];
			row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1U : 0U)});
			diag = up;
		}
	}
	return row[b.size()];
}

} // namespace lethe
