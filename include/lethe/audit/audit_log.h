// SPDX-License-Identifier: GPL-3.0-or-later
// Append-only, hash-chained, Ed25519-sealed audit log (STATE/audit/audit.log, JSON lines).
//
// Every record is one line of canonical JSON. Records form a chain: each carries the hash of
// the record before it ("prev") and its own hash, SHA-256 over a domain tag, the previous hash
// and the canonical serialisation of the record without its hash. Seal records carry the
// device's Ed25519 signature over the chain head; the latest seal is also kept in
// STATE/audit/audit.head and, signed, in STATE/device/audit.state, so that cutting records off
// the end is detected. A log starts with a signed genesis record; purging old records replaces
// it with a signed anchor (the hash of the last purged record) as the first line.
// Format and threat model: docs/audit.md.
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

#include <sys/types.h>

#include "lethe/audit/audit_target.h"
#include "lethe/audit/device_identity.h"
#include "lethe/common/result.h"
#include "lethe/common/utc_time.h"
#include "lethe/policy/policy.h"

namespace lethe::audit {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;
using MonoPoint = std::chrono::steady_clock::time_point;

/// One audited event: the fields of Cal. Civ. Code §1798.90.52 and CJIS 5.4.1.1
/// (mapping in docs/audit.md). Only `action` is mandatory; the log fills in the time.
struct AuditEntry {
	TimePoint time{};            ///< UTC; set by the log at append (ms precision)
	std::string actor;           ///< unix user name, or "lethed" for the daemon itself
	std::optional<std::int64_t> uid; ///< the actor's unix uid (SO_PEERCRED / getuid)
	std::string role;            ///< role_name() of the role that acted (or was refused)
	std::string organisation;    ///< agency the actor acts for
	std::string action;          ///< dotted name, e.g. "query.retro_hit", "policy.install"
	AuditTarget target;          ///< what was accessed, or the query terms
	std::string purpose;         ///< purpose code (required for queries and hit access)
	std::string case_number;     ///< case/incident number
	std::optional<std::int64_t> result_count; ///< records returned / published / purged
	std::string recipient;       ///< who received data (publish, export)
	std::string event;           ///< event id of a published hit (as in the MQTT event)
	Outcome outcome = Outcome::Success;
	std::string reason;          ///< why refused/failed (never plate text)
	std::string policy_hash;     ///< hash of the policy in force ("" = built-in strictest)
	std::map<std::string, std::int64_t> counts; ///< extra counters (purge batches)
};

/// A record as stored: an entry, a seal, a purge anchor or the genesis, with its position in
/// the chain (anchor and genesis are signed first lines, not links of the chain).
struct Record {
	enum class Kind { Entry, Seal, Anchor, Genesis };
	Kind kind = Kind::Entry;
	std::uint64_t seq = 0;
	std::string prev;  ///< hex hash of the record before (anchor: of the last purged record)
	std::string hash;  ///< hex hash of this record (empty for an anchor)
	AuditEntry entry;  ///< Kind::Entry only (time is set for every kind)
	std::string line;  ///< the stored line (no newline)
};

/// One problem found by verification, with where it is.
struct Problem {
	std::size_t line = 0;            ///< 1-based line in the file (0: not tied to a line)
	std::optional<std::uint64_t> seq; ///< record index, when known
	std::string time;                ///< record time (UTC), when known
	std::string message;
};

struct VerifyReport {
	bool ok() const { return problems.empty(); }
	std::vector<Problem> problems;
	std::uint64_t records = 0, entries = 0, seals = 0;
	std::optional<std::uint64_t> first_seq, last_seq, last_sealed_seq;
	std::uint64_t unsealed = 0;      ///< records after the last seal (not yet sealed)
	std::uint64_t purged = 0;        ///< records purged before the anchor
	std::string key_id;              ///< key the seals were checked against
};

struct VerifyOptions {
	/// The sealed head (content of audit.head). When the log holds seals, the head must be
	/// given and the log must reach it; otherwise truncation is reported.
	std::optional<std::string> head_line;
	bool head_required = true;
	/// The device's audit state (content of STATE/device/audit.state): the log must reach
	/// the head it records, with the same hash.
	std::optional<std::string> state_text;
	/// The device has an identity: the log must exist and start with its genesis record or
	/// a signed purge anchor, and the device audit state must be given.
	bool genesis_required = false;
	/// An export: the first record may be any record (its predecessor is not included).
	bool partial = false;
};

/// Verify the text of a log (lines as written) against a device public key.
[[nodiscard]] VerifyReport verify_log_text(std::string_view text, std::string_view public_pem,
					   const VerifyOptions &options);

struct AuditLogOptions {
	std::filesystem::path state_dir;      ///< log in STATE/audit, key in STATE/device
	std::uint32_t seal_every = 64;        ///< seal after this many unsealed entries
	std::chrono::seconds seal_interval{60}; ///< ... or when the oldest unsealed is this old
};

struct PurgeStats {
	std::uint64_t purged = 0;    ///< records removed now
	std::uint64_t kept = 0;      ///< records left (anchor excluded)
	TimePoint cutoff{};          ///< records older than this were eligible
	TimePoint audit_time{};      ///< the audit time the purge ran on (see purge())
};

struct AuditState; // STATE/device/audit.state (src/audit/audit_state.h)

/// The audit log. Thread-safe; several processes may append at once (flock on
/// STATE/audit/audit.lock). Each append is written and fdatasync'ed before it returns.
class AuditLog
{
public:
	[[nodiscard]] static Result<std::unique_ptr<AuditLog>> open(const AuditLogOptions &options);
	/// Seals any unsealed records.
	~AuditLog();
	AuditLog(const AuditLog &) = delete;
	AuditLog &operator=(const AuditLog &) = delete;

	/// Append an entry (time set now). Fails on an invalid entry (no action, malformed
	/// digest) or an I/O error; callers on the frame path log the error and carry on.
	[[nodiscard]] Status append(AuditEntry entry);
	/// Seal now if any record is unsealed.
	[[nodiscard]] Status seal();
	/// Seal if the oldest unsealed record is older than seal_interval (call periodically).
	[[nodiscard]] Status tick();
	/// Remove records older than the policy's audit retention (never below its minimum; never
	/// with the built-in strictest policy, which has no signed retention to follow; never the
	/// last seal). Leaves a signed anchor; records an "audit.purge" entry with counts.
	/// A record goes only when it is older than the retention by the wall clock `wall_now`
	/// AND by the audit time: the mark persisted in STATE/device/audit.state advanced by the
	/// monotonic clock (`mono_now`) only, never by the wall clock, so setting the clock
	/// forward purges nothing early. The audit time is persisted at every call.
	[[nodiscard]] Result<PurgeStats> purge(const policy::Policy &policy, TimePoint wall_now,
					       MonoPoint mono_now);
	/// Verify the whole log on disk (genesis or anchor, chain, seals, head, device state).
	[[nodiscard]] VerifyReport verify() const;
	/// What verifying the log of `state_dir` is checked against: audit.head, the device audit
	/// state, and whether the device has an identity (then the log must prove its start).
	[[nodiscard]] static VerifyOptions verify_options(const std::filesystem::path &state_dir);
	/// Records whose time is in [since, until], contiguous in the chain.
	[[nodiscard]] Result<std::vector<Record>> read(TimePoint since, TimePoint until) const;

	[[nodiscard]] const DeviceIdentity &identity() const { return *identity_; }
	[[nodiscard]] const std::filesystem::path &path() const { return log_path_; }

	static std::filesystem::path log_path(const std::filesystem::path &state_dir);
	static std::filesystem::path head_path(const std::filesystem::path &state_dir);

private:
	AuditLog(AuditLogOptions options, std::unique_ptr<DeviceIdentity> identity);
	class Locked;
	Status refresh_locked(int fd);
	Status write_line_locked(int fd, const std::string &line);
	Status seal_locked(int fd);
	Status append_entry_locked(int fd, AuditEntry entry);
	Status start_chain_locked(int fd);
	Status check_state_locked(int fd, const AuditState &state) const;
	Status update_state_locked(int fd, std::optional<TimePoint> mark);
	Result<std::string> read_all_locked() const;

	AuditLogOptions options_;
	std::unique_ptr<DeviceIdentity> identity_;
	std::filesystem::path dir_, log_path_, head_path_, lock_path_;

	mutable std::mutex mutex_;
	// Cached chain head, valid while the file's inode and size are unchanged.
	std::uint64_t next_seq_ = 0;
	std::string head_hash_;
	std::uint64_t unsealed_ = 0;
	TimePoint oldest_unsealed_{};
	dev_t file_dev_ = 0;
	ino_t file_ino_ = 0;
	off_t file_size_ = -1;
	// Audit time of the last purge and the monotonic time it was taken at (purge()).
	std::optional<std::pair<TimePoint, MonoPoint>> time_base_;
};

/// UTC timestamps: "2026-11-26T15:04:05.123Z" (lethe::format_utc_ms, under the name the
/// audit code and lethed use).
[[nodiscard]] inline std::string format_time(TimePoint t)
{
	return format_utc_ms(t);
}
/// Parse "YYYY-MM-DDTHH:MM:SS[.mmm]Z", "YYYY-MM-DD", "@UNIX", or "now-DURATION"/"DURATION"
/// relative to now ("24h", "7d", "30min", "90s"; policy::parse_duration, so "30m" is refused).
[[nodiscard]] Result<TimePoint> parse_time(std::string_view text, TimePoint now = Clock::now());

/// hex SHA-256("lethe-audit-v1\n" || prev_hex || "\n" || canonical): a record's chain hash.
[[nodiscard]] std::string record_hash(std::string_view prev_hex, std::string_view canonical);
/// The genesis "previous hash": 64 zeros.
[[nodiscard]] const std::string &genesis_hash();

} // namespace lethe::audit
