// SPDX-License-Identifier: GPL-3.0-or-later
// Retention core: digests of non-hits, sealed hits, deadline purge and crypto-erase.
#include "lethe/retention/retention.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "lethe/common/log.h"
#include "lethe/common/unique_fd.h"
#include "lethe/common/uuid.h"

namespace lethe::retention {
namespace {

namespace fs = std::filesystem;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

/// 2: digest_epoch.form (1: one digest per plate per epoch; 2: per 10-minute window).
constexpr int kSchemaVersion = 2;
/// The digest form new epochs are written in (digest.h).
constexpr std::int64_t kDigestForm = 2;

std::int64_t to_ms(WallTime t)
{
	return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

WallTime from_ms(std::int64_t ms)
{
	return WallTime{milliseconds{ms}};
}

std::int64_t to_ms(seconds s)
{
	return s.count() * 1000;
}

const char *table_of(DataClass c)
{
	switch (c) {
	case DataClass::NonhitDigest:
		return "nonhit_digest";
	case DataClass::HitRecord:
		return "hit_record";
	case DataClass::HitImage:
		return "hit_image";
	}
	return "";
}

std::string_view purpose_of(DataClass c)
{
	switch (c) {
	case DataClass::NonhitDigest:
		return store::purpose::kDigest;
	case DataClass::HitRecord:
		return store::purpose::kHitRecord;
	case DataClass::HitImage:
		return store::purpose::kHitImage;
	}
	return "";
}

std::string aad_for(std::string_view kind, std::string_view event_id)
{
	return "lethe/" + std::string(kind) + "/v1|" + std::string(event_id);
}

/// Create the database file 0600 before SQLite does (its -wal/-shm inherit the mode).
Status precreate(const fs::path &path)
{
	const UniqueFD fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
	if (!fd.isValid())
		return make_error(-errno, "create " + path.string() + ": " + std::strerror(errno));
	::fchmod(fd.get(), 0600);
	return {};
}

/// Allocate the reserve file (zeros), or remove what was allocated if the disk has no room.
bool make_reserve(const fs::path &path, std::uintmax_t bytes)
{
	UniqueFD fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
	if (!fd.isValid())
		return false;
	const int rc = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes));
	fd.reset();
	if (rc != 0)
		::unlink(path.c_str());
	return rc == 0;
}

Result<std::optional<std::int64_t>> query_opt_int(store::Database &db, const std::string &sql)
{
	auto st = db.prepare(sql);
	if (!st)
		return st.error();
	auto row = st->step();
	if (!row)
		return row.error();
	if (!*row || st->is_null(0))
		return std::optional<std::int64_t>{};
	return std::optional<std::int64_t>{st->column_int64(0)};
}

} // namespace

std::string_view class_name(DataClass c)
{
	return table_of(c);
}

Retention::Retention(Config config, std::unique_ptr<store::Database> db,
		     std::unique_ptr<store::KeyStore> owned_keys, store::KeyStore *keys,
		     WallTime high_water)
	: config_(std::move(config)), db_(std::move(db)), owned_keys_(std::move(owned_keys)),
	  keys_(keys), time_(*config_.clock, high_water)
{
}

Result<std::unique_ptr<Retention>> Retention::create(const Config &config_in,
						     const policy::Policy &policy)
{
	Config config = config_in;
	if (!config.clock)
		config.clock = &SystemClock::instance();
	if (config.state_dir.empty())
		return make_error(-EINVAL, "retention: no state directory");
	std::error_code ec;
	fs::create_directories(config.state_dir, ec);
	if (ec)
		return make_error(-ec.value(), "create " + config.state_dir.string() + ": " +
						       ec.message());

	std::unique_ptr<store::KeyStore> owned;
	store::KeyStore *keys = config.keys;
	if (!keys) {
		auto ks = store::KeyStore::open(config.state_dir, config.key_mode);
		if (!ks)
			return ks.error();
		owned = std::move(*ks);
		keys = owned.get();
	}
	config.key_mode = keys->mode();

	const fs::path path = config.state_dir / std::string(kDatabaseName);
	if (Status s = precreate(path); !s)
		return s.error();
	store::Database::Options opts;
	opts.sync = config.sync;
	auto db = store::Database::open(path, opts);
	if (!db)
		return db.error();

	// The high-water mark must be read before the ratchet starts.
	WallTime hwm{};
	{
		auto exists = query_opt_int(**db, "SELECT count(*) FROM sqlite_master WHERE "
						  "name = 'meta'");
		if (!exists)
			return exists.error();
		if (exists->value_or(0) > 0) {
			auto v = query_opt_int(**db, "SELECT CAST(value AS INTEGER) FROM meta WHERE "
						     "key = 'high_water_ms'");
			if (!v)
				return v.error();
			hwm = from_ms(v->value_or(0));
		}
	}

	std::unique_ptr<Retention> r(
		new Retention(config, std::move(*db), std::move(owned), keys, hwm));
	if (Status s = r->init_schema(); !s)
		return s.error();

	const auto setback = r->time_.startup_setback();
	if (setback > seconds{1}) {
		LOG(Retention, Warning) << "wall clock is " << setback.count() / 1000
					<< " s behind the last retention time this device recorded; "
					   "deadlines use the later time";
		auto st = r->db_->prepare(
			"INSERT INTO meta(key, value) VALUES('clock_setback_ms', ?1) ON CONFLICT(key) "
			"DO UPDATE SET value = max(CAST(value AS INTEGER), ?1)");
		if (!st)
			return st.error();
		if (Status s = st->bind(1, static_cast<std::int64_t>(setback.count())).run(); !s)
			return s.error();
	}
	Status installed = r->set_policy(policy);
	if (!installed && installed.error().code == -ENOSPC) {
		// Started on a full disk: the policy must be in place for the start-up purge.
		std::lock_guard<std::mutex> lock(r->mutex_);
		if (r->release_reserve_locked())
			installed = r->persist_policy_locked();
	}
	if (!installed)
		return installed.error();
	// Start-up purge: a crash or a reboot never extends retention.
	auto purged = r->purge();
	if (!purged)
		return purged.error();
	r->startup_purge_ = *purged;
	if (purged->total() || purged->keys_destroyed) {
		LOG(Retention, Info) << "start-up purge: " << purged->purged[0] << " digests, "
				     << purged->purged[1] << " hit records, " << purged->purged[2]
				     << " hit images, " << purged->keys_destroyed << " keys";
	}
	return r;
}

Retention::~Retention()
{
	std::lock_guard<std::mutex> lock(mutex_);
	flush_counters_locked();
	(void)write_high_water_locked(time_.now(), true);
	(void)db_->checkpoint_truncate();
}

Status Retention::init_schema()
{
	static constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS digest_epoch(
	epoch INTEGER PRIMARY KEY, log2_n INTEGER NOT NULL, r INTEGER NOT NULL,
	p INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
	form INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS nonhit_digest(
	id INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, digest BLOB NOT NULL,
	camera TEXT NOT NULL, seen_ms INTEGER NOT NULL, deadline_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS nonhit_digest_by_digest ON nonhit_digest(digest);
CREATE INDEX IF NOT EXISTS nonhit_digest_by_deadline ON nonhit_digest(deadline_ms);
CREATE INDEX IF NOT EXISTS nonhit_digest_by_seen ON nonhit_digest(seen_ms);
CREATE INDEX IF NOT EXISTS nonhit_digest_by_epoch ON nonhit_digest(epoch);
CREATE TABLE IF NOT EXISTS hit_record(
	id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, epoch INTEGER NOT NULL,
	camera TEXT NOT NULL, seen_ms INTEGER NOT NULL, deadline_ms INTEGER NOT NULL,
	sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS hit_record_by_deadline ON hit_record(deadline_ms);
CREATE INDEX IF NOT EXISTS hit_record_by_seen ON hit_record(seen_ms);
CREATE INDEX IF NOT EXISTS hit_record_by_epoch ON hit_record(epoch);
CREATE TABLE IF NOT EXISTS hit_image(
	id INTEGER PRIMARY KEY,
	hit_id INTEGER NOT NULL UNIQUE REFERENCES hit_record(id) ON DELETE CASCADE,
	epoch INTEGER NOT NULL, seen_ms INTEGER NOT NULL, deadline_ms INTEGER NOT NULL,
	sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS hit_image_by_deadline ON hit_image(deadline_ms);
CREATE INDEX IF NOT EXISTS hit_image_by_seen ON hit_image(seen_ms);
CREATE INDEX IF NOT EXISTS hit_image_by_epoch ON hit_image(epoch);
CREATE TABLE IF NOT EXISTS class_stats(
	class TEXT PRIMARY KEY, purged INTEGER NOT NULL DEFAULT 0,
	not_stored INTEGER NOT NULL DEFAULT 0, longest_ms INTEGER NOT NULL DEFAULT 0,
	last_purge_ms INTEGER) WITHOUT ROWID;
INSERT OR IGNORE INTO class_stats(class) VALUES
	('nonhit_digest'), ('hit_record'), ('hit_image');
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '2');
)sql";
	store::Transaction tx(*db_);
	if (Status s = tx.begin(); !s)
		return s;
	// A version 1 database (whose digest_epoch has no form column) is migrated first:
	// its epochs keep form 1, and are read as such until they expire.
	auto old = query_opt_int(*db_, "SELECT count(*) FROM sqlite_master WHERE name = 'meta'");
	if (!old)
		return old.error();
	if (old->value_or(0) > 0) {
		auto v1 = query_opt_int(*db_, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = "
					      "'schema_version'");
		if (!v1)
			return v1.error();
		if (v1->value_or(0) == 1)
			if (Status s = db_->exec("ALTER TABLE digest_epoch ADD COLUMN form INTEGER NOT "
						 "NULL DEFAULT 1; UPDATE meta SET value = '2' WHERE "
						 "key = 'schema_version';");
			    !s)
				return s;
	}
	if (Status s = db_->exec(kSchema); !s)
		return s;
	auto v = query_opt_int(*db_, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = "
				     "'schema_version'");
	if (!v)
		return v.error();
	if (v->value_or(0) != kSchemaVersion)
		return make_error(-EPROTO, "retention database schema version " +
						   std::to_string(v->value_or(0)) + " not supported");
	auto st = db_->prepare("INSERT INTO meta(key, value) VALUES('key_mode', ?1) "
			       "ON CONFLICT(key) DO UPDATE SET value = ?1");
	if (!st)
		return st.error();
	if (Status s = st->bind(1, store::key_mode_name(keys_->mode())).run(); !s)
		return s;
	return tx.commit();
}

Status Retention::set_policy(const policy::Policy &policy)
{
	std::lock_guard<std::mutex> lock(mutex_);
	policy_ = policy;
	if (policy_.retention.key_rotation.count() <= 0)
		policy_.retention.key_rotation = seconds{60};
	return persist_policy_locked();
}

policy::Policy Retention::policy() const
{
	std::lock_guard<std::mutex> lock(mutex_);
	return policy_;
}

Status Retention::persist_policy_locked()
{
	const auto &r = policy_.retention;
	nlohmann::json j = {
		{"id", policy_.id},
		{"version", policy_.version},
		{"hash", policy_.hash},
		{"issuer", policy_.issuer},
		{"jurisdiction", policy_.jurisdiction},
		{"retro_hit_queries", policy_.retro_hit_queries},
		{"retention_s",
		 {{"nonhit_digest", r.nonhit_digest.count()},
		  {"hit_record", r.hit_record.count()},
		  {"hit_image", r.hit_image.count()},
		  {"outbox", r.outbox.count()},
		  {"audit_log", r.audit_log.count()},
		  {"key_rotation", r.key_rotation.count()}}},
	};
	auto st = db_->prepare("INSERT INTO meta(key, value) VALUES('policy', ?1) "
			       "ON CONFLICT(key) DO UPDATE SET value = ?1");
	if (!st)
		return st.error();
	return st->bind(1, j.dump()).run();
}

seconds Retention::retention_of(DataClass c) const
{
	const auto &r = policy_.retention;
	switch (c) {
	case DataClass::NonhitDigest:
		return std::max(seconds{0}, r.nonhit_digest);
	case DataClass::HitRecord:
		return std::max(seconds{0}, r.hit_record);
	case DataClass::HitImage:
		// An image never outlives its record.
		return std::max(seconds{0}, std::min(r.hit_image, r.hit_record));
	}
	return seconds{0};
}

WallTime Retention::now()
{
	return time_.now();
}

Status Retention::write_high_water_locked(WallTime now, bool force)
{
	if (!force && now - high_water_written_ < config_.high_water_interval)
		return {};
	auto st = db_->prepare("INSERT INTO meta(key, value) VALUES('high_water_ms', ?1) "
			       "ON CONFLICT(key) DO UPDATE SET value = "
			       "max(CAST(value AS INTEGER), ?1)");
	if (!st)
		return st.error();
	if (Status s = st->bind(1, to_ms(now)).run(); !s)
		return s;
	high_water_written_ = now;
	return {};
}

void Retention::flush_counters_locked()
{
	for (DataClass c : kDataClasses) {
		const auto i = static_cast<std::size_t>(c);
		if (!not_stored_[i])
			continue;
		auto st = db_->prepare(
			"UPDATE class_stats SET not_stored = not_stored + ?1 WHERE class = ?2");
		if (st && st->bind(1, not_stored_[i]).bind(2, class_name(c)).run())
			not_stored_[i] = 0;
	}
	auto st = db_->prepare("INSERT INTO meta(key, value) VALUES('nonhit_plaintext_max_us', ?1) "
			       "ON CONFLICT(key) DO UPDATE SET value = "
			       "max(CAST(value AS INTEGER), ?1)");
	if (st)
		(void)st->bind(1, plaintext_max_us_).run();
}

Status Retention::record_nonhit(NonHit &read)
{
	const auto t0 = std::chrono::steady_clock::now();
	Status result = [&]() -> Status {
		std::lock_guard<std::mutex> lock(mutex_);
		const auto kept = retention_of(DataClass::NonhitDigest);
		crypto::SecretBytes norm = normalise_plate(read.plate);
		if (kept.count() == 0 || norm.empty()) {
			// Retention 0: nothing about this read is ever written.
			++not_stored_[static_cast<std::size_t>(DataClass::NonhitDigest)];
			return {};
		}
		const WallTime now = time_.now();
		auto key = keys_->current(store::purpose::kDigest, now,
					  policy_.retention.key_rotation);
		if (!key)
			return key.error();
		auto stretched = plate_stretch(key->key, norm, config_.digest);
		if (!stretched)
			return stretched.error();

		store::Transaction tx(*db_);
		if (Status s = tx.begin(); !s)
			return s;
		auto ep = db_->prepare("INSERT OR IGNORE INTO digest_epoch(epoch, log2_n, r, p, "
				       "start_ms, end_ms, form) VALUES(?,?,?,?,?,?,?)");
		if (!ep)
			return ep.error();
		if (Status s = ep->bind(1, static_cast<std::int64_t>(key->info.epoch))
				       .bind(2, static_cast<std::int64_t>(config_.digest.log2_n))
				       .bind(3, static_cast<std::int64_t>(config_.digest.r))
				       .bind(4, static_cast<std::int64_t>(config_.digest.p))
				       .bind(5, to_ms(key->info.start))
				       .bind(6, to_ms(key->info.end()))
				       .bind(7, kDigestForm)
				       .run();
		    !s)
			return s;
		// An epoch begun before an upgrade keeps the form (and parameters) it began with.
		auto form = query_opt_int(*db_, "SELECT form FROM digest_epoch WHERE epoch = " +
							std::to_string(key->info.epoch));
		if (!form)
			return form.error();
		const crypto::Bytes digest = form->value_or(kDigestForm) == 1
						     ? epoch_digest(key->key, *stretched)
						     : window_digest(key->key, *stretched,
								     digest_window(to_ms(now)));
		auto ins = db_->prepare("INSERT INTO nonhit_digest(epoch, digest, camera, seen_ms, "
					"deadline_ms) VALUES(?,?,?,?,?)");
		if (!ins)
			return ins.error();
		if (Status s = ins->bind(1, static_cast<std::int64_t>(key->info.epoch))
				       .bind_blob(2, digest)
				       .bind(3, read.camera)
				       .bind(4, to_ms(now))
				       .bind(5, to_ms(now + kept))
				       .run();
		    !s)
			return s;
		if (Status s = write_high_water_locked(now, false); !s)
			return s;
		return tx.commit();
	}();

	crypto::wipe(read.plate);
	crypto::wipe(read.crop.data(), read.crop.size());
	crypto::wipe(read.frame.data(), read.frame.size());
	const auto us = duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
				.count();
	{
		std::lock_guard<std::mutex> lock(mutex_);
		plaintext_max_us_ = std::max<std::int64_t>(plaintext_max_us_, us);
	}
	if (!result) {
		LOG(Retention, Error) << "non-hit not recorded (dropped): " << result.error().message;
	}
	return result;
}

Result<std::int64_t> Retention::record_hit(const Hit &hit_in)
{
	std::lock_guard<std::mutex> lock(mutex_);
	const auto kept = retention_of(DataClass::HitRecord);
	if (kept.count() == 0) {
		++not_stored_[static_cast<std::size_t>(DataClass::HitRecord)];
		if (!hit_in.image.empty())
			++not_stored_[static_cast<std::size_t>(DataClass::HitImage)];
		return std::int64_t{0};
	}
	std::string event_id = hit_in.event_id;
	if (event_id.empty()) {
		auto id = new_uuid4();
		if (!id)
			return id.error();
		event_id = std::move(id).value();
	}
	const WallTime now = time_.now();
	// The record's time is the sighting's, and its retention runs from there (purge() counts
	// from seen_ms as well), never from a time later than now.
	const WallTime seen = hit_in.seen == WallTime{} || hit_in.seen > now ? now : hit_in.seen;
	const auto rotation = policy_.retention.key_rotation;

	std::string payload = nlohmann::json{{"event_id", event_id},
					     {"plate", hit_in.plate},
					     {"region", hit_in.region},
					     {"confidence", hit_in.confidence},
					     {"list_id", hit_in.list_id},
					     {"category", hit_in.category},
					     {"match_type", hit_in.match_type}}
				      .dump();
	auto rec = keys_->seal(store::purpose::kHitRecord, now, rotation, payload.data(),
			       payload.size(), aad_for("hit-record", event_id));
	crypto::wipe(payload);
	if (!rec)
		return rec.error();

	const auto image_kept = retention_of(DataClass::HitImage);
	std::optional<store::KeyStore::Sealed> img;
	if (!hit_in.image.empty()) {
		if (image_kept.count() == 0) {
			++not_stored_[static_cast<std::size_t>(DataClass::HitImage)];
		} else {
			auto s = keys_->seal(store::purpose::kHitImage, now, rotation,
					     hit_in.image.data(), hit_in.image.size(),
					     aad_for("hit-image", event_id));
			if (!s)
				return s.error();
			img = std::move(*s);
		}
	}

	// A hit record is worth an fsync of its own even when digests are written NORMAL.
	const bool relax = config_.sync == store::Database::Sync::Normal;
	if (relax) {
		if (Status s = db_->exec("PRAGMA synchronous=FULL"); !s)
			return s.error();
	}
	struct Restore {
		store::Database &db;
		bool on;
		~Restore()
		{
			if (on)
				(void)db.exec("PRAGMA synchronous=NORMAL");
		}
	} restore{*db_, relax};

	store::Transaction tx(*db_);
	if (Status s = tx.begin(); !s)
		return s.error();
	auto ins = db_->prepare("INSERT INTO hit_record(event_id, epoch, camera, seen_ms, "
				"deadline_ms, sealed) VALUES(?,?,?,?,?,?)");
	if (!ins)
		return ins.error();
	if (Status s = ins->bind(1, event_id)
			       .bind(2, static_cast<std::int64_t>(rec->epoch))
			       .bind(3, hit_in.camera)
			       .bind(4, to_ms(seen))
			       .bind(5, to_ms(seen + kept))
			       .bind_blob(6, rec->sealed)
			       .run();
	    !s)
		return s.error();
	const std::int64_t id = db_->last_insert_rowid();
	if (img) {
		auto ii = db_->prepare("INSERT INTO hit_image(hit_id, epoch, seen_ms, deadline_ms, "
				       "sealed) VALUES(?,?,?,?,?)");
		if (!ii)
			return ii.error();
		if (Status s = ii->bind(1, id)
				       .bind(2, static_cast<std::int64_t>(img->epoch))
				       .bind(3, to_ms(seen))
				       .bind(4, to_ms(seen + image_kept))
				       .bind_blob(5, img->sealed)
				       .run();
		    !s)
			return s.error();
	}
	if (Status s = write_high_water_locked(now, false); !s)
		return s.error();
	if (Status s = tx.commit(); !s)
		return s.error();
	return id;
}

Result<std::vector<Sighting>> Retention::find_digest(std::string_view plate, WallTime since)
{
	auto found = find_digests({plate}, since);
	if (!found)
		return found.error();
	return std::move(found->front());
}

Result<std::vector<std::vector<Sighting>>>
Retention::find_digests(const std::vector<std::string_view> &plates, WallTime since)
{
	std::lock_guard<std::mutex> lock(mutex_);
	if (!policy_.retro_hit_queries)
		return make_error(-EPERM, "the policy in force (" + policy_.id +
						  ") does not allow retro-hit queries");
	std::vector<std::vector<Sighting>> out(plates.size());
	if (retention_of(DataClass::NonhitDigest).count() == 0)
		return out;
	std::vector<crypto::SecretBytes> norms;
	norms.reserve(plates.size());
	for (const auto plate : plates)
		norms.push_back(normalise_plate(plate));
	const WallTime now = time_.now();
	auto params = db_->prepare("SELECT log2_n, r, p, form FROM digest_epoch WHERE epoch = ?");
	// Form 2: the windows of this epoch that hold rows in range (one scan per epoch, shared
	// by every plate asked for); only those need a digest and a probe.
	auto windows = db_->prepare("SELECT DISTINCT seen_ms / ? FROM nonhit_digest WHERE epoch = ? "
				    "AND seen_ms >= ? AND deadline_ms > ?");
	auto find = db_->prepare("SELECT camera, seen_ms FROM nonhit_digest WHERE digest = ? AND "
				 "epoch = ? AND seen_ms >= ? AND deadline_ms > ? ORDER BY seen_ms");
	if (!params)
		return params.error();
	if (!windows)
		return windows.error();
	if (!find)
		return find.error();
	for (const auto &info : keys_->epochs(store::purpose::kDigest)) {
		if (info.end() <= since)
			continue;
		auto key = keys_->get(store::purpose::kDigest, info.epoch);
		if (!key)
			continue;
		DigestParams dp = config_.digest;
		params->bind(1, static_cast<std::int64_t>(info.epoch));
		auto row = params->step();
		if (!row)
			return row.error();
		if (!*row) { // no digest was ever written in this epoch
			params->reset();
			continue;
		}
		dp.log2_n = static_cast<unsigned>(params->column_int64(0));
		dp.r = static_cast<unsigned>(params->column_int64(1));
		dp.p = static_cast<unsigned>(params->column_int64(2));
		const std::int64_t form = params->column_int64(3);
		params->reset();

		std::vector<std::int64_t> ws;
		if (form != 1) {
			windows->bind(1, static_cast<std::int64_t>(kDigestWindow.count()))
				.bind(2, static_cast<std::int64_t>(info.epoch))
				.bind(3, to_ms(since))
				.bind(4, to_ms(now));
			for (;;) {
				auto r = windows->step();
				if (!r)
					return r.error();
				if (!*r)
					break;
				ws.push_back(windows->column_int64(0));
			}
			windows->reset();
			if (ws.empty())
				continue; // nothing in range: no scrypt spent on this epoch
		}
		for (std::size_t i = 0; i < norms.size(); ++i) {
			if (norms[i].empty())
				continue;
			auto stretched = plate_stretch(key->key, norms[i], dp);
			if (!stretched)
				return stretched.error();
			std::vector<crypto::Bytes> digests;
			if (form == 1)
				digests.push_back(epoch_digest(key->key, *stretched));
			else
				for (const auto w : ws)
					digests.push_back(window_digest(key->key, *stretched, w));
			for (const auto &digest : digests) {
				find->bind_blob(1, digest)
					.bind(2, static_cast<std::int64_t>(info.epoch))
					.bind(3, to_ms(since))
					.bind(4, to_ms(now));
				for (;;) {
					auto r = find->step();
					if (!r)
						return r.error();
					if (!*r)
						break;
					out[i].push_back(Sighting{find->column_text(0),
								  from_ms(find->column_int64(1))});
				}
				find->reset();
			}
		}
	}
	for (auto &v : out)
		std::sort(v.begin(), v.end(),
			  [](const Sighting &a, const Sighting &b) { return a.seen < b.seen; });
	return out;
}

Result<std::vector<StoredHit>> Retention::hits(WallTime since)
{
	std::lock_guard<std::mutex> lock(mutex_);
	const WallTime now = time_.now();
	auto st = db_->prepare(
		"SELECT r.id, r.event_id, r.epoch, r.camera, r.seen_ms, r.deadline_ms, r.sealed, "
		"EXISTS(SELECT 1 FROM hit_image i WHERE i.hit_id = r.id) FROM hit_record r "
		"WHERE r.seen_ms >= ? AND r.deadline_ms > ? ORDER BY r.seen_ms");
	if (!st)
		return st.error();
	st->bind(1, to_ms(since)).bind(2, to_ms(now));
	std::vector<StoredHit> out;
	for (;;) {
		auto row = st->step();
		if (!row)
			return row.error();
		if (!*row)
			break;
		StoredHit h;
		h.id = st->column_int64(0);
		const std::string event_id = st->column_text(1);
		const auto epoch = static_cast<std::uint64_t>(st->column_int64(2));
		h.hit.camera = st->column_text(3);
		h.seen = from_ms(st->column_int64(4));
		h.deadline = from_ms(st->column_int64(5));
		h.has_image = st->column_int64(7) != 0;
		auto plain = keys_->open_sealed(store::purpose::kHitRecord, epoch,
						st->column_blob(6), aad_for("hit-record", event_id));
		if (!plain)
			continue; // key destroyed: crypto-erased, purged at the next cycle
		const auto j = nlohmann::json::parse(plain->begin(), plain->end(), nullptr, false);
		if (j.is_discarded() || !j.is_object())
			continue;
		h.hit.event_id = event_id;
		h.hit.plate = j.value("plate", "");
		h.hit.region = j.value("region", "");
		h.hit.confidence = j.value("confidence", 0.0);
		h.hit.list_id = j.value("list_id", "");
		h.hit.category = j.value("category", "");
		h.hit.match_type = j.value("match_type", "");
		out.push_back(std::move(h));
	}
	return out;
}

template<typename Key>
Result<crypto::SecretBytes> Retention::hit_image_where(const char *where, const Key &key,
						       const std::string &name)
{
	std::lock_guard<std::mutex> lock(mutex_);
	const WallTime now = time_.now();
	auto st = db_->prepare(std::string("SELECT i.epoch, i.sealed, r.event_id FROM hit_image i "
					   "JOIN hit_record r ON r.id = i.hit_id WHERE ") +
			       where + " AND i.deadline_ms > ?");
	if (!st)
		return st.error();
	st->bind(1, key).bind(2, to_ms(now));
	auto row = st->step();
	if (!row)
		return row.error();
	if (!*row)
		return make_error(-ENOENT, "no image for hit " + name);
	return keys_->open_sealed(store::purpose::kHitImage,
				  static_cast<std::uint64_t>(st->column_int64(0)), st->column_blob(1),
				  aad_for("hit-image", st->column_text(2)));
}

Result<crypto::SecretBytes> Retention::hit_image(std::int64_t hit_id)
{
	return hit_image_where("i.hit_id = ?", hit_id, std::to_string(hit_id));
}

Result<crypto::SecretBytes> Retention::hit_image_of_event(std::string_view event_id)
{
	return hit_image_where("r.event_id = ?", std::string(event_id), std::string(event_id));
}

std::optional<WallTime> Retention::next_deadline()
{
	std::lock_guard<std::mutex> lock(mutex_);
	std::optional<std::int64_t> best;
	const std::int64_t now_ms = to_ms(time_.now());
	for (DataClass c : kDataClasses) {
		const std::string t = table_of(c);
		// Either the stored deadline or the current policy's (possibly shorter) one.
		auto v = query_opt_int(*db_, "SELECT min((SELECT min(deadline_ms) FROM " + t +
						     "), (SELECT min(seen_ms) FROM " + t + ") + " +
						     std::to_string(to_ms(retention_of(c))) + ")");
		if (v && v->has_value())
			best = best ? std::min(*best, **v) : **v;
	}
	// Keys expire too (epoch end + retention).
	for (DataClass c : kDataClasses) {
		for (const auto &e : keys_->epochs(purpose_of(c))) {
			const std::int64_t due = to_ms(e.end()) + to_ms(retention_of(c));
			if (due > now_ms - 1000)
				best = best ? std::min(*best, due) : due;
		}
	}
	if (!best)
		return std::nullopt;
	return from_ms(*best);
}

Result<PurgeResult> Retention::purge()
{
	std::lock_guard<std::mutex> lock(mutex_);
	return purge_with_reserve_locked();
}

Result<PurgeResult> Retention::purge_with_reserve_locked()
{
	auto r = purge_locked();
	if (!r && r.error().code == -ENOSPC && release_reserve_locked())
		r = purge_locked(); // a full disk must not extend a deadline
	if (r)
		ensure_reserve_locked();
	return r;
}

bool Retention::release_reserve_locked()
{
	const fs::path reserve = config_.state_dir / std::string(kReserveName);
	if (::unlink(reserve.c_str()) != 0)
		return false;
	LOG(Retention, Warning) << "storage full: released the " << (config_.reserve_bytes >> 10)
				<< " KiB reserved for purges; purging again";
	return true;
}

void Retention::ensure_reserve_locked()
{
	if (config_.reserve_bytes == 0)
		return;
	const fs::path reserve = config_.state_dir / std::string(kReserveName);
	struct stat st{};
	if (::stat(reserve.c_str(), &st) == 0 &&
	    static_cast<std::uintmax_t>(st.st_size) >= config_.reserve_bytes)
		return;
	// Best effort: on a still-full disk this fails and is tried again after the next purge.
	(void)make_reserve(reserve, config_.reserve_bytes);
}

Result<PurgeResult> Retention::purge_locked()
{
	PurgeResult result;
	result.now = time_.now();
	const std::int64_t now_ms = to_ms(result.now);

	// Which epochs still have keys (rows under a destroyed key are unreadable: purge them).
	std::string live[3];
	for (DataClass c : kDataClasses) {
		std::string list;
		for (const auto &e : keys_->epochs(purpose_of(c)))
			list += (list.empty() ? "" : ",") + std::to_string(e.epoch);
		live[static_cast<std::size_t>(c)] = list.empty() ? "-1" : list;
	}
	auto due_clause = [&](DataClass c, const std::string &alias) {
		const std::string a = alias.empty() ? "" : alias + ".";
		return "(" + a + "deadline_ms <= " + std::to_string(now_ms) + " OR " + a +
		       "seen_ms <= " + std::to_string(now_ms - to_ms(retention_of(c))) + " OR " + a +
		       "epoch NOT IN (" + live[static_cast<std::size_t>(c)] + "))";
	};

	// Anything due at all? (Cheap indexed queries; no write when nothing is.)
	std::int64_t due_count = 0;
	for (DataClass c : kDataClasses) {
		auto v = query_opt_int(*db_, "SELECT count(*) FROM " + std::string(table_of(c)) +
						     " WHERE " + due_clause(c, ""));
		if (!v)
			return v.error();
		due_count += v->value_or(0);
	}

	if (due_count > 0) {
		store::Transaction tx(*db_);
		if (Status s = tx.begin(); !s)
			return s.error();
		const std::string rec_due = due_clause(DataClass::HitRecord, "");
		const std::string img_due = "(" + due_clause(DataClass::HitImage, "") +
					    " OR hit_id IN (SELECT id FROM hit_record WHERE " +
					    rec_due + "))";
		const std::pair<DataClass, std::string> order[] = {
			{DataClass::HitImage, img_due},
			{DataClass::HitRecord, rec_due},
			{DataClass::NonhitDigest, due_clause(DataClass::NonhitDigest, "")},
		};
		for (const auto &[c, where] : order) {
			const std::string t = table_of(c);
			auto st = db_->prepare("SELECT count(*), max(" + std::to_string(now_ms) +
					       " - seen_ms) FROM " + t + " WHERE " + where);
			if (!st)
				return st.error();
			auto row = st->step();
			if (!row)
				return row.error();
			const std::int64_t n = st->column_int64(0);
			const std::int64_t longest = st->is_null(1) ? 0 : st->column_int64(1);
			st = store::Statement{};
			if (n == 0)
				continue;
			if (Status s = db_->exec("DELETE FROM " + t + " WHERE " + where); !s)
				return s.error();
			auto upd = db_->prepare("UPDATE class_stats SET purged = purged + ?1, "
						"longest_ms = max(longest_ms, ?2), last_purge_ms = ?3 "
						"WHERE class = ?4");
			if (!upd)
				return upd.error();
			if (Status s = upd->bind(1, n)
					       .bind(2, longest)
					       .bind(3, now_ms)
					       .bind(4, class_name(c))
					       .run();
			    !s)
				return s.error();
			result.purged[static_cast<std::size_t>(c)] = n;
		}
		flush_counters_locked();
		if (Status s = write_high_water_locked(result.now, true); !s)
			return s.error();
		if (Status s = tx.commit(); !s)
			return s.error();
		checkpoint_pending_ = true;
	} else if (result.now - high_water_written_ >= config_.high_water_interval) {
		flush_counters_locked();
		if (Status s = write_high_water_locked(result.now, true); !s)
			return s.error();
	}

	// Crypto-erase: keys whose epoch's data has all expired.
	for (DataClass c : kDataClasses) {
		const auto kept = retention_of(c);
		WallTime cutoff = result.now - kept;
		if (c == DataClass::NonhitDigest && !policy_.retro_hit_queries)
			cutoff = result.now; // nobody may link digests: the key dies with its epoch
		Result<int> n = 0;
		if (kept.count() == 0) {
			// Nothing may be kept: no key of this class may survive either.
			int count = 0;
			for (const auto &e : keys_->epochs(purpose_of(c))) {
				if (Status s = keys_->destroy_epoch(purpose_of(c), e.epoch); !s)
					return s.error();
				++count;
			}
			n = count;
		} else {
			n = keys_->destroy_ended_before(purpose_of(c), cutoff);
		}
		if (!n)
			return n.error();
		result.keys_destroyed += *n;
	}
	// Outbox keys (src/publish encrypts queued hits under purpose "outbox" in the same
	// KeyStore): everything queued in an epoch has expired by epoch end + outbox retention.
	{
		const auto kept = std::max(seconds{0}, policy_.retention.outbox);
		auto n = keys_->destroy_ended_before(store::purpose::kOutbox, result.now - kept);
		if (!n)
			return n.error();
		result.keys_destroyed += *n;
	}
	if (result.keys_destroyed) {
		// Forget the parameters of digest epochs whose key is gone.
		std::string list;
		for (const auto &e : keys_->epochs(store::purpose::kDigest))
			list += (list.empty() ? "" : ",") + std::to_string(e.epoch);
		if (Status s = db_->exec("DELETE FROM digest_epoch WHERE epoch NOT IN (" +
					 (list.empty() ? std::string("-1") : list) + ")");
		    !s)
			return s.error();
		checkpoint_pending_ = true;
	}
	if (checkpoint_pending_) {
		// Fold the zeroed pages into the database and empty the WAL. A reader holding an
		// old snapshot blocks this: do not stall the pipeline, retry next cycle.
		Status s = db_->checkpoint_truncate(200);
		if (s) {
			checkpoint_pending_ = false;
		} else if (s.error().code == -EBUSY) {
			result.wal_truncated = false;
			LOG(Retention, Warning) << "WAL not truncated yet (a reader is active); retrying";
		} else {
			return s.error();
		}
	}
	return result;
}

} // namespace lethe::retention
