// SPDX-License-Identifier: GPL-3.0-or-later
// Rollback memory of the bundle stores: the highest version ever installed per id, one file.
#include "lethe/common/version_marks.h"

#include <algorithm>
#include <sstream>

#include "lethe/common/atomic_file.h"

namespace lethe {

namespace {
constexpr std::size_t kMaxMarksFile = 1024 * 1024;
} // namespace

VersionMarks read_version_marks(const std::filesystem::path &file)
{
	VersionMarks out;
	auto text = fsutil::read_file(file, kMaxMarksFile);
	if (!text)
		return out;
	std::istringstream in(*text);
	std::string id;
	std::uint64_t v = 0;
	while (in >> id >> v)
		out[id] = std::max(out[id], v);
	return out;
}

Status raise_version_mark(const std::filesystem::path &file, const std::string &id,
			  std::uint64_t version, unsigned mode)
{
	auto marks = read_version_marks(file);
	if (version > 0)
		marks[id] = std::max(marks[id], version);
	std::string text;
	for (const auto &[i, v] : marks)
		text += i + " " + std::to_string(v) + "\n";
	return fsutil::write_atomic(file, text, mode);
}

} // namespace lethe
