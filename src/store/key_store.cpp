// SPDX-License-Identifier: GPL-3.0-or-later
// Per-epoch keys in files (0600, atomic, overwrite-on-destroy) or in RAM only.
#include "lethe/store/key_store.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lethe/common/atomic_file.h"
#include "lethe/common/log.h"
#include "lethe/common/unique_fd.h"

namespace lethe::store {
namespace {

namespace fs = std::filesystem;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr char kMagic[8] = {'L', 'E', 'T', 'H', 'E', 'K', '0', '1'};
constexpr std::size_t kFileSize = 8 + 8 + 8 + crypto::kAesKeySize;

bool valid_purpose(std::string_view p)
{
	if (p.empty() || p.size() > 32)
		return false;
	return std::all_of(p.begin(), p.end(), [](char c) {
		return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
	});
}

std::int64_t to_ms(WallTime t)
{
	return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

void put64(std::uint8_t *p, std::uint64_t v)
{
	for (int i = 0; i < 8; ++i)
		p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint64_t get64(const std::uint8_t *p)
{
	std::uint64_t v = 0;
	for (int i = 0; i < 8; ++i)
		v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
	return v;
}

Error errno_error(const std::string &what, const fs::path &path, int err)
{
	return make_error(-err, what + " " + path.string() + ": " + std::strerror(err));
}

/// Secret bytes as the text view fsutil::write_all() takes (no copy is made).
std::string_view as_chars(const crypto::SecretBytes &bytes)
{
	return {reinterpret_cast<const char *>(bytes.data()), bytes.size()};
}

/// Overwrite a file's bytes with random data, fsync, unlink, fsync the directory.
Status shred(const fs::path &path)
{
	UniqueFD fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
	if (!fd.isValid()) {
		if (errno == ENOENT)
			return {};
		return errno_error("open for destruction", path, errno);
	}
	struct stat st {};
	Status status;
	if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) {
		auto noise = crypto::random_bytes(static_cast<std::size_t>(st.st_size));
		if (!noise)
			return noise.error();
		status = fsutil::write_all(fd.get(), as_chars(*noise), path);
		if (status && ::fsync(fd.get()) != 0)
			status = errno_error("fsync", path, errno);
	}
	fd.reset();
	// Unlink even if the overwrite failed: the key must go either way.
	if (::unlink(path.c_str()) != 0 && errno != ENOENT)
		return errno_error("unlink", path, errno);
	if (Status s = fsutil::fsync_dir(path.parent_path()); !s)
		return s;
	return status;
}

} // namespace

std::string_view key_mode_name(KeyMode mode)
{
	return mode == KeyMode::File ? "file" : "ram";
}

Result<KeyMode> parse_key_mode(std::string_view name)
{
	if (name == "file")
		return KeyMode::File;
	if (name == "ram")
		return KeyMode::Ram;
	return make_error(-EINVAL, "key mode must be 'file' or 'ram', not '" + std::string(name) +
					   "'");
}

Result<std::unique_ptr<KeyStore>> KeyStore::open(const fs::path &state_dir, KeyMode mode)
{
	fs::path dir;
	if (mode == KeyMode::File) {
		dir = state_dir / "keys";
		std::error_code ec;
		fs::create_directories(dir, ec);
		if (ec)
			return make_error(-ec.value(), "create " + dir.string() + ": " + ec.message());
		if (::chmod(dir.c_str(), 0700) != 0)
			return errno_error("chmod", dir, errno);
	}
	std::unique_ptr<KeyStore> ks(new KeyStore(mode, dir));
	if (mode == KeyMode::File) {
		if (Status s = ks->load(); !s)
			return s.error();
	}
	return ks;
}

KeyStore::~KeyStore() = default; // SecretBytes wipe themselves

fs::path KeyStore::file_for(const Id &id) const
{
	return dir_ / (id.first + "-" + std::to_string(id.second) + ".key");
}

Status KeyStore::load()
{
	std::error_code ec;
	for (const auto &de : fs::directory_iterator(dir_, ec)) {
		const std::string name = de.path().filename().string();
		if (name.rfind(".tmp-", 0) == 0) {
			// A crash between write and rename: the key was never in use.
			if (Status s = shred(de.path()); !s)
				return s;
			continue;
		}
		const auto dash = name.rfind('-');
		const bool suffix = name.size() > 4 && name.compare(name.size() - 4, 4, ".key") == 0;
		if (!suffix || dash == std::string::npos || dash == 0) {
			LOG(Store, Warning) << "ignoring unexpected file " << de.path();
			continue;
		}
		Id id{name.substr(0, dash), 0};
		const std::string num = name.substr(dash + 1, name.size() - 4 - dash - 1);
		bool bad = num.empty() || !valid_purpose(id.first) ||
			   !std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; });
		if (!bad)
			id.second = std::stoull(num);

		crypto::SecretBytes buf(kFileSize + 1);
		std::size_t got = 0;
		const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
		const UniqueFD fd(bad ? -1 : ::open(de.path().c_str(), flags));
		if (fd.isValid()) {
			for (;;) {
				const ssize_t n =
					::read(fd.get(), buf.data() + got, buf.size() - got);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					break;
				got += static_cast<std::size_t>(n);
				if (got == buf.size())
					break;
			}
		}
		if (bad || got != kFileSize || std::memcmp(buf.data(), kMagic, 8) != 0) {
			// Unreadable key: its data is lost anyway. Destroy it rather than keep junk
			// that looks like key material.
			LOG(Store, Error) << "destroying malformed key file " << de.path();
			if (Status s = shred(de.path()); !s)
				return s;
			continue;
		}
		Entry e;
		e.info.purpose = id.first;
		e.info.epoch = id.second;
		e.info.start = WallTime{milliseconds{static_cast<std::int64_t>(get64(buf.data() + 8))}};
		e.info.length = std::chrono::seconds{static_cast<std::int64_t>(get64(buf.data() + 16))};
		e.key.assign(buf.begin() + 24, buf.begin() + 24 + crypto::kAesKeySize);
		keys_.emplace(id, std::move(e));
	}
	if (ec)
		return make_error(-ec.value(), "list " + dir_.string() + ": " + ec.message());
	return {};
}

Status KeyStore::write_file(const Entry &entry) const
{
	const Id id{entry.info.purpose, entry.info.epoch};
	const fs::path final_path = file_for(id);
	auto suffix = crypto::random_bytes(6);
	if (!suffix)
		return suffix.error();
	const fs::path tmp = dir_ / (".tmp-" + crypto::to_hex(suffix->data(), suffix->size()));

	crypto::SecretBytes buf(kFileSize);
	std::memcpy(buf.data(), kMagic, 8);
	put64(buf.data() + 8, static_cast<std::uint64_t>(to_ms(entry.info.start)));
	put64(buf.data() + 16, static_cast<std::uint64_t>(entry.info.length.count()));
	std::memcpy(buf.data() + 24, entry.key.data(), crypto::kAesKeySize);

	UniqueFD fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
	if (!fd.isValid())
		return errno_error("create", tmp, errno);
	Status s = fsutil::write_all(fd.get(), as_chars(buf), tmp);
	if (s && ::fsync(fd.get()) != 0)
		s = errno_error("fsync", tmp, errno);
	fd.reset();
	if (!s) {
		(void)shred(tmp);
		return s;
	}
	if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
		const int err = errno;
		(void)shred(tmp);
		return errno_error("rename", final_path, err);
	}
	return fsutil::fsync_dir(dir_);
}

Result<EpochKey> KeyStore::current(std::string_view purpose_name, WallTime now,
				   std::chrono::seconds rotation)
{
	if (!valid_purpose(purpose_name))
		return make_error(-EINVAL, "invalid key purpose '" + std::string(purpose_name) + "'");
	if (rotation.count() <= 0)
		return make_error(-EINVAL, "key rotation must be positive");
	std::lock_guard<std::mutex> lock(mutex_);
	const std::string p(purpose_name);

	// Newest epoch of this purpose.
	auto it = keys_.upper_bound(Id{p, UINT64_MAX});
	const Entry *newest = nullptr;
	if (it != keys_.begin()) {
		auto prev = std::prev(it);
		if (prev->first.first == p)
			newest = &prev->second;
	}
	if (newest && newest->info.start <= now && now < newest->info.end() &&
	    now < newest->info.start + rotation)
		return EpochKey{newest->info, newest->key};

	auto key = crypto::random_bytes(crypto::kAesKeySize);
	if (!key)
		return key.error();
	Entry e;
	e.info.purpose = p;
	const auto ms = static_cast<std::uint64_t>(std::max<std::int64_t>(to_ms(now), 0));
	e.info.epoch = newest ? std::max(ms, newest->info.epoch + 1) : ms;
	e.info.start = now;
	e.info.length = rotation;
	e.key = std::move(*key);
	if (mode_ == KeyMode::File) {
		if (Status s = write_file(e); !s)
			return s.error();
	}
	EpochKey out{e.info, e.key};
	keys_.emplace(Id{p, e.info.epoch}, std::move(e));
	LOG(Store, Debug) << "new " << p << " epoch " << out.info.epoch;
	return out;
}

Result<EpochKey> KeyStore::get(std::string_view purpose_name, std::uint64_t epoch) const
{
	std::lock_guard<std::mutex> lock(mutex_);
	auto it = keys_.find(Id{std::string(purpose_name), epoch});
	if (it == keys_.end())
		return make_error(-ENOENT, "no " + std::string(purpose_name) + " key for epoch " +
						   std::to_string(epoch) + " (destroyed or never created)");
	return EpochKey{it->second.info, it->second.key};
}

Result<KeyStore::Sealed> KeyStore::seal(std::string_view purpose_name, WallTime now,
					std::chrono::seconds rotation, const void *plain,
					std::size_t size, std::string_view aad)
{
	auto key = current(purpose_name, now, rotation);
	if (!key)
		return key.error();
	auto sealed = crypto::seal(key->key, plain, size, aad);
	if (!sealed)
		return sealed.error();
	return Sealed{key->info.epoch, std::move(*sealed)};
}

Result<crypto::SecretBytes> KeyStore::open_sealed(std::string_view purpose_name,
						  std::uint64_t epoch, const crypto::Bytes &sealed,
						  std::string_view aad) const
{
	auto key = get(purpose_name, epoch);
	if (!key)
		return key.error();
	return crypto::open(key->key, sealed, aad);
}

bool KeyStore::has(std::string_view purpose_name, std::uint64_t epoch) const
{
	std::lock_guard<std::mutex> lock(mutex_);
	return keys_.count(Id{std::string(purpose_name), epoch}) != 0;
}

std::vector<EpochInfo> KeyStore::epochs(std::string_view purpose_name) const
{
	std::lock_guard<std::mutex> lock(mutex_);
	std::vector<EpochInfo> out;
	for (const auto &[id, e] : keys_)
		if (purpose_name.empty() || id.first == purpose_name)
			out.push_back(e.info);
	return out;
}

Status KeyStore::destroy_locked(const Id &id)
{
	auto it = keys_.find(id);
	if (it != keys_.end()) {
		crypto::wipe(it->second.key.data(), it->second.key.size());
		keys_.erase(it);
	}
	if (mode_ == KeyMode::File)
		return shred(file_for(id));
	return {};
}

Status KeyStore::destroy_epoch(std::string_view purpose_name, std::uint64_t epoch)
{
	std::lock_guard<std::mutex> lock(mutex_);
	Status s = destroy_locked(Id{std::string(purpose_name), epoch});
	if (s) {
		LOG(Store, Info) << "destroyed " << purpose_name << " key of epoch " << epoch;
	}
	return s;
}

Result<int> KeyStore::destroy_ended_before(std::string_view purpose_name, WallTime cutoff)
{
	std::lock_guard<std::mutex> lock(mutex_);
	std::vector<Id> doomed;
	for (const auto &[id, e] : keys_)
		if (id.first == purpose_name && e.info.end() <= cutoff)
			doomed.push_back(id);
	for (const auto &id : doomed)
		if (Status s = destroy_locked(id); !s)
			return s.error();
	if (!doomed.empty()) {
		LOG(Store, Info) << "destroyed " << doomed.size() << " " << purpose_name << " key(s)";
	}
	return static_cast<int>(doomed.size());
}

} // namespace lethe::store
