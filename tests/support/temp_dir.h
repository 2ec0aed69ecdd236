// SPDX-License-Identifier: GPL-3.0-or-later
// A real temporary directory for a test, removed (recursively) when the test ends.
#pragma once

#include <filesystem>
#include <string>

namespace lethe::test {

class TempDir
{
public:
	TempDir();
	~TempDir();
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;
	[[nodiscard]] const std::filesystem::path &path() const { return path_; }
	[[nodiscard]] std::filesystem::path operator/(const std::string &name) const
	{
		return path_ / name;
	}

private:
	std::filesystem::path path_;
};

/// Read a whole file into a string (binary-safe).
std::string read_file(const std::filesystem::path &path);
/// Write a string to a file, replacing it.
void write_file(const std::filesystem::path &path, const std::string &content);

/// Run a command (via /bin/sh -c), capture stdout (and stderr if merge_stderr),
/// return the exit status (or -1 on a signal).
struct CommandResult {
	int status = -1;
	std::string output;
};
CommandResult run_command(const std::string &command, bool merge_stderr = false);

} // namespace lethe::test
