// SPDX-License-Identifier: GPL-3.0-or-later
// Durable encrypted outbox on SQLite: store before publish, delete after PUBACK, purge on expiry.
#include <fcntl.h>
#include <algorithm>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>


#include "lethe/common/log.h"
#include "lethe/common/unique_fd.h"
#include "lethe/publish/outbox.h"

namespace lethe::publish {

namespace {

std::int64_t to_ms(Outbox::TimePoint t)
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Outbox::TimePoint from_ms(std::int64_t ms)
{
	// A damaged file can hold any integer: saturate to what the clock can represent instead
	// of overflowing its nanosecond count (signed overflow; found by tests/fuzz/outbox_fuzz).
	using Duration = Outbox::TimePoint::duration;
	constexpr std::int64_t lo =
		std::chrono::duration_cast<std::chrono::milliseconds>(Duration::min()).count();
	constexpr std::int64_t hi =
		std::chrono::duration_cast<std::chrono::milliseconds>(Duration::max()).count();
	return Outbox::TimePoint(std::chrono::duration_cast<Duration>(
		std::chrono::milliseconds(std::clamp(ms, lo, hi))));
}

std::string aad(const std::string &event_id, const std::string &topic)
{
	return "lethe-outbox-v1\n" + event_id + "\n" + topic;
}

} // namespace

Result<std::unique_ptr<FileOutboxKeys>> FileOutboxKeys::create(const std::filesystem::path &file)
{
	std::unique_ptr<FileOutboxKeys> k(new FileOutboxKeys());
	std::error_code ec;
	if (std::filesystem::exists(file, ec)) {
		std::ifstream in(file, std::ios::binary);
		k->key_.resize(crypto::kAesKeySize);
		in.read(reinterpret_cast<char *>(k->key_.data()),
			static_cast<std::streamsize>(k->key_.size()));
		if (in.gcount() != static_cast<std::streamsize>(crypto::kAesKeySize))
			return make_error(-EINVAL, "outbox key file " + file.string() + " is short");
		return k;
	}
	auto r = crypto::random_bytes(crypto::kAesKeySize);
	if (!r)
		return r.error();
	k->key_ = std::move(r).value();
	const UniqueFD fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	if (!fd.isValid())
		return make_error(-errno, "cannot create outbox key file " + file.string());
	const bool written = ::write(fd.get(), k->key_.data(), k->key_.size()) ==
			     static_cast<ssize_t>(k->key_.size());
	const bool synced = ::fsync(fd.get()) == 0;
	if (!written || !synced)
		return make_error(-EIO, "cannot write outbox key file " + file.string());
	return k;
}

Result<std::pair<std::uint64_t, crypto::SecretBytes>> FileOutboxKeys::current()
{
	return std::pair<std::uint64_t, crypto::SecretBytes>{0, key_};
}

Result<crypto::SecretBytes> FileOutboxKeys::key(std::uint64_t epoch)
{
	if (epoch != 0)
		return make_error(-ENOKEY, "no outbox key for epoch " + std::to_string(epoch));
	return key_;
}

Result<std::pair<std::uint64_t, crypto::SecretBytes>> KeyStoreOutboxKeys::current()
{
	auto k = keys_.current(store::purpose::kOutbox, std::chrono::system_clock::now(), rotation_);
	if (!k)
		return k.error();
	return std::pair<std::uint64_t, crypto::SecretBytes>{k->info.epoch, std::move(k->key)};
}

Result<crypto::SecretBytes> KeyStoreOutboxKeys::key(std::uint64_t epoch)
{
	auto k = keys_.get(store::purpose::kOutbox, epoch);
	if (!k)
		return k.error();
	return std::move(k->key);
}

Result<std::unique_ptr<Outbox>> Outbox::open(const std::filesystem::path &path, OutboxKeys &keys)
{
	std::unique_ptr<Outbox> o(new Outbox());
	o->keys_ = &keys;
	// store::Database applies secure_delete=ON, WAL, synchronous=FULL, a busy timeout.
	auto db = store::Database::open(path);
	if (!db)
		return make_error(db.error().code, "outbox " + path.string() + ": " +
							   db.error().message);
	o->db_ = std::move(db).value();
	::chmod(path.c_str(), 0600);
	if (auto s = o->db_->exec("CREATE TABLE IF NOT EXISTS outbox ("
				  " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
				  " event_id TEXT NOT NULL, topic TEXT NOT NULL,"
				  " epoch INTEGER NOT NULL, sealed BLOB NOT NULL,"
				  " created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
				  " UNIQUE(event_id, topic))");
	    !s)
		return s.error();
	return o;
}

Outbox::~Outbox()
{
	if (db_)
		(void)db_->checkpoint_truncate();
}

Status Outbox::put(const std::string &event_id, const std::string &topic,
		   std::string_view payload, TimePoint now, std::chrono::seconds retention)
{
	if (retention.count() <= 0)
		return make_error(-EPERM, "the policy keeps no outbox (retention.outbox = 0)");
	auto key = keys_->current();
	if (!key)
		return key.error();
	auto sealed = crypto::seal(key->second, payload.data(), payload.size(), aad(event_id, topic));
	if (!sealed)
		return sealed.error();
	std::lock_guard lock(mutex_);
	auto st = db_->prepare("INSERT OR IGNORE INTO outbox(event_id, topic, epoch, sealed,"
			       " created_ms, expires_ms) VALUES(?,?,?,?,?,?)");
	if (!st)
		return st.error();
	st->bind(1, std::string_view(event_id))
		.bind(2, std::string_view(topic))
		.bind(3, static_cast<std::int64_t>(key->first))
		.bind_blob(4, *sealed)
		.bind(5, to_ms(now))
		.bind(6, to_ms(now + retention));
	return st->run();
}

Result<std::vector<Outbox::Item>>
Outbox::peek(std::size_t max, TimePoint now,
	     const std::vector<std::pair<std::string, std::string>> &skip)
{
	std::vector<Item> items;
	std::vector<std::int64_t> undecryptable;
	std::lock_guard lock(mutex_);
	{
		auto st = db_->prepare("SELECT seq, event_id, topic, epoch, sealed, created_ms,"
				       " expires_ms FROM outbox WHERE expires_ms > ? ORDER BY seq");
		if (!st)
			return st.error();
		st->bind(1, to_ms(now));
		while (items.size() < max) {
			auto row = st->step();
			if (!row)
				return row.error();
			if (!*row)
				break;
			Item it;
			const auto seq = st->column_int64(0);
			it.event_id = st->column_text(1);
			it.topic = st->column_text(2);
			bool skipped = false;
			for (const auto &[e, t] : skip)
				skipped = skipped || (e == it.event_id && t == it.topic);
			if (skipped)
				continue;
			const auto epoch = static_cast<std::uint64_t>(st->column_int64(3));
			const crypto::Bytes sealed = st->column_blob(4);
			it.created = from_ms(st->column_int64(5));
			it.expires = from_ms(st->column_int64(6));
			auto key = keys_->key(epoch);
			auto plain = key ? crypto::open(*key, sealed, aad(it.event_id, it.topic))
					 : Result<crypto::SecretBytes>(key.error());
			if (!plain) {
				undecryptable.push_back(seq);
				continue;
			}
			it.payload = std::move(plain).value();
			items.push_back(std::move(it));
		}
	}
	for (auto seq : undecryptable) {
		LOG(Publish, Warning) << "outbox entry " << seq
				      << " cannot be decrypted (key destroyed?): deleted";
		auto del = db_->prepare("DELETE FROM outbox WHERE seq = ?");
		if (del)
			(void)del->bind(1, seq).run();
	}
	return items;
}

Status Outbox::remove(const std::string &event_id, const std::string &topic)
{
	std::lock_guard lock(mutex_);
	auto st = db_->prepare("DELETE FROM outbox WHERE event_id = ? AND topic = ?");
	if (!st)
		return st.error();
	return st->bind(1, std::string_view(event_id)).bind(2, std::string_view(topic)).run();
}

Result<std::size_t> Outbox::purge_expired(TimePoint now)
{
	std::lock_guard lock(mutex_);
	auto st = db_->prepare("DELETE FROM outbox WHERE expires_ms <= ?");
	if (!st)
		return st.error();
	if (auto s = st->bind(1, to_ms(now)).run(); !s)
		return s.error();
	const auto n = static_cast<std::size_t>(db_->changes());
	if (n > 0)
		(void)db_->checkpoint_truncate();
	return n;
}

std::size_t Outbox::depth() const
{
	std::lock_guard lock(mutex_);
	auto st = db_->prepare("SELECT COUNT(*) FROM outbox");
	if (!st)
		return 0;
	auto row = st->step();
	return row && *row ? static_cast<std::size_t>(st->column_int64(0)) : 0;
}

} // namespace lethe::publish
