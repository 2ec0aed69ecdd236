// SPDX-License-Identifier: GPL-3.0-or-later
// The device's Ed25519 identity: created once, atomically, with owner-only permissions.
#include "lethe/audit/device_identity.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_state.h"
#include "lethe/audit/audit_log.h"
#include "lethe/common/atomic_file.h"
#include "lethe/common/log.h"
#include "lethe/common/unique_fd.h"

namespace lethe::audit {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::strerror(err); }

Result<std::string> read_small_file(const fs::path &path, bool secret)
{
	const UniqueFD fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
	if (!fd.isValid())
		return make_error(-errno, path.string() + ": " + errno_text(errno));
	struct stat st {};
	if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 65536)
		return make_error(-EINVAL, path.string() + ": not a small regular file");
	if (secret && (st.st_mode & 077) != 0) {
		return make_error(-EPERM, path.string() +
						  ": private key is accessible to group or others "
						  "(must be mode 0600)");
	}
	std::string out(static_cast<std::size_t>(st.st_size), '\0');
	std::size_t done = 0;
	while (done < out.size()) {
		const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			const int err = n < 0 ? errno : EIO;
			if (secret)
				crypto::wipe(out);
			return make_error(-err, path.string() + ": short read");
		}
		done += static_cast<std::size_t>(n);
	}
	return out;
}

/// Write content to a fresh temporary file next to dest, fsync it, then link(2) it to dest
/// (fails with -EEXIST if dest appeared meanwhile: someone else won the race).
Status write_exclusive(const fs::path &dest, std::string_view content, mode_t mode)
{
	const fs::path tmp = dest.string() + ".tmp." + std::to_string(::getpid());
	::unlink(tmp.c_str());
	UniqueFD fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
	if (!fd.isValid())
		return make_error(-errno, tmp.string() + ": " + errno_text(errno));
	int err = 0;
	if (Status written = fsutil::write_all(fd.get(), content, tmp); !written)
		err = -written.error().code;
	if (!err && ::fchmod(fd.get(), mode) != 0)
		err = errno;
	if (!err && ::fsync(fd.get()) != 0)
		err = errno;
	fd.reset();
	if (!err && ::link(tmp.c_str(), dest.c_str()) != 0)
		err = errno;
	::unlink(tmp.c_str());
	if (err)
		return make_error(-err, dest.string() + ": " + errno_text(err));
	// The identity is in place; a directory fsync that fails only weakens its durability.
	(void)fsutil::fsync_dir(dest.parent_path());
	return {};
}

Status ensure_private_dir(const fs::path &dir)
{
	std::error_code ec;
	fs::create_directories(dir, ec);
	if (ec)
		return make_error(-ec.value(), dir.string() + ": " + ec.message());
	struct stat st {};
	if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
		return make_error(-ENOTDIR, dir.string() + ": not a directory");
	if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0)
		return make_error(-errno, dir.string() + ": cannot restrict to 0700");
	return {};
}

} // namespace

fs::path DeviceIdentity::key_path(const fs::path &state_dir)
{
	return state_dir / "device" / "device.key";
}

fs::path DeviceIdentity::pub_path(const fs::path &state_dir)
{
	return state_dir / "device" / "device.pub";
}

DeviceIdentity::DeviceIdentity(std::string private_pem, std::string public_pem, std::string key_id)
	: private_pem_(std::move(private_pem)), public_pem_(std::move(public_pem)),
	  key_id_(std::move(key_id))
{
}

DeviceIdentity::~DeviceIdentity() { crypto::wipe(private_pem_); }

Result<std::unique_ptr<DeviceIdentity>> DeviceIdentity::load(const fs::path &state_dir)
{
	auto priv = read_small_file(key_path(state_dir), true);
	if (!priv)
		return priv.error();
	auto pub = crypto::ed25519_public_from_private(*priv);
	if (!pub) {
		crypto::wipe(*priv);
		return make_error(pub.error().code,
				  key_path(state_dir).string() + ": " + pub.error().message);
	}
	auto id = crypto::ed25519_key_id(*pub);
	if (!id) {
		crypto::wipe(*priv);
		return id.error();
	}
	// device.pub is derived data: (re)write it if missing, refuse if it disagrees.
	const fs::path pub_file = pub_path(state_dir);
	auto stored = read_small_file(pub_file, false);
	if (!stored) {
		if (stored.error().code == -ENOENT) {
			auto st = write_exclusive(pub_file, *pub, 0644);
			if (!st && st.error().code != -EEXIST) {
				LOG(Audit, Warning) << "cannot write " << pub_file << ": "
						    << st.error().message;
			}
		}
	} else if (*stored != *pub) {
		crypto::wipe(*priv);
		return make_error(-EINVAL, pub_file.string() +
						   " does not match device.key (replace or remove it)");
	}
	return std::unique_ptr<DeviceIdentity>(
		new DeviceIdentity(std::move(priv.value()), std::move(pub.value()),
				   std::move(id.value())));
}

Result<std::unique_ptr<DeviceIdentity>> DeviceIdentity::load_or_create(const fs::path &state_dir)
{
	auto existing = load(state_dir);
	if (existing || existing.error().code != -ENOENT)
		return existing;
	auto st = ensure_private_dir(state_dir / "device");
	if (!st)
		return st.error();
	auto pair = crypto::ed25519_generate();
	if (!pair)
		return pair.error();
	st = write_exclusive(key_path(state_dir), pair->private_pem, 0600);
	crypto::wipe(pair->private_pem);
	if (!st && st.error().code != -EEXIST)
		return st.error();
	if (!st)
		return load(state_dir); // another process created it (and its audit state)
	LOG(Audit, Info) << "created device identity " << key_path(state_dir).string();
	auto id = load(state_dir);
	if (!id)
		return id;
	// The identity's birth: the audit log this device keeps from now on must start with a
	// genesis record (written at the next AuditLog::open) and reach the head kept here.
	AuditState birth;
	birth.head = genesis_hash();
	const TimePoint now = Clock::now();
	birth.created = format_time(now);
	birth.mark = now;
	if (auto stored = store_audit_state(state_dir, **id, birth); !stored)
		return stored.error();
	return id;
}

Result<std::string> DeviceIdentity::load_public(const fs::path &state_dir)
{
	return read_small_file(pub_path(state_dir), false);
}

Result<crypto::Bytes> DeviceIdentity::sign(const void *data, std::size_t size) const
{
	return crypto::ed25519_sign(private_pem_, data, size);
}

} // namespace lethe::audit
