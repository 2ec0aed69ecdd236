// SPDX-License-Identifier: GPL-3.0-or-later
// Retention core: non-hits reduced to keyed digests, hits encrypted, everything purged on time.
//
// One Retention object per state directory (STATE/retention.db + the key store). It is the
// only code that writes reads to persistent storage:
//  * record_nonhit(): the plate is normalised, digested under the current "digest" epoch key
//    (docs/retention.md), and plate text, crop and frame are wiped before it returns — on
//    success and on failure. Only digest, epoch, camera and time are stored, and only if the
//    policy's nonhit_digest retention is > 0 (0 = nothing is written, ever).
//  * record_hit(): the hit record (plate, list, ...) and its image are sealed with
//    AES-256-GCM under the current "hit-record" / "hit-image" epoch keys.
//  * purge(): deletes everything whose deadline has passed (on the ratcheting RetentionTime,
//    see clock.h), checkpoints and truncates the WAL, destroys keys whose epochs have expired
//    (crypto-erase). Run at create() (start-up purge) and by PurgeWorker.
//
// Thread-safe (one internal mutex); lend it by reference to the pipeline and the worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lethe/common/crypto.h"
#include "lethe/common/result.h"
#include "lethe/policy/policy.h"
#include "lethe/retention/clock.h"
#include "lethe/retention/digest.h"
#include "lethe/store/database.h"
#include "lethe/store/key_store.h"

namespace lethe::retention {

/// Data classes with their own retention and counters.
enum class DataClass { NonhitDigest, HitRecord, HitImage };
inline constexpr DataClass kDataClasses[] = {DataClass::NonhitDigest, DataClass::HitRecord,
					     DataClass::HitImage};
[[nodiscard]] std::string_view class_name(DataClass c); ///< "nonhit_digest", "hit_record", ...

/// File name of the retention database under the state directory.
inline constexpr std::string_view kDatabaseName = "retention.db";
/// File name of the space reserved for purges on a full disk (see Config::reserve_bytes).
inline constexpr std::string_view kReserveName = "retention.reserve";
inline constexpr std::uintmax_t kDefaultReserveBytes = 2u << 20;

struct Config {
	std::filesystem::path state_dir;
	store::KeyMode key_mode = store::KeyMode::File;
	/// Lent key store (must outlive Retention); if null Retention opens its own in key_mode.
	store::KeyStore *keys = nullptr;
	/// Clock (must outlive Retention); null = SystemClock.
	const Clock *clock = nullptr;
	DigestParams digest;
	/// Normal: a non-hit digest lost on a power cut is harmless (a privacy gain), and every
	/// purge is made durable by its checkpoint(TRUNCATE), which fsyncs; hit records are
	/// committed with synchronous=FULL regardless. Full: every commit is fsync'ed.
	store::Database::Sync sync = store::Database::Sync::Normal;
	/// How often the retention-time high-water mark is persisted when nothing else is written.
	std::chrono::seconds high_water_interval{10};
	/// Space held back for purges (STATE/retention.reserve): deleting rows writes WAL frames,
	/// so on a full disk a purge would fail and a deadline pass. A purge that fails with
	/// -ENOSPC releases the reserve and runs again; the reserve is re-made once there is
	/// room. 0 = none.
	std::uintmax_t reserve_bytes = kDefaultReserveBytes;
};

/// A read that matched no hot list. record_nonhit() wipes plate, crop and frame.
struct NonHit {
	std::string plate;               ///< OCR text (wiped)
	std::string camera;              ///< camera id (kept with the digest)
	std::span<std::uint8_t> crop;    ///< plate crop pixels/JPEG (wiped); may be empty
	std::span<std::uint8_t> frame;   ///< full frame (wiped); empty if the caller still needs it
};

/// A read that matched a hot list.
struct Hit {
	std::string event_id; ///< UUID; generated if empty
	std::string plate;
	std::string camera;
	std::string region;
	double confidence = 0;
	std::string list_id;
	std::string category;
	std::string match_type;
	crypto::Bytes image; ///< JPEG crop; empty = none
	/// When the vehicle was seen: the published event's `time`, so that the stored record
	/// and what integrators received name the same instant. Unset (or later than the
	/// retention time): the time of recording.
	WallTime seen{};
};

struct StoredHit {
	std::int64_t id = 0;
	WallTime seen{};
	WallTime deadline{};
	Hit hit; ///< decrypted (image left empty; see hit_image())
	bool has_image = false;
};

/// Where and when a plate was seen (a retro-hit answer): never the plate itself.
struct Sighting {
	std::string camera;
	WallTime seen{};
};

struct PurgeResult {
	WallTime now{};
	std::int64_t purged[3] = {0, 0, 0}; ///< indexed by DataClass
	int keys_destroyed = 0;
	/// False if the WAL could not be truncated yet (a reader held an old snapshot); the
	/// purged rows are deleted and zeroed in the WAL's newest frames; older frames keep
	/// them until the checkpoint, retried every cycle.
	bool wal_truncated = true;
	[[nodiscard]] std::int64_t total() const { return purged[0] + purged[1] + purged[2]; }
};

class Retention
{
public:
	/// Open STATE/retention.db (0600) and the key store, install `policy`, purge at once.
	[[nodiscard]] static Result<std::unique_ptr<Retention>> create(const Config &config,
								     const policy::Policy &policy);
	~Retention();
	Retention(const Retention &) = delete;
	Retention &operator=(const Retention &) = delete;

	/// Replace the effective policy (shorter retention applies to existing records at once).
	[[nodiscard]] Status set_policy(const policy::Policy &policy);
	[[nodiscard]] policy::Policy policy() const;

	/// Reduce a non-hit to a digest (or to nothing). Wipes read.plate/crop/frame always.
	[[nodiscard]] Status record_nonhit(NonHit &read);
	/// Store a hit (sealed). Returns the row id, or 0 if the policy keeps no hit records.
	/// hit.plate is not wiped (the publisher still needs it).
	[[nodiscard]] Result<std::int64_t> record_hit(const Hit &hit);

	/// Retro-hit: when and where `plate` was seen since `since` (non-hit digests within
	/// retention). -EPERM if the policy does not allow retro-hit queries.
	[[nodiscard]] Result<std::vector<Sighting>> find_digest(std::string_view plate,
								WallTime since);
	/// find_digest for several plates at once (one answer per plate, in order): each live
	/// epoch's rows are scanned once for all of them.
	[[nodiscard]] Result<std::vector<std::vector<Sighting>>>
	find_digests(const std::vector<std::string_view> &plates, WallTime since);
	/// Hit records seen since `since`, decrypted; records whose key is gone are skipped.
	[[nodiscard]] Result<std::vector<StoredHit>> hits(WallTime since);
	/// A hit's image; -ENOENT if none or purged, or its key destroyed.
	[[nodiscard]] Result<crypto::SecretBytes> hit_image(std::int64_t hit_id);
	/// The image of the hit published as `event_id`; errors as hit_image().
	[[nodiscard]] Result<crypto::SecretBytes> hit_image_of_event(std::string_view event_id);

	/// Purge everything due; checkpoint(TRUNCATE) after deletions; destroy expired keys.
	[[nodiscard]] Result<PurgeResult> purge();
	/// What the start-up purge in create() removed (for the caller's audit trail).
	[[nodiscard]] const PurgeResult &startup_purge() const { return startup_purge_; }
	/// Earliest deadline of any stored record (for the worker's sleep), if any.
	[[nodiscard]] std::optional<WallTime> next_deadline();

	/// Retention time (the ratchet; see clock.h).
	[[nodiscard]] WallTime now();
	[[nodiscard]] const std::filesystem::path &state_dir() const { return config_.state_dir; }
	[[nodiscard]] store::KeyStore &keys() { return *keys_; }

private:
	Retention(Config config, std::unique_ptr<store::Database> db,
		  std::unique_ptr<store::KeyStore> owned_keys, store::KeyStore *keys,
		  WallTime high_water);
	[[nodiscard]] Status init_schema();
	[[nodiscard]] Status persist_policy_locked();
	[[nodiscard]] Status write_high_water_locked(WallTime now, bool force);
	[[nodiscard]] Result<PurgeResult> purge_locked();
	/// The image of the hit `where` (an SQL condition on hit_record r, one parameter) selects.
	template<typename Key>
	[[nodiscard]] Result<crypto::SecretBytes> hit_image_where(const char *where, const Key &key,
								  const std::string &name);
	/// purge_locked(), again after releasing the reserve if the disk was full; then the
	/// reserve is re-made if there is room.
	[[nodiscard]] Result<PurgeResult> purge_with_reserve_locked();
	void ensure_reserve_locked();
	/// Delete the reserve file (its space goes to the next write); false if there was none.
	bool release_reserve_locked();
	[[nodiscard]] std::chrono::seconds retention_of(DataClass c) const;
	void flush_counters_locked();

	Config config_;
	mutable std::mutex mutex_;
	std::unique_ptr<store::Database> db_;
	std::unique_ptr<store::KeyStore> owned_keys_;
	store::KeyStore *keys_;
	RetentionTime time_;
	policy::Policy policy_;
	WallTime high_water_written_{};
	bool checkpoint_pending_ = false;
	std::int64_t not_stored_[3] = {0, 0, 0}; ///< reads dropped because retention is 0
	std::int64_t plaintext_max_us_ = 0;       ///< longest a non-hit plate lived in this code
	PurgeResult startup_purge_;
};

} // namespace lethe::retention
