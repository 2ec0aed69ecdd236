// SPDX-License-Identifier: GPL-3.0-or-later
// RAII SQLite wrapper: pragmas for privacy and durability, statements, errno-style errors.
#include "lethe/store/database.h"

#include <cerrno>
#include <cstring>

#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "lethe/common/log.h"

namespace lethe::store {
namespace {

/// SQLite reports a write that hit RLIMIT_FSIZE (EFBIG) or, sometimes, ENOSPC as a generic
/// I/O error and loses errno. Look at the storage itself: a file system with (almost) no free
/// blocks, or a database/WAL file at the process's file size limit.
bool storage_exhausted(const std::filesystem::path &db)
{
	struct statvfs vfs {};
	const auto dir = db.has_parent_path() ? db.parent_path() : std::filesystem::path(".");
	if (::statvfs(dir.c_str(), &vfs) == 0 &&
	    static_cast<unsigned long long>(vfs.f_bavail) * vfs.f_frsize < 256 * 1024)
		return true;
	rlimit lim{};
	if (::getrlimit(RLIMIT_FSIZE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
		return false;
	for (const char *suffix : {"", "-wal", "-journal"}) {
		struct stat st {};
		const std::string f = db.string() + suffix;
		if (::stat(f.c_str(), &st) == 0 &&
		    static_cast<rlim_t>(st.st_size) + 64 * 1024 >= lim.rlim_cur)
			return true;
	}
	return false;
}

} // namespace

/* ---- Statement ---- */

Statement::~Statement()
{
	if (stmt_)
		sqlite3_finalize(stmt_);
}

Statement::Statement(Statement &&other) noexcept
	: db_(other.db_), stmt_(other.stmt_), bind_error_(other.bind_error_)
{
	other.stmt_ = nullptr;
}

Statement &Statement::operator=(Statement &&other) noexcept
{
	if (this != &other) {
		if (stmt_)
			sqlite3_finalize(stmt_);
		db_ = other.db_;
		stmt_ = other.stmt_;
		bind_error_ = other.bind_error_;
		other.stmt_ = nullptr;
	}
	return *this;
}

Statement &Statement::bind(int index, std::int64_t value)
{
	const int rc = sqlite3_bind_int64(stmt_, index, value);
	if (rc != SQLITE_OK && !bind_error_)
		bind_error_ = rc;
	return *this;
}

Statement &Statement::bind(int index, double value)
{
	const int rc = sqlite3_bind_double(stmt_, index, value);
	if (rc != SQLITE_OK && !bind_error_)
		bind_error_ = rc;
	return *this;
}

Statement &Statement::bind(int index, std::string_view text)
{
	const int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
					   SQLITE_UTF8);
	if (rc != SQLITE_OK && !bind_error_)
		bind_error_ = rc;
	return *this;
}

Statement &Statement::bind_blob(int index, const void *data, std::size_t size)
{
	// A zero-length blob must still be a blob, not NULL.
	static const char empty = 0;
	const int rc = sqlite3_bind_blob64(stmt_, index, size ? data : &empty, size,
					   SQLITE_TRANSIENT);
	if (rc != SQLITE_OK && !bind_error_)
		bind_error_ = rc;
	return *this;
}

Statement &Statement::bind_null(int index)
{
	const int rc = sqlite3_bind_null(stmt_, index);
	if (rc != SQLITE_OK && !bind_error_)
		bind_error_ = rc;
	return *this;
}

Result<bool> Statement::step()
{
	if (!stmt_)
		return make_error(-EINVAL, "step on an empty statement");
	if (bind_error_) {
		const int rc = bind_error_;
		bind_error_ = 0;
		return db_->error(rc, "bind");
	}
	const int rc = sqlite3_step(stmt_);
	if (rc == SQLITE_ROW)
		return true;
	if (rc == SQLITE_DONE)
		return false;
	Error e = db_->error(rc, "step");
	sqlite3_reset(stmt_);
	return e;
}

Status Statement::run()
{
	for (;;) {
		auto r = step();
		if (!r) {
			reset();
			return r.error();
		}
		if (!*r)
			break;
	}
	reset();
	return {};
}

void Statement::reset()
{
	if (!stmt_)
		return;
	sqlite3_reset(stmt_);
	sqlite3_clear_bindings(stmt_);
	bind_error_ = 0;
}

bool Statement::is_null(int column) const
{
	return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::column_int64(int column) const
{
	return sqlite3_column_int64(stmt_, column);
}

double Statement::column_double(int column) const
{
	return sqlite3_column_double(stmt_, column);
}

std::string Statement::column_text(int column) const
{
	const auto *p = sqlite3_column_text(stmt_, column);
	const int n = sqlite3_column_bytes(stmt_, column);
	if (!p)
		return {};
	return std::string(reinterpret_cast<const char *>(p), static_cast<std::size_t>(n));
}

crypto::Bytes Statement::column_blob(int column) const
{
	const auto *p = static_cast<const std::uint8_t *>(sqlite3_column_blob(stmt_, column));
	const int n = sqlite3_column_bytes(stmt_, column);
	if (!p || n <= 0)
		return {};
	return crypto::Bytes(p, p + n);
}

/* ---- Database ---- */

Error Database::error(int rc, std::string_view what) const
{
	const int primary = rc & 0xff;
	const int sys = db_ ? sqlite3_system_errno(db_) : 0;
	std::string msg = std::string(what) + " (" + path_.string() + "): ";
	const char *detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
	// Full disk, a file size limit (RLIMIT_FSIZE -> EFBIG) or max_page_count: fail closed
	// with one clear message so the caller can alarm instead of retrying blindly.
	if (primary == SQLITE_FULL ||
	    (primary == SQLITE_IOERR && (sys == ENOSPC || sys == EFBIG || storage_exhausted(path_))))
		return make_error(-ENOSPC, msg + "storage full (disk full or file size limit): " +
						   detail + (sys ? std::string(" [") + std::strerror(sys) + "]"
								 : std::string()));
	int code = -EIO;
	switch (primary) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = -EBUSY;
		break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		code = -EACCES;
		break;
	case SQLITE_CANTOPEN:
		code = -ENOENT;
		break;
	case SQLITE_NOMEM:
		code = -ENOMEM;
		break;
	case SQLITE_CONSTRAINT:
		code = -EEXIST;
		break;
	case SQLITE_ERROR:
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
	case SQLITE_MISMATCH:
		code = -EINVAL;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = -EBADMSG;
		break;
	default:
		break;
	}
	return make_error(code, msg + detail);
}

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path &path,
						 const Options &options)
{
	sqlite3 *raw = nullptr;
	const int flags = (options.read_only ? SQLITE_OPEN_READONLY
					     : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
			  SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
	const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
	std::unique_ptr<Database> db(new Database(raw, path));
	if (rc != SQLITE_OK)
		return db->error(rc, "open");
	sqlite3_extended_result_codes(raw, 1);
	sqlite3_busy_timeout(raw, options.busy_timeout_ms);
	db->busy_timeout_ms_ = options.busy_timeout_ms;

	// secure_delete must be set on every connection; it is not persistent.
	std::string pragmas = "PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON; "
			      "PRAGMA temp_store=MEMORY;";
	if (!options.read_only) {
		pragmas += "PRAGMA journal_mode=WAL; ";
		pragmas += options.sync == Sync::Full ? "PRAGMA synchronous=FULL; "
						      : "PRAGMA synchronous=NORMAL; ";
	}
	if (options.max_page_count > 0)
		pragmas += "PRAGMA max_page_count=" + std::to_string(options.max_page_count) + ";";
	if (Status s = db->exec(pragmas); !s)
		return s.error();

	// Check the pragmas really took: a build without secure_delete support or a file system
	// that refuses WAL must not silently weaken the guarantees.
	auto check = db->prepare("PRAGMA secure_delete");
	if (!check)
		return check.error();
	if (auto row = check->step(); !row || !*row || check->column_int64(0) != 1)
		return make_error(-ENOTSUP, "open (" + path.string() + "): secure_delete unavailable");
	if (!options.read_only) {
		auto mode = db->prepare("PRAGMA journal_mode");
		if (!mode)
			return mode.error();
		if (auto row = mode->step(); !row || !*row || mode->column_text(0) != "wal")
			return make_error(-ENOTSUP, "open (" + path.string() + "): WAL unavailable");
	}
	return db;
}

Database::~Database()
{
	if (db_)
		sqlite3_close_v2(db_);
}

Status Database::exec(std::string_view sql)
{
	const std::string s(sql);
	char *err = nullptr;
	const int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
	if (err)
		sqlite3_free(err);
	if (rc != SQLITE_OK)
		return error(rc, "exec");
	return {};
}

Result<Statement> Database::prepare(std::string_view sql)
{
	sqlite3_stmt *stmt = nullptr;
	const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
					  SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
	if (rc != SQLITE_OK)
		return error(rc, "prepare");
	return Statement(this, stmt);
}

Status Database::checkpoint_truncate()
{
	int log = 0;
	int done = 0;
	const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log,
						 &done);
	if (rc != SQLITE_OK)
		return error(rc, "checkpoint");
	return {};
}

Status Database::checkpoint_truncate(int max_wait_ms)
{
	sqlite3_busy_timeout(db_, max_wait_ms);
	Status s = checkpoint_truncate();
	sqlite3_busy_timeout(db_, busy_timeout_ms_);
	return s;
}

Status Database::begin()
{
	return exec("BEGIN IMMEDIATE");
}

Status Database::commit()
{
	return exec("COMMIT");
}

void Database::rollback()
{
	if (!sqlite3_get_autocommit(db_))
		sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

std::int64_t Database::last_insert_rowid() const
{
	return sqlite3_last_insert_rowid(db_);
}

std::int64_t Database::changes() const
{
	return sqlite3_changes64(db_);
}

} // namespace lethe::store
