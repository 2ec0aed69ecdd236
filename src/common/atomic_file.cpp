// SPDX-License-Identifier: GPL-3.0-or-later
// Crash-safe file writes (temp file, fsync, rename, fsync directory), bounded and secret reads.
#include "lethe/common/atomic_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

#include "lethe/common/unique_fd.h"

namespace lethe::fsutil {
namespace {

Error errno_error(const std::string &what, const std::filesystem::path &path)
{
	const int e = errno;
	return make_error(-e, what + " " + path.string() + ": " + std::strerror(e));
}

/// Why a file with this status may not hold a secret, or success.
Status private_mode(const struct stat &sb, const std::filesystem::path &path)
{
	if (!S_ISREG(sb.st_mode))
		return make_error(-EINVAL, path.string() + " is not a regular file");
	if ((sb.st_mode & 077) != 0) {
		char mode[8];
		std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(sb.st_mode & 07777));
		return make_error(-EPERM, path.string() + " is readable or writable by group or others "
							  "(mode " + mode + "); a secret must be mode 0600 "
							  "or 0400");
	}
	return {};
}

/// Set the mode (whatever the umask made it), write, fsync and close the file: what both
/// writers do before the file may be seen. The file is closed whatever fails.
Status write_durably(UniqueFD fd, std::string_view data, unsigned mode,
		     const std::filesystem::path &path)
{
	if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0)
		return errno_error("cannot chmod", path);
	if (Status st = write_all(fd.get(), data, path); !st.ok())
		return st;
	if (::fsync(fd.get()) != 0)
		return errno_error("cannot fsync", path);
	if (fd.close() != 0)
		return errno_error("cannot close", path);
	return {};
}

std::filesystem::path parent_of(const std::filesystem::path &path)
{
	auto dir = path.parent_path();
	return dir.empty() ? std::filesystem::path(".") : dir;
}

} // namespace

Status write_all(int fd, std::string_view data, const std::filesystem::path &path)
{
	std::size_t done = 0;
	while (done < data.size()) {
		const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = EIO;
		if (n <= 0)
			return errno_error("cannot write", path);
		done += static_cast<std::size_t>(n);
	}
	return {};
}

Status fsync_dir(const std::filesystem::path &dir)
{
	const UniqueFD fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!fd.isValid())
		return errno_error("cannot open directory", dir);
	if (::fsync(fd.get()) != 0)
		return errno_error("cannot fsync directory", dir);
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
	UniqueFD fd(::mkostemp(tmpl.data(), O_CLOEXEC));
	if (!fd.isValid())
		return errno_error("cannot create temporary file in", dir);
	const std::filesystem::path tmp = tmpl;
	Status st = write_durably(std::move(fd), data, mode, tmp);
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
	UniqueFD fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			   static_cast<mode_t>(mode)));
	if (!fd.isValid())
		return errno_error("cannot create", path);
	const Status st = write_durably(std::move(fd), data, mode, path);
	if (!st.ok()) {
		::unlink(path.c_str());
		return st;
	}
	return fsync_dir(parent_of(path));
}

Result<std::string> read_file(const std::filesystem::path &path, std::size_t max_size)
{
	const UniqueFD fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd.isValid())
		return errno_error("cannot open", path);
	struct stat sb {};
	if (::fstat(fd.get(), &sb) != 0)
		return errno_error("cannot stat", path);
	if (!S_ISREG(sb.st_mode))
		return make_error(-EINVAL, path.string() + " is not a regular file");
	std::string out;
	char buf[65536];
	for (;;) {
		const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno_error("cannot read", path);
		}
		if (n == 0)
			break;
		if (out.size() + static_cast<std::size_t>(n) > max_size)
			return make_error(-EFBIG, path.string() + " is larger than " +
							  std::to_string(max_size) + " bytes");
		out.append(buf, static_cast<std::size_t>(n));
	}
	return out;
}

Status check_private_file(const std::filesystem::path &path)
{
	struct stat sb {};
	if (::lstat(path.c_str(), &sb) != 0)
		return errno_error("cannot stat", path);
	return private_mode(sb, path);
}

Result<std::string> read_private_file(const std::filesystem::path &path, std::size_t max_size)
{
	const UniqueFD fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
	if (!fd.isValid())
		return errno == ELOOP ? make_error(-EINVAL, path.string() + " is not a regular file")
				      : errno_error("cannot open", path);
	struct stat sb {};
	Status st;
	if (::fstat(fd.get(), &sb) != 0)
		st = errno_error("cannot stat", path);
	else
		st = private_mode(sb, path);
	if (st.ok() && static_cast<std::size_t>(sb.st_size) > max_size)
		st = make_error(-EFBIG, path.string() + " is larger than " + std::to_string(max_size) +
						" bytes");
	// Sized once: no reallocation leaves a copy of the secret behind.
	std::string out(st.ok() ? static_cast<std::size_t>(sb.st_size) : 0, '\0');
	std::size_t done = 0;
	while (st.ok() && done < out.size()) {
		const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			st = errno_error("cannot read", path);
		else if (n == 0)
			out.resize(done); // shrank meanwhile; resize down never reallocates
		else
			done += static_cast<std::size_t>(n);
	}
	if (!st.ok()) {
		std::fill(out.begin(), out.end(), '\0');
		return st.error();
	}
	return out;
}

} // namespace lethe::fsutil
