// SPDX-License-Identifier: GPL-3.0-or-later
// Temporary directories, file helpers and a subprocess runner for tests.
#include "support/temp_dir.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>

namespace lethe::test {

TempDir::TempDir()
{
	std::string tmpl = (std::filesystem::temp_directory_path() / "lethe-test-XXXXXX").string();
	if (!mkdtemp(tmpl.data()))
		throw std::runtime_error("mkdtemp failed");
	path_ = tmpl;
}

TempDir::~TempDir()
{
	std::error_code ec;
	std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::filesystem::path &path)
{
	std::ifstream in(path, std::ios::binary);
	std::ostringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

void write_file(const std::filesystem::path &path, const std::string &content)
{
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	out << content;
}

CommandResult run_command(const std::string &command, bool merge_stderr)
{
	CommandResult result;
	const std::string full = merge_stderr ? command + " 2>&1" : command;
	FILE *pipe = popen(full.c_str(), "r");
	if (!pipe)
		return result;
	std::array<char, 4096> buf{};
	std::size_t n = 0;
	while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0)
		result.output.append(buf.data(), n);
	const int status = pclose(pipe);
	result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return result;
}

} // namespace lethe::test
