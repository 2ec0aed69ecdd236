// SPDX-License-Identifier: GPL-3.0-or-later
// Tests of UniqueFD: it closes what it owns exactly once, and moves and releases ownership.
#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#include <utility>

#include "lethe/common/unique_fd.h"

namespace lethe {
namespace {

bool is_open(int fd)
{
	return ::fcntl(fd, F_GETFD) != -1;
}

int open_null()
{
	const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
	EXPECT_GE(fd, 0);
	return fd;
}

TEST(UniqueFd, DefaultOwnsNothing)
{
	UniqueFD fd;
	EXPECT_FALSE(fd.isValid());
	EXPECT_EQ(fd.get(), -1);
	EXPECT_EQ(fd.release(), -1);
}

TEST(UniqueFd, ClosesInDestructor)
{
	const int raw = open_null();
	{
		const UniqueFD fd(raw);
		EXPECT_TRUE(fd.isValid());
		EXPECT_EQ(fd.get(), raw);
		EXPECT_TRUE(is_open(raw));
	}
	EXPECT_FALSE(is_open(raw));
}

TEST(UniqueFd, MoveTransfersOwnership)
{
	const int raw = open_null();
	UniqueFD a(raw);
	UniqueFD b(std::move(a));
	EXPECT_FALSE(a.isValid()); // NOLINT(bugprone-use-after-move): moved-from is empty
	EXPECT_EQ(b.get(), raw);

	const int other = open_null();
	UniqueFD c(other);
	c = std::move(b); // closes what c held
	EXPECT_FALSE(is_open(other));
	EXPECT_EQ(c.get(), raw);
	EXPECT_TRUE(is_open(raw));
}

TEST(UniqueFd, ReleaseHandsBackWithoutClosing)
{
	const int raw = open_null();
	UniqueFD fd(raw);
	EXPECT_EQ(fd.release(), raw);
	EXPECT_FALSE(fd.isValid());
	EXPECT_TRUE(is_open(raw));
	::close(raw);
}

TEST(UniqueFd, ResetClosesTheOldDescriptor)
{
	const int first = open_null();
	const int second = open_null();
	UniqueFD fd(first);
	fd.reset(second);
	EXPECT_FALSE(is_open(first));
	EXPECT_EQ(fd.get(), second);
	fd.reset();
	EXPECT_FALSE(fd.isValid());
	EXPECT_FALSE(is_open(second));
}

TEST(UniqueFd, CloseReportsTheResult)
{
	const int raw = open_null();
	UniqueFD fd(raw);
	EXPECT_EQ(fd.close(), 0);
	EXPECT_FALSE(fd.isValid());
	EXPECT_FALSE(is_open(raw));
	errno = 0;
	EXPECT_EQ(fd.close(), -1); // nothing owned: as close(-1)
	EXPECT_EQ(errno, EBADF);
}

} // namespace
} // namespace lethe
