// SPDX-License-Identifier: GPL-3.0-or-later
// RAII SQLite wrapper: secure_delete, WAL, prepared statements, fail-closed errors.
//
// Every database Lethe keeps goes through this class so that the privacy-relevant pragmas are
// never forgotten: secure_delete=ON (deleted content is overwritten with zeros, also in the
// freelist), journal_mode=WAL (readers such as `lethe retention report` never block the daemon),
// synchronous=FULL by default (a purge that returned is durable: it survives a power cut, so a
// reboot can never resurrect a deleted row; NORMAL is allowed for high-rate, low-value tables
// and documented in docs/storage.md), foreign_keys=ON, a busy timeout, and
// checkpoint_truncate() to fold the WAL back into the database and truncate it to zero bytes
// after a purge (the WAL otherwise keeps old page images of deleted rows).
//
// Errors are Result/Status with a negative errno: -ENOSPC for a full disk or file size limit
// (SQLITE_FULL, or a write that failed with ENOSPC/EFBIG), -EBUSY, -EIO, -EINVAL (SQL errors).
// A failed write leaves the transaction rolled back: storage fails closed, never half-written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lethe/common/crypto.h"
#include "lethe/common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace lethe::store {

class Database;

/// A prepared statement. Move-only; finalised on destruction. Bind indexes start at 1,
/// column indexes at 0 (as in SQLite).
class Statement
{
public:
	Statement() = default;
	~Statement();
	Statement(Statement &&other) noexcept;
	Statement &operator=(Statement &&other) noexcept;
	Statement(const Statement &) = delete;
	Statement &operator=(const Statement &) = delete;

	Statement &bind(int index, std::int64_t value);
	Statement &bind(int index, double value);
	/// Text is copied by SQLite (SQLITE_TRANSIENT).
	Statement &bind(int index, std::string_view text);
	Statement &bind_blob(int index, const void *data, std::size_t size);
	Statement &bind_blob(int index, const crypto::Bytes &blob)
	{
		return bind_blob(index, blob.data(), blob.size());
	}
	Statement &bind_null(int index);

	/// Advance: true if a row is available, false when done; an error otherwise.
	[[nodiscard]] Result<bool> step();
	/// Step until done (for INSERT/UPDATE/DELETE), then reset for reuse.
	[[nodiscard]] Status run();
	/// Reset for re-execution and clear the bindings.
	void reset();

	[[nodiscard]] bool is_null(int column) const;
	[[nodiscard]] std::int64_t column_int64(int column) const;
	[[nodiscard]] double column_double(int column) const;
	[[nodiscard]] std::string column_text(int column) const;
	[[nodiscard]] crypto::Bytes column_blob(int column) const;

private:
	friend class Database;
	Statement(Database *db, sqlite3_stmt *stmt) : db_(db), stmt_(stmt) {}

	Database *db_ = nullptr;
	sqlite3_stmt *stmt_ = nullptr;
	int bind_error_ = 0;
};

class Database
{
public:
	enum class Sync {
		Full,   ///< fsync the WAL at every commit: a committed purge survives power loss
		Normal, ///< fsync only at checkpoints: faster; the last commits may roll back
	};

	struct Options {
		Sync sync = Sync::Full;
		int busy_timeout_ms = 5000;
		bool read_only = false;
		/// Hard cap on the database size in pages (0 = SQLite default). Inserting beyond it
		/// fails with -ENOSPC, like a full disk.
		std::int64_t max_page_count = 0;
	};

	/// Open (creating if needed, unless read_only) and apply the pragmas.
	[[nodiscard]] static Result<std::unique_ptr<Database>> open(const std::filesystem::path &path,
								  const Options &options);
	[[nodiscard]] static Result<std::unique_ptr<Database>> open(const std::filesystem::path &path)
	{
		return open(path, Options{});
	}

	~Database();
	Database(const Database &) = delete;
	Database &operator=(const Database &) = delete;

	/// Run one or more SQL statements without results.
	[[nodiscard]] Status exec(std::string_view sql);
	[[nodiscard]] Result<Statement> prepare(std::string_view sql);

	/// Checkpoint the WAL into the database and truncate the WAL file to zero bytes.
	/// -EBUSY if a reader still holds an old snapshot (retry later).
	[[nodiscard]] Status checkpoint_truncate();
	/// Same, waiting at most max_wait_ms for readers (instead of the busy timeout).
	[[nodiscard]] Status checkpoint_truncate(int max_wait_ms);

	/// Explicit transactions. Prefer Transaction (RAII) below.
	[[nodiscard]] Status begin();
	[[nodiscard]] Status commit();
	void rollback();

	[[nodiscard]] std::int64_t last_insert_rowid() const;
	[[nodiscard]] std::int64_t changes() const;
	[[nodiscard]] const std::filesystem::path &path() const { return path_; }
	[[nodiscard]] sqlite3 *handle() { return db_; }

	/// Map the last SQLite error (rc) to an Error with a clear message ("disk full ...").
	[[nodiscard]] Error error(int rc, std::string_view what) const;

private:
	Database(sqlite3 *db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}

	sqlite3 *db_ = nullptr;
	std::filesystem::path path_;
	int busy_timeout_ms_ = 5000;
};

/// RAII transaction: rolls back unless commit() succeeded.
class Transaction
{
public:
	explicit Transaction(Database &db) : db_(db) {}
	~Transaction()
	{
		if (active_)
			db_.rollback();
	}
	Transaction(const Transaction &) = delete;
	Transaction &operator=(const Transaction &) = delete;

	[[nodiscard]] Status begin()
	{
		Status s = db_.begin();
		active_ = s.ok();
		return s;
	}
	[[nodiscard]] Status commit()
	{
		Status s = db_.commit();
		if (!s.ok())
			db_.rollback();
		active_ = false;
		return s;
	}

private:
	Database &db_;
	bool active_ = false;
};

} // namespace lethe::store
