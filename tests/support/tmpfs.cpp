// SPDX-License-Identifier: GPL-3.0-or-later
// A small tmpfs for disk-full tests.
#include "support/tmpfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lethe::test {

SmallTmpfs::SmallTmpfs(const std::filesystem::path &at, std::size_t bytes) : at_(at)
{
	if (::geteuid() != 0) {
		why_not_ = "needs root to mount a small tmpfs (CI runs as root)";
		return;
	}
	std::error_code ec;
	std::filesystem::create_directories(at, ec);
	const std::string options = "size=" + std::to_string(bytes) + ",mode=0750";
	if (::mount("tmpfs", at.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options.c_str()) == 0)
		mounted_ = true;
	else
		why_not_ = std::string("cannot mount a tmpfs at ") + at.string() + ": " +
			   std::strerror(errno);
}

SmallTmpfs::~SmallTmpfs()
{
	if (mounted_)
		(void)::umount2(at_.c_str(), MNT_DETACH);
}

std::size_t fill(const std::filesystem::path &file)
{
	const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	const std::string block(4096, '\0');
	std::size_t written = 0;
	for (;;) {
		const ssize_t n = ::write(fd, block.data(), block.size());
		if (n <= 0)
			break;
		written += static_cast<std::size_t>(n);
	}
	// The last partial page: single bytes until nothing fits.
	while (::write(fd, block.data(), 1) == 1)
		++written;
	(void)::fsync(fd);
	::close(fd);
	return written;
}

} // namespace lethe::test
