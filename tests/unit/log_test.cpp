// SPDX-License-Identifier: GPL-3.0-or-later
// Per-category log levels, the level-spec parser, and journald priorities.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "lethe/common/log.h"
#include "support/temp_dir.h"

namespace lethe::log {
namespace {

TEST(Log, LevelSpecSetsCategories)
{
	ASSERT_TRUE(set_levels("*:Warning,Hotlist:Debug"));
	EXPECT_EQ(level(Category::Hotlist), Severity::Debug);
	EXPECT_EQ(level(Category::Store), Severity::Warning);
	EXPECT_FALSE(set_levels("Nope:Debug"));
	EXPECT_FALSE(set_levels("Store:Loud"));
	EXPECT_EQ(level(Category::Store), Severity::Warning); // unchanged by a bad spec
	ASSERT_TRUE(set_levels("*:Info"));
}

TEST(Log, SuppressedMessagesAreNotEvaluated)
{
	ASSERT_TRUE(set_levels("Store:Error"));
	int evaluated = 0;
	auto count = [&] { return ++evaluated; };
	LOG(Store, Debug) << count();
	EXPECT_EQ(evaluated, 0);
	LOG(Store, Error) << count();
	EXPECT_EQ(evaluated, 1);
	ASSERT_TRUE(set_levels("*:Info"));
}

/// Run a child process whose stderr is `file`, JOURNAL_STREAM set to that file's DEV:INODE
/// (journal) or unset; it logs one line per severity and a two-line message. The file's text.
std::string child_log(const std::filesystem::path &file, bool journal)
{
	const pid_t pid = fork();
	if (pid == 0) {
		const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		struct stat st {};
		if (fd < 0 || ::dup2(fd, STDERR_FILENO) < 0 || ::fstat(STDERR_FILENO, &st) != 0)
			_exit(3);
		if (journal)
			::setenv("JOURNAL_STREAM",
				 (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(), 1);
		else
			::unsetenv("JOURNAL_STREAM");
		if (!set_levels("*:Debug"))
			_exit(4);
		LOG(Daemon, Debug) << "debug line";
		LOG(Daemon, Info) << "info line";
		LOG(Publish, Warning) << "warning line";
		LOG(Store, Error) << "error line\nsecond line";
		LOG(Daemon, Fatal) << "fatal line";
		_exit(0);
	}
	int status = 0;
	EXPECT_EQ(::waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
	return lethe::test::read_file(file);
}

// `journalctl -p warning` shows only lines with a priority prefix: under journald every line
// carries its sd-daemon(3) prefix, the second line of a message too.
TEST(Log, JournalStreamGetsSdDaemonPriorities)
{
	lethe::test::TempDir dir;
	const std::string text = child_log(dir / "stderr", true);
	EXPECT_NE(text.find("\n<6>"), std::string::npos) << text;
	EXPECT_EQ(text.rfind("<7>", 0), 0u) << text;
	for (const std::string want : {"<6>.* INFO Daemon: info line", "<4>.* WARN Publish: warning line",
				       "<3>.* ERROR Store: error line\n<3>second line",
				       "<2>.* FATAL Daemon: fatal line"})
		EXPECT_TRUE(std::regex_search(text, std::regex(want))) << want << " in:\n" << text;
	// Every line starts with a priority.
	std::size_t lines = 0, start = 0;
	for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
		EXPECT_EQ(text[start], '<') << text.substr(start, end - start);
		++lines;
		start = end + 1;
	}
	EXPECT_EQ(lines, 6u) << text;
}

// Not the journal (a terminal, a file, or JOURNAL_STREAM inherited from a parent whose stream
// this is not): plain lines.
TEST(Log, PlainLinesWhenStderrIsNotTheJournal)
{
	lethe::test::TempDir dir;
	std::string text = child_log(dir / "stderr", false);
	EXPECT_NE(text.find("WARN Publish: warning line"), std::string::npos) << text;
	EXPECT_EQ(text.find('<'), std::string::npos) << text;

	// JOURNAL_STREAM naming another file: stderr is not that stream.
	lethe::test::write_file(dir / "other", "");
	struct stat st {};
	ASSERT_EQ(::stat((dir / "other").c_str(), &st), 0);
	const char *old = std::getenv("JOURNAL_STREAM");
	const std::string saved = old ? old : "";
	::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(), 1);
	const pid_t pid = fork();
	if (pid == 0) {
		const int fd = ::open((dir / "stderr").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0 || ::dup2(fd, STDERR_FILENO) < 0)
			_exit(3);
		LOG(Daemon, Warning) << "inherited";
		_exit(0);
	}
	int status = 0;
	ASSERT_EQ(::waitpid(pid, &status, 0), pid);
	if (old)
		::setenv("JOURNAL_STREAM", saved.c_str(), 1);
	else
		::unsetenv("JOURNAL_STREAM");
	text = lethe::test::read_file(dir / "stderr");
	EXPECT_NE(text.find("WARN Daemon: inherited"), std::string::npos) << text;
	EXPECT_EQ(text.find('<'), std::string::npos) << text;
}

} // namespace
} // namespace lethe::log
