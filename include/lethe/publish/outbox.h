// SPDX-License-Identifier: GPL-3.0-or-later
// Durable, encrypted outbox: a hit is stored before it is published and removed after PUBACK.
//
// SQLite through store::Database (secure_delete, WAL, synchronous=FULL) in one file; each payload is sealed with
// AES-256-GCM under the data key of an epoch (OutboxKeys), the event id and topic as AAD.
// Entries expire `retention` after they were stored (the policy's retention.outbox) and are
// then purged. Thread-safe (one mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "lethe/common/crypto.h"
#include "lethe/common/result.h"
#include "lethe/store/database.h"
#include "lethe/store/key_store.h"

namespace lethe::publish {

/// Where the outbox's data keys come from. Destroying an epoch's key destroys its entries
/// (cryptographic erase). The store's KeyStore is the production provider.
class OutboxKeys
{
public:
	virtual ~OutboxKeys() = default;
	/// The key new entries are sealed with, and its epoch number.
	[[nodiscard]] virtual Result<std::pair<std::uint64_t, crypto::SecretBytes>> current() = 0;
	/// The key of an earlier epoch; an error if it was destroyed.
	[[nodiscard]] virtual Result<crypto::SecretBytes> key(std::uint64_t epoch) = 0;
};

/// One data key in a file (mode 0600, created with random bytes if missing): epoch 0 only.
/// For tests, tools and devices without the store's KeyStore.
class FileOutboxKeys : public OutboxKeys
{
public:
	[[nodiscard]] static Result<std::unique_ptr<FileOutboxKeys>>
	create(const std::filesystem::path &file);
	Result<std::pair<std::uint64_t, crypto::SecretBytes>> current() override;
	Result<crypto::SecretBytes> key(std::uint64_t epoch) override;

private:
	crypto::SecretBytes key_;
};

/// The production provider: the store's KeyStore, purpose "outbox", epochs of `rotation`
/// (the policy's retention.key_rotation). An outbox epoch key may be destroyed once its
/// epoch ended more than retention.outbox ago: every entry sealed under it has expired.
class KeyStoreOutboxKeys : public OutboxKeys
{
public:
	KeyStoreOutboxKeys(store::KeyStore &keys, std::chrono::seconds rotation)
		: keys_(keys), rotation_(rotation) {}
	Result<std::pair<std::uint64_t, crypto::SecretBytes>> current() override;
	Result<crypto::SecretBytes> key(std::uint64_t epoch) override;

private:
	store::KeyStore &keys_;
	std::chrono::seconds rotation_;
};

class Outbox
{
public:
	using TimePoint = std::chrono::system_clock::time_point;

	struct Item {
		std::string event_id;
		std::string topic;
		crypto::SecretBytes payload; ///< the event JSON (decrypted)
		TimePoint created{};
		TimePoint expires{};
	};

	/// Open or create the outbox database. keys is lent and must outlive the Outbox.
	[[nodiscard]] static Result<std::unique_ptr<Outbox>> open(const std::filesystem::path &db,
								  OutboxKeys &keys);
	~Outbox();
	Outbox(const Outbox &) = delete;
	Outbox &operator=(const Outbox &) = delete;

	/// Store durably (fsync'd) before returning. (event_id, topic) is unique: a second put of
	/// the same pair is a no-op. retention must be > 0.
	[[nodiscard]] Status put(const std::string &event_id, const std::string &topic,
				 std::string_view payload, TimePoint now, std::chrono::seconds retention);
	/// Up to max unexpired entries, oldest first, skipping (event_id, topic) pairs in `skip`.
	/// Entries that cannot be decrypted (key destroyed) are deleted and not returned.
	[[nodiscard]] Result<std::vector<Item>>
	peek(std::size_t max, TimePoint now,
	     const std::vector<std::pair<std::string, std::string>> &skip = {});
	/// Remove after PUBACK.
	[[nodiscard]] Status remove(const std::string &event_id, const std::string &topic);
	/// Delete expired entries; returns how many. Checkpoints and truncates the WAL.
	[[nodiscard]] Result<std::size_t> purge_expired(TimePoint now);
	[[nodiscard]] std::size_t depth() const;

private:
	Outbox() = default;

	std::unique_ptr<store::Database> db_;
	OutboxKeys *keys_ = nullptr;
	mutable std::mutex mutex_;
};

} // namespace lethe::publish
