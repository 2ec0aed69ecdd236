// SPDX-License-Identifier: GPL-3.0-or-later
// Rollback memory of the bundle stores: the highest version ever installed per id, one file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "lethe/common/result.h"

namespace lethe {

/// id → highest version ever installed. On disk: "ID VERSION" per line, sorted by id.
using VersionMarks = std::map<std::string, std::uint64_t>;

/// The marks in `file` (empty when it is missing or unreadable; a repeated id keeps its
/// highest version).
[[nodiscard]] VersionMarks read_version_marks(const std::filesystem::path &file);

/// Raise the mark of `id` to `version` (never lower it) and rewrite `file` atomically with
/// `mode`. A version of 0 only rewrites the file (creating it, empty, if missing).
[[nodiscard]] Status raise_version_mark(const std::filesystem::path &file, const std::string &id,
					std::uint64_t version, unsigned mode);

} // namespace lethe
