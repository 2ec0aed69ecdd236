// SPDX-License-Identifier: GPL-3.0-or-later
// Crash-safe file writes (temp file, fsync, rename, fsync directory) and bounded reads.
#include "lethe/common/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace lethe::fsutil {
namespace {

Error errno_error(const std::string &what, const std::filesystem::path &path)
{
	const int e = errno;
	return make_error(-e, what + " " + path.string() + ": " + std::strerror(e));
}

Status write_all(int fd, std::string_view data, const std::filesystem::path &path)
{
	std::size_t done = 0;
	while (done < data.size()) {
		const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno_error("cannot write", path);
		}
		done += static_cast<std::size_t>(n);
	}
	return {};
}

std::filesystem::path parent_of(const std::filesystem::path &path)
{
	auto dir = path.parent_path();
	return dir.empty() ? std::filesystem::path(".") : dir;
}

} // namespace

Status fsync_dir(const std::filesystem::path &dir)
{
	const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno_error("cannot open directory", dir);
	const int rc = ::fsync(fd);
	const int saved = errno;
	::close(fd);
	if (rc != 0) {
		errno = saved;
		return errno_error("cannot fsync directory", dir);
	}
	return {};
}

Status write_atomic(const std::filesystem::path &path, std::string_view data, unsigned mode)
{
	const auto dir = parent_of(path);
	// Built with += : GCC 12 -O3 warns (-Wrestrict, a false positive) on "." + std::string.
	std::string name = ".";
	name += path.filename().string();
	name += ".tmp-XXXXXX";
	std::string tmpl = (dir / name).string();
	const int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
	if (fd < 0)
		return errno_error("cannot create temporary file in", dir);
	const std::filesystem::path tmp = tmpl;
	Status st = {};
	if (::fchmod(fd, static_cast<mode_t>(mode)) != 0)
		st = errno_error("cannot chmod", tmp);
	if (st.ok())
		st = write_all(fd, data, tmp);
	if (st.ok() && ::fsync(fd) != 0)
		st = errno_error("cannot fsync", tmp);
	if (::close(fd) != 0 && st.ok())
		st = errno_error("cannot close", tmp);
	if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
		st = errno_error("cannot rename onto", path);
	if (!st.ok()) {
		::unlink(tmp.c_str());
		return st;
	}
	return fsync_dir(dir);
}

Status write_exclusive(const std::filesystem::path &path, std::string_view data, unsigned mode)
{
	const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			      static_cast<mode_t>(mode));
	if (fd < 0)
		return errno_error("cannot create", path);
	Status st = {};
	if (::fchmod(fd, static_cast<mode_t>(mode)) != 0)
		st = errno_error("cannot chmod", path);
	if (st.ok())
		st = write_all(fd, data, path);
	if (st.ok() && ::fsync(fd) != 0)
		st = errno_error("cannot fsync", path);
	if (::close(fd) != 0 && st.ok())
		st = errno_error("cannot close", path);
	if (!st.ok()) {
		::unlink(path.c_str());
		return st;
	}
	return fsync_dir(parent_of(path));
}

Result<std::string> read_file(const std::filesystem::path &path, std::size_t max_size)
{
	const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno_error("cannot open", path);
	struct stat sb {};
	if (::fstat(fd, &sb) != 0) {
		auto e = errno_error("cannot stat", path);
		::close(fd);
		return e;
	}
	if (!S_ISREG(sb.st_mode)) {
		::close(fd);
		return make_error(-EINVAL, path.string() + " is not a regular file");
	}
	std::string out;
	char buf[65536];
	for (;;) {
		const ssize_t n = ::read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			auto e = errno_error("cannot read", path);
			::close(fd);
			return e;
		}
		if (n == 0)
			break;
		if (out.size() + static_cast<std::size_t>(n) > max_size) {
			::close(fd);
			return make_error(-EFBIG, path.string() + " is larger than " +
							  std::to_string(max_size) + " bytes");
		}
		out.append(buf, static_cast<std::size_t>(n));
	}
	::close(fd);
	return out;
}

} // namespace lethe::fsutil
