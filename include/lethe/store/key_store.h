// SPDX-License-Identifier: GPL-3.0-or-later
// Per-epoch 256-bit keys per purpose; destroying an epoch's key is a cryptographic erase.
//
// Every class of data Lethe keeps is encrypted (or, for non-hit digests, keyed) under a key
// that belongs to one *purpose* ("digest", "hit-record", "hit-image", "outbox", ...) and one
// *epoch* (a time slice of the policy's key_rotation length). When everything written in an
// epoch has passed its retention, the epoch's key is destroyed: the ciphertext left anywhere
// (database pages, WAL frames, flash blocks the FTL has not erased, backups) becomes
// undecryptable — cryptographic erase, NIST SP 800-88 Rev. 1 §2.6.
//
// Two modes (see docs/retention.md for the trade-off):
//  * File: keys live in STATE/keys/<purpose>-<epoch>.key, mode 0600, written atomically
//    (temp file + fsync + rename + fsync dir); destroyed by overwriting with random bytes,
//    fsync, unlink, fsync dir. Kept data survives a reboot.
//  * Ram: keys never touch persistent storage (mlock'ed where allowed); a reboot or crash
//    destroys every key and so all kept data, which is purged at the next start-up.
//
// Thread-safe: one KeyStore per state directory and process, lent by const& / & to the
// stages that need it (retention, outbox).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lethe/common/crypto.h"
#include "lethe/common/result.h"

namespace lethe::store {

/// Well-known key purposes. Any [a-z0-9-]{1,32} name is accepted.
namespace purpose {
inline constexpr std::string_view kDigest = "digest";
inline constexpr std::string_view kHitRecord = "hit-record";
inline constexpr std::string_view kHitImage = "hit-image";
inline constexpr std::string_view kOutbox = "outbox";
} // namespace purpose

enum class KeyMode { File, Ram };

[[nodiscard]] std::string_view key_mode_name(KeyMode mode);
/// "file" or "ram".
[[nodiscard]] Result<KeyMode> parse_key_mode(std::string_view name);

using WallTime = std::chrono::system_clock::time_point;

/// Metadata of one epoch key (never the key bytes).
struct EpochInfo {
	std::string purpose;
	std::uint64_t epoch = 0;   ///< unique, increasing per purpose: start time in ms since 1970
	WallTime start{};          ///< when the epoch began
	std::chrono::seconds length{0}; ///< key_rotation in force when it began
	[[nodiscard]] WallTime end() const { return start + length; }
};

/// A copy of an epoch key (wiped when it goes out of scope).
struct EpochKey {
	EpochInfo info;
	crypto::SecretBytes key;
};

class KeyStore
{
public:
	/// Open the key store under state_dir (file mode: STATE/keys, created 0700; existing
	/// key files are loaded; stray temp files from a crash are destroyed).
	[[nodiscard]] static Result<std::unique_ptr<KeyStore>>
	open(const std::filesystem::path &state_dir, KeyMode mode);

	~KeyStore();
	KeyStore(const KeyStore &) = delete;
	KeyStore &operator=(const KeyStore &) = delete;

	[[nodiscard]] KeyMode mode() const { return mode_; }

	/// The key to write new data under at time `now`: the newest epoch of `purpose` if it
	/// started at most `rotation` ago (and not in the future), else a new epoch starting now.
	[[nodiscard]] Result<EpochKey> current(std::string_view purpose, WallTime now,
					       std::chrono::seconds rotation);
	/// The key of a given epoch; -ENOENT once it has been destroyed (or never existed).
	[[nodiscard]] Result<EpochKey> get(std::string_view purpose, std::uint64_t epoch) const;
	/// Every live epoch (all purposes, or one).
	[[nodiscard]] std::vector<EpochInfo> epochs(std::string_view purpose = {}) const;
	[[nodiscard]] bool has(std::string_view purpose, std::uint64_t epoch) const;

	/// Convenience for stages that encrypt under the current epoch (e.g. the outbox):
	/// AES-256-GCM under current(purpose, now, rotation); store `epoch` next to `sealed`.
	struct Sealed {
		std::uint64_t epoch = 0;
		crypto::Bytes sealed; ///< nonce || ciphertext || tag
	};
	[[nodiscard]] Result<Sealed> seal(std::string_view purpose, WallTime now,
					  std::chrono::seconds rotation, const void *plain,
					  std::size_t size, std::string_view aad = {});
	/// Decrypt with the epoch's key: -ENOENT once the key is destroyed, -EBADMSG if altered.
	[[nodiscard]] Result<crypto::SecretBytes> open_sealed(std::string_view purpose,
							      std::uint64_t epoch,
							      const crypto::Bytes &sealed,
							      std::string_view aad = {}) const;

	/// Cryptographic erase of one epoch key: wiped in memory; in file mode the file is
	/// overwritten with random bytes, fsync'ed, unlinked and the directory fsync'ed.
	/// Destroying a key that does not exist is not an error (idempotent).
	[[nodiscard]] Status destroy_epoch(std::string_view purpose, std::uint64_t epoch);
	/// Destroy every key of a purpose whose epoch ended before `cutoff`; returns the count.
	[[nodiscard]] Result<int> destroy_ended_before(std::string_view purpose, WallTime cutoff);

	/// Keys directory (file mode), empty path in RAM mode.
	[[nodiscard]] const std::filesystem::path &directory() const { return dir_; }

private:
	struct Entry {
		EpochInfo info;
		crypto::SecretBytes key;
	};
	using Id = std::pair<std::string, std::uint64_t>;

	KeyStore(KeyMode mode, std::filesystem::path dir) : mode_(mode), dir_(std::move(dir)) {}
	[[nodiscard]] Status load();
	[[nodiscard]] Status write_file(const Entry &entry) const;
	[[nodiscard]] Status destroy_locked(const Id &id);
	[[nodiscard]] std::filesystem::path file_for(const Id &id) const;

	KeyMode mode_;
	std::filesystem::path dir_;
	mutable std::mutex mutex_;
	std::map<Id, Entry> keys_;
};

} // namespace lethe::store
