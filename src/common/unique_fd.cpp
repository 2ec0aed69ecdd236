// SPDX-License-Identifier: GPL-3.0-or-later
// UniqueFD: the one owner of a file descriptor, closed when the owner goes (after libcamera's).
#include "lethe/common/unique_fd.h"

#include <unistd.h>

namespace lethe {

void UniqueFD::reset(int fd)
{
	// Resetting to the descriptor already held would close it and keep it: a caller's bug.
	if (fd_ >= 0 && fd_ != fd)
		::close(fd_);
	fd_ = fd;
}

int UniqueFD::close()
{
	return ::close(release());
}

} // namespace lethe
