// SPDX-License-Identifier: GPL-3.0-or-later
// Levenshtein edit distance between short texts (plate reads).
#pragma once

#include <cstddef>
#include <string_view>

namespace lethe {

/// Insertions, deletions and substitutions that turn `a` into `b` (Levenshtein); O(|a| x |b|)
/// time, O(|b|) memory: meant for plate-length texts.
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

} // namespace lethe
