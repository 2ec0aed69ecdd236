// SPDX-License-Identifier: GPL-3.0-or-later
// Socket waits for the fuzz targets that talk to a live publisher or daemon, retried on EINTR.
//
// libFuzzer's -timeout arms a SIGALRM every timeout/2 + 1 seconds (31 s with -timeout=60) and
// its handler runs on the main thread, interrupting whatever the target is blocked in: poll()
// then returns -1/EINTR however long is left (poll is never restarted), recv() and send() may
// too. A target that read that as "nothing came" reported a device that had stopped
// reconnecting when it had not (docs/fuzzing.md, finding 7).
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>

namespace lethe::fuzz {

/// poll() for POLLIN on fd until it is readable or timeout_ms has passed, resuming after a
/// signal with the time that is left. >0 readable, 0 timed out, <0 error (errno set).
inline int wait_readable(int fd, int timeout_ms)
{
	using Clock = std::chrono::steady_clock;
	const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
	for (;;) {
		const auto left =
		    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
		pollfd p{fd, POLLIN, 0};
		const int rc =
		    ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
		if (rc >= 0 || errno != EINTR)
			return rc;
	}
}

/// recv() retried on EINTR.
inline ssize_t recv_retry(int fd, void *buf, std::size_t size)
{
	ssize_t n = 0;
	do
		n = ::recv(fd, buf, size, 0);
	while (n < 0 && errno == EINTR);
	return n;
}

/// send(MSG_NOSIGNAL) of all of buf, retried on EINTR and short writes. False if the peer
/// stopped reading (closed, reset).
inline bool send_all(int fd, const void *buf, std::size_t size)
{
	const auto *p = static_cast<const char *>(buf);
	while (size > 0) {
		const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		size -= static_cast<std::size_t>(n);
	}
	return true;
}

} // namespace lethe::fuzz
