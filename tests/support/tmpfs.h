// SPDX-License-Identifier: GPL-3.0-or-later
// A small tmpfs for disk-full tests (mounting needs root: callers skip when mounted() is false).
//
//   lethe::test::SmallTmpfs fs(dir / "small", 4u << 20);
//   if (!fs.mounted()) GTEST_SKIP() << fs.why_not();
//   lethe::test::fill(dir / "small" / "filler");    // now every write there fails: ENOSPC
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace lethe::test {

class SmallTmpfs
{
public:
	/// Mount a tmpfs of `bytes` at `at` (created if needed). Unmounted when destroyed.
	SmallTmpfs(const std::filesystem::path &at, std::size_t bytes);
	~SmallTmpfs();
	SmallTmpfs(const SmallTmpfs &) = delete;
	SmallTmpfs &operator=(const SmallTmpfs &) = delete;

	[[nodiscard]] bool mounted() const { return mounted_; }
	/// Why it is not mounted (not root, or mount(2)'s error), for GTEST_SKIP.
	[[nodiscard]] const std::string &why_not() const { return why_not_; }

private:
	std::filesystem::path at_;
	bool mounted_ = false;
	std::string why_not_;
};

/// Write zeros to `file` until its file system is full (fsync'd); returns the bytes written.
std::size_t fill(const std::filesystem::path &file);

} // namespace lethe::test
