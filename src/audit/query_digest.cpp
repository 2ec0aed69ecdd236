// SPDX-License-Identifier: GPL-3.0-or-later
// Keyed digest of query terms for audit entries.
#include "lethe/audit/query_digest.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lethe/common/crypto.h"
#include "lethe/common/unique_fd.h"

namespace lethe::audit {

namespace {

Result<crypto::SecretBytes> read_key(const std::filesystem::path &path)
{
	const UniqueFD fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
	if (!fd.isValid())
		return make_error(-errno, path.string() + ": " + std::strerror(errno));
	crypto::SecretBytes key(32);
	const ssize_t n = ::read(fd.get(), key.data(), key.size());
	struct stat st {};
	const bool ok = n == 32 && ::fstat(fd.get(), &st) == 0 && (st.st_mode & 077) == 0;
	if (!ok)
		return make_error(-EINVAL, path.string() + ": not a 32-byte owner-only key");
	return key;
}

Result<crypto::SecretBytes> load_or_create_key(const std::filesystem::path &state_dir)
{
	const auto dir = state_dir / "audit";
	const auto path = dir / "terms.key";
	auto key = read_key(path);
	if (key || key.error().code != -ENOENT)
		return key;
	std::error_code ec;
	std::filesystem::create_directories(dir, ec);
	auto fresh = crypto::random_bytes(32);
	if (!fresh)
		return fresh.error();
	const auto tmp = dir / ("terms.key.tmp." + std::to_string(::getpid()));
	UniqueFD fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
	if (!fd.isValid())
		return make_error(-errno, tmp.string() + ": " + std::strerror(errno));
	const bool written = ::write(fd.get(), fresh->data(), fresh->size()) == 32 &&
			     ::fsync(fd.get()) == 0;
	fd.reset();
	const int linked = written ? ::link(tmp.c_str(), path.c_str()) : -1;
	const int err = errno;
	::unlink(tmp.c_str());
	if (!written || (linked != 0 && err != EEXIST))
		return make_error(-EIO, path.string() + ": cannot create the audit term key");
	return read_key(path); // whoever won the race
}

} // namespace

Result<std::string> term_digest(const std::filesystem::path &state_dir, std::string_view plate)
{
	auto key = load_or_create_key(state_dir);
	if (!key)
		return key.error();
	crypto::SecretBytes norm;
	norm.reserve(plate.size());
	for (char c : plate) {
		if (c == ' ' || c == '-' || c == '.' || c == '_' || c == '/' || c == ':' ||
		    c == '\t')
			continue;
		norm.push_back(static_cast<std::uint8_t>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
	}
	static constexpr char kDomain[] = "lethe/audit/term/v1\n";
	crypto::SecretBytes msg(kDomain, kDomain + sizeof(kDomain) - 1);
	msg.insert(msg.end(), norm.begin(), norm.end());
	return crypto::to_hex(crypto::hmac_sha256(*key, msg.data(), msg.size()));
}

} // namespace lethe::audit
