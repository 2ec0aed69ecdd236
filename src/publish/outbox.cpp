// SPDX-License-Identifier: GPL-3.0-or-later
// Durable encrypted outbox on SQLite: store before publish, delete after PUBACK, purge on expiry.
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lethe/common/log.h"
#include "lethe/publish/outbox.h"

namespace lethe::publish {

namespace {

std::int64_t to_ms(Outbox::TimePoint t)
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Outbox::TimePoint from_ms(std::int64_t ms)
{
	return Outbox::TimePoint(std::chrono::duration_cast<Outbox::TimePoint::duration>(
		std::chrono::milliseconds(ms)));
}

std::string aad(const std::string &event_id, const std::string &topic)
{
	return "lethe-outbox-v1\n" + event_id + "\n" + topic;
}

/// A prepared statement, finalised on scope exit.
class Stmt
{
public:
	Stmt(sqlite3 *db, const char *sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
	~Stmt() { sqlite3_finalize(s_); }
	Stmt(const Stmt &) = delete;
	Stmt &operator=(const Stmt &) = delete;
	[[nodiscard]] bool ok() const { return rc_ == SQLITE_OK; }
	sqlite3_stmt *get() { return s_; }

private:
	sqlite3_stmt *s_ = nullptr;
	int rc_ = SQLITE_ERROR;
};

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
	const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return make_error(-errno, "cannot create outbox key file " + file.string());
	const bool written = ::write(fd, k->key_.data(), k->key_.size()) ==
			     static_cast<ssize_t>(k->key_.size());
	const bool synced = ::fsync(fd) == 0;
	::close(fd);
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
	const int rc = sqlite3_open_v2(path.c_str(), &o->db_,
				       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					       SQLITE_OPEN_FULLMUTEX,
				       nullptr);
	if (rc != SQLITE_OK)
		return make_error(-EIO, "cannot open outbox " + path.string() + ": " +
						(o->db_ ? sqlite3_errmsg(o->db_) : "out of memory"));
	::chmod(path.c_str(), 0600);
	sqlite3_busy_timeout(o->db_, 5000);
	for (const char *sql : {"PRAGMA secure_delete=ON", "PRAGMA journal_mode=WAL",
				"PRAGMA synchronous=FULL",
				"CREATE TABLE IF NOT EXISTS outbox ("
				" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
				" event_id TEXT NOT NULL, topic TEXT NOT NULL,"
				" epoch INTEGER NOT NULL, sealed BLOB NOT NULL,"
				" created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
				" UNIQUE(event_id, topic))"}) {
		if (auto s = o->exec(sql); !s)
			return s.error();
	}
	return o;
}

Outbox::~Outbox()
{
	if (db_) {
		sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
		sqlite3_close(db_);
	}
}

Status Outbox::exec(const char *sql)
{
	char *err = nullptr;
	if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
		std::string m = err ? err : "unknown";
		sqlite3_free(err);
		return make_error(-EIO, std::string("outbox: ") + m);
	}
	return {};
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
	Stmt st(db_, "INSERT OR IGNORE INTO outbox(event_id, topic, epoch, sealed, created_ms,"
		     " expires_ms) VALUES(?,?,?,?,?,?)");
	if (!st.ok())
		return make_error(-EIO, std::string("outbox: ") + sqlite3_errmsg(db_));
	sqlite3_bind_text(st.get(), 1, event_id.c_str(), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st.get(), 2, topic.c_str(), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st.get(), 3, static_cast<sqlite3_int64>(key->first));
	sqlite3_bind_blob(st.get(), 4, sealed->data(), static_cast<int>(sealed->size()),
			  SQLITE_TRANSIENT);
	sqlite3_bind_int64(st.get(), 5, to_ms(now));
	sqlite3_bind_int64(st.get(), 6, to_ms(now + retention));
	if (sqlite3_step(st.get()) != SQLITE_DONE)
		return make_error(-EIO, std::string("outbox insert: ") + sqlite3_errmsg(db_));
	return {};
}

Result<std::vector<Outbox::Item>>
Outbox::peek(std::size_t max, TimePoint now,
	     const std::vector<std::pair<std::string, std::string>> &skip)
{
	std::vector<Item> items;
	std::vector<std::int64_t> undecryptable;
	std::lock_guard lock(mutex_);
	{
		Stmt st(db_, "SELECT seq, event_id, topic, epoch, sealed, created_ms, expires_ms"
			     " FROM outbox WHERE expires_ms > ? ORDER BY seq");
		if (!st.ok())
			return make_error(-EIO, std::string("outbox: ") + sqlite3_errmsg(db_));
		sqlite3_bind_int64(st.get(), 1, to_ms(now));
		while (items.size() < max && sqlite3_step(st.get()) == SQLITE_ROW) {
			Item it;
			const auto seq = sqlite3_column_int64(st.get(), 0);
			it.event_id = reinterpret_cast<const char *>(sqlite3_column_text(st.get(), 1));
			it.topic = reinterpret_cast<const char *>(sqlite3_column_text(st.get(), 2));
			bool skipped = false;
			for (const auto &[e, t] : skip)
				skipped = skipped || (e == it.event_id && t == it.topic);
			if (skipped)
				continue;
			const auto epoch = static_cast<std::uint64_t>(sqlite3_column_int64(st.get(), 3));
			const auto *blob = static_cast<const std::uint8_t *>(sqlite3_column_blob(st.get(), 4));
			const crypto::Bytes sealed(blob, blob + sqlite3_column_bytes(st.get(), 4));
			it.created = from_ms(sqlite3_column_int64(st.get(), 5));
			it.expires = from_ms(sqlite3_column_int64(st.get(), 6));
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
		Stmt del(db_, "DELETE FROM outbox WHERE seq = ?");
		sqlite3_bind_int64(del.get(), 1, seq);
		(void)sqlite3_step(del.get());
	}
	return items;
}

Status Outbox::remove(const std::string &event_id, const std::string &topic)
{
	std::lock_guard lock(mutex_);
	Stmt st(db_, "DELETE FROM outbox WHERE event_id = ? AND topic = ?");
	if (!st.ok())
		return make_error(-EIO, std::string("outbox: ") + sqlite3_errmsg(db_));
	sqlite3_bind_text(st.get(), 1, event_id.c_str(), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st.get(), 2, topic.c_str(), -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st.get()) != SQLITE_DONE)
		return make_error(-EIO, std::string("outbox delete: ") + sqlite3_errmsg(db_));
	return {};
}

Result<std::size_t> Outbox::purge_expired(TimePoint now)
{
	std::lock_guard lock(mutex_);
	Stmt st(db_, "DELETE FROM outbox WHERE expires_ms <= ?");
	if (!st.ok())
		return make_error(-EIO, std::string("outbox: ") + sqlite3_errmsg(db_));
	sqlite3_bind_int64(st.get(), 1, to_ms(now));
	if (sqlite3_step(st.get()) != SQLITE_DONE)
		return make_error(-EIO, std::string("outbox purge: ") + sqlite3_errmsg(db_));
	const auto n = static_cast<std::size_t>(sqlite3_changes(db_));
	if (n > 0)
		sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
	return n;
}

std::size_t Outbox::depth() const
{
	std::lock_guard lock(mutex_);
	Stmt st(db_, "SELECT COUNT(*) FROM outbox");
	if (!st.ok() || sqlite3_step(st.get()) != SQLITE_ROW)
		return 0;
	return static_cast<std::size_t>(sqlite3_column_int64(st.get(), 0));
}

} // namespace lethe::publish
