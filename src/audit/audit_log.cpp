// SPDX-License-Identifier: GPL-3.0-or-later
// The hash-chained audit log: appending, sealing, purging with an anchor, and verification.
#include "lethe/audit/audit_log.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <limits>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "audit/audit_state.h"
#include "audit/public_key.h"
#include "audit/record_json.h"
#include "lethe/audit/roles.h"
#include "lethe/common/atomic_file.h"
#include "lethe/common/log.h"
#include "lethe/common/unique_fd.h"
#include "lethe/policy/parse.h"

namespace lethe::audit {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxLine = 16384;     ///< longest record line accepted
constexpr std::size_t kTailWindow = 262144; ///< bytes read back to find the chain head

std::string errno_text(int err) { return std::strerror(err); }

/// Replace path atomically with content (temporary file, fsync, rename, fsync directory).
/// A fixed temporary name, unlike fsutil::write_atomic(): one a crash leaves is overwritten
/// by the next replacement instead of staying behind.
Status replace_file(const fs::path &path, std::string_view content, mode_t mode)
{
	const fs::path tmp = path.string() + ".tmp";
	UniqueFD fd(
		::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
	if (!fd.isValid())
		return make_error(-errno, tmp.string() + ": " + errno_text(errno));
	auto st = fsutil::write_all(fd.get(), content, tmp);
	if (st && ::fsync(fd.get()) != 0)
		st = make_error(-errno, tmp.string() + ": fsync: " + errno_text(errno));
	fd.reset();
	if (st && ::rename(tmp.c_str(), path.c_str()) != 0)
		st = make_error(-errno, path.string() + ": rename: " + errno_text(errno));
	if (!st) {
		::unlink(tmp.c_str());
		return st;
	}
	return fsutil::fsync_dir(path.parent_path());
}

bool is_lower_hex(std::string_view s)
{
	return std::all_of(s.begin(), s.end(),
			   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// What a seal, anchor or genesis signs: "lethe-audit-KIND-v1\n" || canonical(unsigned record).
std::string signed_message(std::string_view kind, const json &unsigned_record)
{
	return "lethe-audit-" + std::string(kind) + "-v1\n" + canonical(unsigned_record);
}

/// Verify the signature member "sig" of a seal, anchor or genesis (`kind`); returns an error
/// message or "".
std::string check_signature(const json &j, const PublicKey &key, const std::string &key_id,
			    std::string_view kind)
{
	if (!j.contains("key") || !j["key"].is_string() || !j.contains("sig") ||
	    !j["sig"].is_string())
		return "missing key or signature";
	if (j["key"].get<std::string>() != key_id)
		return "signed by another key (" + j["key"].get<std::string>() +
		       ") than the device key " + key_id;
	auto sig = crypto::from_base64(j["sig"].get<std::string>());
	if (!sig || crypto::to_base64(*sig) != j["sig"].get<std::string>())
		return "signature is not valid base64";
	json unsigned_j = j;
	unsigned_j.erase("sig");
	unsigned_j.erase("hash");
	if (!key.verify(signed_message(kind, unsigned_j), *sig))
		return "signature does not verify";
	return {};
}

/// The signed genesis line of a log (docs/audit.md): key id, identity creation time.
Result<std::string> genesis_line(const DeviceIdentity &identity, const std::string &created,
				 bool upgraded)
{
	json g;
	g["kind"] = "genesis";
	g["seq"] = 0;
	g["prev"] = genesis_hash();
	g["key"] = identity.key_id();
	g["created"] = created;
	g["time"] = format_time(Clock::now());
	if (upgraded)
		g["upgraded"] = true;
	auto sig = identity.sign(signed_message("genesis", g));
	if (!sig)
		return sig.error();
	g["sig"] = crypto::to_base64(*sig);
	return canonical(g);
}

std::string time_of(const json &j)
{
	if (j.is_object() && j.contains("time") && j["time"].is_string())
		return j["time"].get<std::string>();
	return {};
}

} // namespace

// ---------------------------------------------------------------------------------------
// AuditTarget, names, times

AuditTarget AuditTarget::hit_plate(std::string_view text) { return {Kind::HitPlate, text}; }
AuditTarget AuditTarget::digest(std::string_view hex) { return {Kind::Digest, hex}; }
AuditTarget AuditTarget::object(std::string_view name) { return {Kind::Object, name}; }

std::string_view AuditTarget::kind_name(Kind k)
{
	switch (k) {
	case Kind::None:
		return "none";
	case Kind::HitPlate:
		return "hit_plate";
	case Kind::Digest:
		return "digest";
	case Kind::Object:
		return "object";
	}
	return "none";
}

std::string_view outcome_name(Outcome o)
{
	switch (o) {
	case Outcome::Success:
		return "success";
	case Outcome::Refused:
		return "refused";
	case Outcome::Failed:
		return "failed";
	}
	return "failed";
}

Result<TimePoint> parse_time(std::string_view text, TimePoint now)
{
	// Inside system_clock's range (nanoseconds: 1678..2262), with room to spare.
	constexpr long long kMaxUnix = 7258118400LL; // 2200-01-01
	using namespace std::chrono;
	const std::string s(text);
	auto bad = [&] {
		return make_error(-EINVAL, "invalid time '" + s +
						   "' (use 2026-11-26T15:04:05Z, 2026-11-26, @UNIX "
						   "or a duration ago like 24h, 7d)");
	};
	if (s.empty())
		return bad();
	if (s == "now")
		return now;
	if (s[0] == '@') {
		char *end = nullptr;
		errno = 0;
		const long long v = std::strtoll(s.c_str() + 1, &end, 10);
		if (errno || !end || *end || end == s.c_str() + 1 || v < 0 || v > kMaxUnix)
			return bad();
		return TimePoint(seconds(v));
	}
	{
		// A duration ago ("24h", "now-7d"): the policies' parser, so "30m" is refused as
		// ambiguous here too rather than read as minutes by one command and not another.
		const std::string d = s.rfind("now-", 0) == 0 ? s.substr(4) : s;
		if (!d.empty() && std::isdigit(static_cast<unsigned char>(d[0])) &&
		    d.find_first_of("-:T") == std::string::npos) {
			auto ago = policy::parse_duration(d);
			if (!ago)
				return make_error(-EINVAL, "invalid time '" + s + "': " + ago.error().message);
			if (ago->count() > kMaxUnix)
				return bad();
			return now - *ago;
		}
	}
	std::tm tm{};
	int ms = 0;
	int consumed = 0;
	if (s.size() == 10) {
		if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
				&consumed) != 3 ||
		    consumed != 10)
			return bad();
	} else {
		if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
				&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
		    consumed != 19)
			return bad();
		std::string_view rest = std::string_view(s).substr(19);
		if (!rest.empty() && rest[0] == '.') {
			std::size_t i = 1;
			int digits = 0;
			while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) {
				if (digits < 3) {
					ms = ms * 10 + (rest[i] - '0');
					++digits;
				}
				++i;
			}
			if (digits == 0)
				return bad();
			while (digits++ < 3)
				ms *= 10;
			rest = rest.substr(i);
		}
		if (rest != "Z" && rest != "+00:00")
			return bad();
	}
	if (tm.tm_year < 1970 || tm.tm_year > 2200 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return bad();
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	const std::time_t t = timegm(&tm);
	return TimePoint(seconds(t)) + milliseconds(ms);
}

const std::string &genesis_hash()
{
	static const std::string zeros(64, '0');
	return zeros;
}

std::string record_hash(std::string_view prev_hex, std::string_view canon)
{
	std::string msg = "lethe-audit-v1\n";
	msg.append(prev_hex);
	msg.push_back('\n');
	msg.append(canon);
	return crypto::to_hex(crypto::sha256(msg));
}

// ---------------------------------------------------------------------------------------
// Verification

VerifyReport verify_log_text(std::string_view text, std::string_view public_pem,
			     const VerifyOptions &options)
{
	VerifyReport report;
	auto key = PublicKey::parse(public_pem);
	if (!key) {
		report.problems.push_back({0, {}, {}, "device public key unusable: " +
							      key.error().message});
		return report;
	}
	report.key_id = key->key_id();

	// Split into lines; a final piece without '\n' is an incomplete record.
	std::vector<std::string_view> lines;
	std::size_t pos = 0;
	while (pos < text.size()) {
		const std::size_t nl = text.find('\n', pos);
		if (nl == std::string_view::npos) {
			report.problems.push_back(
				{lines.size() + 1, {}, {},
				 "incomplete record at the end of the log (cut off mid-line: "
				 "truncated or an interrupted write)"});
			break;
		}
		lines.push_back(text.substr(pos, nl - pos));
		pos = nl + 1;
	}

	std::vector<json> parsed(lines.size());
	std::map<std::uint64_t, std::size_t> where; // seq -> first line index
	for (std::size_t i = 0; i < lines.size(); ++i) {
		parsed[i] = json::parse(lines[i], nullptr, false);
		if (parsed[i].is_object() && parsed[i].contains("seq") &&
		    parsed[i]["seq"].is_number_unsigned() &&
		    str_field(parsed[i], "kind") != "anchor" &&
		    str_field(parsed[i], "kind") != "genesis")
			where.emplace(parsed[i]["seq"].get<std::uint64_t>(), i);
	}

	// The device's audit state (kept outside the log): its head record, if the log holds it,
	// must have the hash it records.
	std::optional<AuditState> state;
	std::optional<std::string> state_record_hash;
	if (options.state_text) {
		auto s = parse_audit_state(*options.state_text, *key);
		if (!s)
			report.problems.push_back({0, {}, {}, s.error().message});
		else
			state = *s;
	} else if (options.genesis_required) {
		report.problems.push_back(
			{0, {}, {}, "device audit state (STATE/device/audit.state) missing: "
				    "truncation and deletion cannot be ruled out"});
	}

	bool started = false;
	std::uint64_t expected = 0;
	std::string last_hash = genesis_hash();
	std::optional<std::uint64_t> last_seal_index;
	std::map<std::uint64_t, std::string> seal_lines;

	for (std::size_t i = 0; i < lines.size(); ++i) {
		const std::size_t lineno = i + 1;
		const json &j = parsed[i];
		auto problem = [&](std::optional<std::uint64_t> seq, std::string msg) {
			report.problems.push_back({lineno, seq, time_of(j), std::move(msg)});
		};
		if (!j.is_object()) {
			problem({}, "not a valid record (corrupted or modified)");
			continue;
		}
		if (canonical(j) != lines[i]) {
			problem({}, "record is not in canonical form (modified)");
			continue;
		}
		const std::string kind = str_field(j, "kind");
		const bool seq_ok = j.contains("seq") && j["seq"].is_number_unsigned();
		const std::uint64_t seq = seq_ok ? j["seq"].get<std::uint64_t>() : 0;
		const bool prev_ok = j.contains("prev") && j["prev"].is_string() &&
				     j["prev"].get<std::string>().size() == 64 &&
				     is_lower_hex(j["prev"].get<std::string>());
		if (!seq_ok || !prev_ok ||
		    (kind != "entry" && kind != "seal" && kind != "anchor" && kind != "genesis")) {
			problem(seq_ok ? std::optional(seq) : std::nullopt,
				"record lacks a valid kind, seq or prev (modified)");
			continue;
		}
		const std::string prev = j["prev"].get<std::string>();

		if (kind == "anchor" || kind == "genesis") {
			// Signed first lines, not links of the chain: where the chain starts (a
			// genesis has seq 0 and the zero prev; an anchor those of the first kept record).
			const std::string what = kind == "anchor" ? "purge anchor" : "genesis record";
			if (i != 0 || options.partial) {
				problem(seq, what + " in the middle of the log (records spliced in)");
				continue;
			}
			auto err = check_signature(j, *key, report.key_id, kind);
			std::optional<Anchor> anchor;
			if (err.empty() && kind == "anchor") {
				auto a = parse_anchor(j);
				if (a)
					anchor = *a;
				else
					err = a.error().message;
			} else if (err.empty()) {
				if (auto g = parse_genesis(j); !g)
					err = g.error().message;
			}
			if (!err.empty()) {
				problem(seq, what + " invalid: " + err);
				continue;
			}
			report.purged = anchor ? anchor->purged : 0;
			started = true;
			expected = seq;
			last_hash = prev;
			continue;
		}

		const bool hash_ok = j.contains("hash") && j["hash"].is_string() &&
				     j["hash"].get<std::string>().size() == 64 &&
				     is_lower_hex(j["hash"].get<std::string>());
		if (!hash_ok) {
			problem(seq, "record has no valid hash (modified)");
			continue;
		}
		const std::string hash = j["hash"].get<std::string>();

		if (state && state->next > 0 && seq == state->next - 1)
			state_record_hash = hash;
		if (!started) {
			started = true;
			if (options.genesis_required && !options.partial && seq == 0 &&
			    prev == genesis_hash())
				problem(seq, "log does not start with the device's genesis record "
					     "(the log was replaced or its first line deleted)");
			if (!options.partial && (seq != 0 || prev != genesis_hash())) {
				if (seq != 0)
					problem(seq, "log starts at record #" + std::to_string(seq) +
							     " without a purge anchor: records #0.." +
							     std::to_string(seq - 1) + " deleted");
				else
					problem(seq, "first record does not start the chain "
						     "(modified)");
			}
		} else if (seq != expected) {
			if (seq > expected) {
				auto later = where.find(expected);
				if (later != where.end() && later->second > i)
					problem(seq, "records out of order: record #" +
							     std::to_string(expected) +
							     " expected here, found at line " +
							     std::to_string(later->second + 1));
				else
					problem(seq, "record" +
							     (seq - expected == 1
								      ? " #" + std::to_string(expected)
								      : "s #" + std::to_string(expected) +
										"..#" +
										std::to_string(seq - 1)) +
							     " missing before this one (deleted)");
			} else {
				problem(seq, "records out of order: record #" + std::to_string(seq) +
						     " appears after record #" +
						     std::to_string(expected - 1));
			}
		} else if (prev != last_hash) {
			problem(seq, "chain broken: does not follow record #" +
					     (seq ? std::to_string(seq - 1) : std::string("-")) +
					     " (a record was modified, replaced or removed)");
		}

		// The line is canonical, so the canonical form without "hash" is the line with its
		// top-level "hash" member cut out (the only string-valued "hash" member).
		std::string unhashed(lines[i]);
		const std::string member = "\"hash\":\"" + hash + "\"";
		const std::size_t at = unhashed.find(member);
		if (at != std::string::npos) {
			const bool comma_after = at + member.size() < unhashed.size() &&
						 unhashed[at + member.size()] == ',';
			if (comma_after)
				unhashed.erase(at, member.size() + 1);
			else
				unhashed.erase(at - 1, member.size() + 1);
		}
		if (record_hash(prev, unhashed) != hash)
			problem(seq, "content does not match its hash (modified)");

		if (kind == "entry") {
			auto e = parse_entry(j);
			if (!e)
				problem(seq, "malformed entry: " + e.error().message);
			++report.entries;
		} else {
			auto err = check_signature(j, *key, report.key_id, "seal");
			if (err.empty() && !parse_seal(j))
				err = "malformed seal";
			if (!err.empty())
				problem(seq, "seal invalid: " + err + " (the sealed records or the "
								   "seal were modified)");
			++report.seals;
			last_seal_index = report.records;
			report.last_sealed_seq = seq;
			seal_lines[seq] = std::string(lines[i]);
		}
		if (!report.first_seq)
			report.first_seq = seq;
		report.last_seq = seq;
		++report.records;
		expected = seq + 1;
		last_hash = hash;
	}
	report.unsealed = last_seal_index ? report.records - *last_seal_index - 1 : report.records;

	// Truncation: the log must reach the heads kept outside it.
	auto truncated = [&](const std::string &head) {
		report.problems.push_back(
			{lines.size(), report.last_seq,
			 lines.empty() ? std::string() : time_of(parsed.back()),
			 "log truncated: it ends at record #" +
				 (report.last_seq ? std::to_string(*report.last_seq)
						  : std::string("(none)")) +
				 " but " + head});
	};
	// The head seal kept beside it.
	if (options.head_line) {
		const json h = json::parse(*options.head_line, nullptr, false);
		std::string err;
		if (!h.is_object() || str_field(h, "kind") != "seal" || !h.contains("seq") ||
		    !h["seq"].is_number_unsigned() || canonical(h) + "\n" != *options.head_line)
			err = "malformed";
		else
			err = check_signature(h, *key, report.key_id, "seal");
		if (!err.empty()) {
			report.problems.push_back(
				{0, {}, time_of(h), "sealed head (audit.head) invalid: " + err});
		} else {
			const std::uint64_t hs = h["seq"].get<std::uint64_t>();
			auto it = seal_lines.find(hs);
			if (it != seal_lines.end()) {
				if (it->second + "\n" != *options.head_line)
					report.problems.push_back(
						{0, hs, time_of(h),
						 "seal record #" + std::to_string(hs) +
							 " differs from the sealed head (audit.head)"});
			} else if (!report.last_seq || hs > *report.last_seq) {
				truncated("the sealed head is record #" + std::to_string(hs) + " of " +
					  time_of(h));
			} else if (!report.first_seq || hs >= *report.first_seq) {
				report.problems.push_back(
					{0, hs, time_of(h),
					 "the sealed head (record #" + std::to_string(hs) +
						 ") is not in the log (seal deleted or replaced)"});
			}
		}
	} else if (options.head_required && report.seals > 0) {
		report.problems.push_back(
			{0, {}, {}, "sealed head (audit.head) missing: truncation cannot be ruled out"});
	}

	// A device with an identity proves where its log starts (genesis or a signed anchor)...
	// (a log starting at #0 without its genesis is reported at its first record).
	if (options.genesis_required && !options.partial && lines.empty())
		report.problems.push_back(
			{0, {}, {}, "the audit log is missing or empty but the device has an "
				    "identity (key " + report.key_id + "): the log was deleted"});
	// ... and how far it reaches: the head kept in STATE/device/audit.state.
	if (state && state->next > 0) {
		const std::uint64_t hs = state->next - 1;
		if (!report.last_seq || hs > *report.last_seq) {
			truncated("the device's audit state (STATE/device/audit.state) records "
				  "record #" + std::to_string(hs));
		} else if (state_record_hash && *state_record_hash != state->head) {
			report.problems.push_back(
				{0, hs, {},
				 "record #" + std::to_string(hs) + " differs from the device's audit "
				 "state (STATE/device/audit.state): records replaced"});
		} else if (!state_record_hash && report.first_seq && hs >= *report.first_seq) {
			report.problems.push_back(
				{0, hs, {},
				 "record #" + std::to_string(hs) + " of the device's audit state is "
				 "not in the log (deleted or replaced)"});
		}
	}
	return report;
}

// ---------------------------------------------------------------------------------------
// AuditLog

fs::path AuditLog::log_path(const fs::path &state_dir) { return state_dir / "audit" / "audit.log"; }
fs::path AuditLog::head_path(const fs::path &state_dir)
{
	return state_dir / "audit" / "audit.head";
}

/// Holds the in-process mutex and the inter-process flock, and the open log file.
class AuditLog::Locked
{
public:
	explicit Locked(const AuditLog &log) : guard_(log.mutex_)
	{
		lock_fd_.reset(::open(log.lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
		if (!lock_fd_.isValid()) {
			error_ = make_error(-errno, log.lock_path_.string() + ": " +
							    errno_text(errno));
			return;
		}
		while (::flock(lock_fd_.get(), LOCK_EX) != 0) {
			if (errno != EINTR) {
				error_ = make_error(-errno, "flock: " + errno_text(errno));
				return;
			}
		}
		const int log_flags = O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC;
		fd_.reset(::open(log.log_path_.c_str(), log_flags, 0640));
		if (!fd_.isValid())
			error_ = make_error(-errno, log.log_path_.string() + ": " +
							   errno_text(errno));
	}
	Locked(const Locked &) = delete;
	Locked &operator=(const Locked &) = delete;
	[[nodiscard]] const Status &status() const { return error_; }
	[[nodiscard]] int fd() const { return fd_.get(); }

private:
	std::lock_guard<std::mutex> guard_;
	// Declared in this order so that the log closes before the lock file (whose close
	// releases the flock).
	UniqueFD lock_fd_;
	UniqueFD fd_;
	Status error_;
};

AuditLog::AuditLog(AuditLogOptions options, std::unique_ptr<DeviceIdentity> identity)
	: options_(std::move(options)), identity_(std::move(identity))
{
	dir_ = options_.state_dir / "audit";
	log_path_ = log_path(options_.state_dir);
	head_path_ = head_path(options_.state_dir);
	lock_path_ = dir_ / "audit.lock";
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const AuditLogOptions &options)
{
	if (options.state_dir.empty())
		return make_error(-EINVAL, "audit log: no state directory");
	std::error_code ec;
	fs::create_directories(options.state_dir / "audit", ec);
	if (ec)
		return make_error(-ec.value(), (options.state_dir / "audit").string() + ": " +
						       ec.message());
	::chmod((options.state_dir / "audit").c_str(), 0750);
	auto identity = DeviceIdentity::load_or_create(options.state_dir);
	if (!identity)
		return identity.error();
	std::unique_ptr<AuditLog> log(new AuditLog(options, std::move(identity.value())));
	Locked lock(*log);
	if (!lock.status())
		return lock.status().error();
	auto st = log->refresh_locked(lock.fd());
	if (st)
		st = log->start_chain_locked(lock.fd());
	if (!st)
		return st.error();
	return log;
}

AuditLog::~AuditLog()
{
	Locked lock(*this);
	if (!lock.status())
		return;
	if (refresh_locked(lock.fd()) && unsealed_ > 0) {
		auto st = seal_locked(lock.fd());
		if (!st) {
			LOG(Audit, Error) << "cannot seal the audit log at close: "
					  << st.error().message;
		}
	}
}

Status AuditLog::refresh_locked(int fd)
{
	struct stat st {};
	if (::fstat(fd, &st) != 0)
		return make_error(-errno, "fstat: " + errno_text(errno));
	if (st.st_dev == file_dev_ && st.st_ino == file_ino_ && st.st_size == file_size_)
		return {};

	// Someone else wrote (another process) or we opened it for the first time: re-read the
	// tail to find the chain head.
	const off_t size = st.st_size;
	const off_t start = size > static_cast<off_t>(kTailWindow)
				    ? size - static_cast<off_t>(kTailWindow)
				    : 0;
	std::string tail(static_cast<std::size_t>(size - start), '\0');
	std::size_t done = 0;
	while (done < tail.size()) {
		const ssize_t n = ::pread(fd, tail.data() + done, tail.size() - done,
					  start + static_cast<off_t>(done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return make_error(n < 0 ? -errno : -EIO, "audit log: short read");
		done += static_cast<std::size_t>(n);
	}
	off_t valid_size = size;
	std::string discarded;
	if (!tail.empty() && tail.back() != '\n') {
		// An interrupted write left half a record: cut it off, and say so in the log.
		const std::size_t nl = tail.rfind('\n');
		const std::size_t keep = nl == std::string::npos ? 0 : nl + 1;
		if (start > 0 && nl == std::string::npos)
			return make_error(-EBADMSG, "audit log: last record longer than the tail "
						    "window; refusing to append");
		valid_size = start + static_cast<off_t>(keep);
		discarded = std::to_string(tail.size() - keep);
		if (::ftruncate(fd, valid_size) != 0)
			return make_error(-errno, "audit log: ftruncate: " + errno_text(errno));
		tail.resize(keep);
	}
	// Walk the complete lines of the window backwards.
	std::vector<std::string_view> lines;
	{
		std::size_t pos = 0;
		if (start > 0) {
			const std::size_t nl = tail.find('\n');
			pos = nl == std::string::npos ? tail.size() : nl + 1;
		}
		while (pos < tail.size()) {
			const std::size_t nl = tail.find('\n', pos);
			lines.push_back(std::string_view(tail).substr(pos, nl - pos));
			pos = nl + 1;
		}
	}
	next_seq_ = 0;
	head_hash_ = genesis_hash();
	unsealed_ = 0;
	oldest_unsealed_ = {};
	bool found_head = false, found_seal = false;
	for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
		const json j = json::parse(*it, nullptr, false);
		if (!j.is_object())
			return make_error(-EBADMSG, "audit log: unreadable record near the end; run "
						    "`lethe audit verify`");
		const std::string kind = str_field(j, "kind");
		if (kind == "genesis") { // the start: nothing before it to seal
			found_seal = true;
			break;
		}
		if (!found_head) {
			found_head = true;
			if (kind == "anchor") {
				auto a = parse_anchor(j);
				if (!a)
					return a.error();
				next_seq_ = a->seq;
				head_hash_ = a->prev;
				found_seal = true;
				break;
			}
			const std::uint64_t seq = j.contains("seq") && j["seq"].is_number_unsigned() ? j["seq"].get<std::uint64_t>() : 0;
			next_seq_ = seq + 1;
			head_hash_ = str_field(j, "hash");
			if (head_hash_.size() != 64)
				return make_error(-EBADMSG, "audit log: last record has no hash");
		}
		if (kind == "seal" || kind == "anchor") {
			found_seal = true;
			break;
		}
		++unsealed_;
		auto t = parse_time(str_field(j, "time"));
		oldest_unsealed_ = t ? *t : Clock::now();
	}
	if (!found_seal && start > 0)
		unsealed_ = std::max<std::uint64_t>(unsealed_, options_.seal_every);

	file_dev_ = st.st_dev;
	file_ino_ = st.st_ino;
	file_size_ = valid_size;
	if (!discarded.empty()) {
		LOG(Audit, Warning) << "audit log: discarded " << discarded
				    << " bytes of an incomplete record";
		AuditEntry e;
		e.actor = "lethed";
		e.role = std::string(role_name(Role::System));
		e.action = "audit.recovered";
		e.outcome = Outcome::Failed;
		e.reason = "incomplete record at the end of the log discarded (interrupted write)";
		e.counts["bytes_discarded"] = std::stoll(discarded);
		Status noted = append_entry_locked(fd, std::move(e));
		if (!noted && noted.error().code == -ENOSPC) {
			// The chain is whole again; a full disk must not keep the device (and its
			// purges) from starting for want of this note.
			LOG(Audit, Error) << "audit log: the recovery is not recorded: "
					  << noted.error().message;
			return {};
		}
		return noted;
	}
	return {};
}

Status AuditLog::write_line_locked(int fd, const std::string &line)
{
	if (line.size() > kMaxLine)
		return make_error(-E2BIG, "audit record too long (" + std::to_string(line.size()) +
						  " bytes, limit " + std::to_string(kMaxLine) + ")");
	const off_t before = file_size_;
	auto st = fsutil::write_all(fd, line + "\n", log_path_);
	if (!st) {
		// A partial write (a full disk) is cut off at once: no half record stays behind.
		if (before >= 0)
			(void)!::ftruncate(fd, before);
		file_size_ = -1; // force a re-read
		return st;
	}
	if (::fdatasync(fd) != 0)
		return make_error(-errno, "audit log: fdatasync: " + errno_text(errno));
	struct stat s {};
	if (::fstat(fd, &s) == 0) {
		file_dev_ = s.st_dev;
		file_ino_ = s.st_ino;
		file_size_ = s.st_size;
	}
	return {};
}

Status AuditLog::append_entry_locked(int fd, AuditEntry entry)
{
	if (entry.action.empty())
		return make_error(-EINVAL, "audit entry without an action");
	if (entry.target.kind() == AuditTarget::Kind::Digest) {
		const auto &v = entry.target.value();
		if (v.size() < 32 || v.size() > 128 || v.size() % 2 || !is_lower_hex(v))
			return make_error(-EINVAL, "audit target digest must be lowercase hex "
						   "(a keyed digest), never plate text");
	}
	entry.time = Clock::now();
	json j = entry_to_json(entry);
	j["kind"] = "entry";
	j["seq"] = next_seq_;
	j["prev"] = head_hash_;
	const std::string hash = record_hash(head_hash_, canonical(j));
	j["hash"] = hash;
	auto st = write_line_locked(fd, canonical(j));
	if (!st)
		return st;
	if (unsealed_ == 0)
		oldest_unsealed_ = entry.time;
	++unsealed_;
	++next_seq_;
	head_hash_ = hash;
	if (unsealed_ >= options_.seal_every ||
	    entry.time - oldest_unsealed_ >= options_.seal_interval)
		return seal_locked(fd);
	return {};
}

Status AuditLog::seal_locked(int fd)
{
	json j;
	j["kind"] = "seal";
	j["seq"] = next_seq_;
	j["prev"] = head_hash_;
	j["time"] = format_time(Clock::now());
	j["key"] = identity_->key_id();
	j["sealed"] = unsealed_;
	auto sig = identity_->sign(signed_message("seal", j));
	if (!sig)
		return sig.error();
	j["sig"] = crypto::to_base64(*sig);
	const std::string hash = record_hash(head_hash_, canonical(j));
	j["hash"] = hash;
	const std::string line = canonical(j);
	auto st = write_line_locked(fd, line);
	if (!st)
		return st;
	++next_seq_;
	head_hash_ = hash;
	unsealed_ = 0;
	st = replace_file(head_path_, line + "\n", 0640);
	if (!st)
		return st;
	return update_state_locked(fd, std::nullopt);
}

/// The one time a chain starts: at the identity's birth (its audit state says nothing was
/// sealed and the log is empty), or when a log from a release without genesis records is
/// upgraded in place. Anything else (no log but a state, a state deleted) is left as found,
/// for `lethe audit verify` to report: starting afresh would erase the evidence.
Status AuditLog::start_chain_locked(int fd)
{
	auto state = load_audit_state(options_.state_dir, *identity_);
	auto text = read_all_locked();
	if (!text)
		return text.error();
	if (state) {
		if (!text->empty() || state->next != 0)
			return {};
		auto g = genesis_line(*identity_, state->created, false);
		if (!g)
			return g.error();
		return write_line_locked(fd, *g);
	}
	if (state.error().code != -ENOENT) {
		LOG(Audit, Error) << state.error().message << " (`lethe audit verify` reports it)";
		return {};
	}
	const json first = json::parse(std::string_view(*text).substr(0, text->find('\n')),
				       nullptr, false);
	const std::string kind = str_field(first, "kind");
	if (text->empty() || kind == "genesis" || (kind == "anchor" && first.contains("genesis"))) {
		LOG(Audit, Error) << "the device has an identity but no audit state ("
				  << audit_state_path(options_.state_dir).string() << ")"
				  << (text->empty() ? " and no audit log" : "")
				  << ": not starting a new chain (`lethe audit verify` reports it)";
		return {};
	}
	// Upgrade in place, once: only a log that verifies as the previous release wrote it.
	VerifyOptions old;
	if (auto h = fsutil::read_file(head_path_, 65536))
		old.head_line = *h;
	const auto report = verify_log_text(*text, identity_->public_pem(), old);
	if (!report.ok()) {
		LOG(Audit, Error) << "audit log not upgraded (no genesis record written): "
				  << report.problems.front().message;
		return {};
	}
	std::string out = *text;
	AuditState s;
	s.created = time_of(first);
	if (kind != "anchor") {
		auto g = genesis_line(*identity_, s.created, true);
		if (!g)
			return g.error();
		out = *g + "\n" + out;
	}
	// The head: the last seal, and where its line ends; the mark: the newest record's time
	// (not the wall clock, which may be the one that jumped).
	s.head = genesis_hash();
	std::string newest;
	for (std::size_t pos = 0, nl; pos < out.size(); pos = nl + 1) {
		nl = out.find('\n', pos);
		const json j = json::parse(std::string_view(out).substr(pos, nl - pos), nullptr, false);
		newest = time_of(j);
		if (str_field(j, "kind") == "seal") {
			s.next = j["seq"].get<std::uint64_t>() + 1;
			s.head = str_field(j, "hash");
			s.bytes = nl + 1;
		}
	}
	auto last = parse_time(newest);
	s.mark = last ? *last : Clock::now();
	if (kind != "anchor") {
		auto st = replace_file(log_path_, out, 0640);
		if (!st)
			return st;
		file_size_ = -1; // new inode: re-read on the next append
	}
	auto st = store_audit_state(options_.state_dir, *identity_, s);
	if (st) {
		LOG(Audit, Warning) << "audit log upgraded: "
				    << (kind != "anchor" ? "genesis record and " : "")
				    << "device audit state written (docs/audit.md)";
	}
	return st;
}

/// The device audit state must still describe this log: the line ending at its `bytes` is
/// the record it names. Otherwise the log was cut or replaced, and the state is kept as the
/// evidence (never advanced along another chain).
Status AuditLog::check_state_locked(int fd, const AuditState &state) const
{
	if (state.next == 0)
		return {};
	auto mismatch = [&] {
		return make_error(-EBADMSG,
				  "the audit log does not reach record #" +
					  std::to_string(state.next - 1) +
					  " of the device audit state (truncated or replaced; run "
					  "`lethe audit verify`)");
	};
	if (state.next > next_seq_ || state.bytes == 0 ||
	    static_cast<off_t>(state.bytes) > file_size_)
		return mismatch();
	const std::size_t len = static_cast<std::size_t>(
		std::min<std::uint64_t>(state.bytes, kMaxLine + 1));
	std::string buf(len, '\0');
	const off_t at = static_cast<off_t>(state.bytes - len);
	std::size_t done = 0;
	while (done < len) {
		const ssize_t n = ::pread(fd, buf.data() + done, len - done,
					  at + static_cast<off_t>(done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return make_error(n < 0 ? -errno : -EIO, "audit log: short read");
		done += static_cast<std::size_t>(n);
	}
	if (buf.empty() || buf.back() != '\n')
		return mismatch();
	buf.pop_back();
	const std::size_t nl = buf.rfind('\n');
	const json j = json::parse(nl == std::string::npos ? buf : buf.substr(nl + 1), nullptr,
				   false);
	if (!j.is_object() || !j.contains("seq") || !j["seq"].is_number_unsigned() ||
	    j["seq"].get<std::uint64_t>() != state.next - 1 || str_field(j, "hash") != state.head)
		return mismatch();
	return {};
}

/// Advance the device audit state to the current sealed head (and `mark`, if given).
Status AuditLog::update_state_locked(int fd, std::optional<TimePoint> mark)
{
	auto state = load_audit_state(options_.state_dir, *identity_);
	if (!state) {
		LOG(Audit, Error) << "device audit state not updated: " << state.error().message
				  << " (not recreated; `lethe audit verify` reports it)";
		return {};
	}
	if (auto st = check_state_locked(fd, *state); !st) {
		LOG(Audit, Error) << "device audit state kept as it is: " << st.error().message;
		return {};
	}
	state->next = next_seq_;
	state->head = head_hash_;
	state->bytes = static_cast<std::uint64_t>(file_size_);
	if (mark)
		state->mark = std::max(state->mark, *mark);
	return store_audit_state(options_.state_dir, *identity_, *state);
}

Status AuditLog::append(AuditEntry entry)
{
	Locked lock(*this);
	if (!lock.status())
		return lock.status();
	auto st = refresh_locked(lock.fd());
	if (!st)
		return st;
	return append_entry_locked(lock.fd(), std::move(entry));
}

Status AuditLog::seal()
{
	Locked lock(*this);
	if (!lock.status())
		return lock.status();
	auto st = refresh_locked(lock.fd());
	if (!st)
		return st;
	return unsealed_ ? seal_locked(lock.fd()) : Status{};
}

Status AuditLog::tick()
{
	Locked lock(*this);
	if (!lock.status())
		return lock.status();
	auto st = refresh_locked(lock.fd());
	if (!st)
		return st;
	if (unsealed_ && Clock::now() - oldest_unsealed_ >= options_.seal_interval)
		return seal_locked(lock.fd());
	return {};
}

Result<std::string> AuditLog::read_all_locked() const
{
	// No size limit: the log is as long as the retention period makes it.
	auto text = fsutil::read_file(log_path_, std::numeric_limits<std::size_t>::max());
	if (!text && text.error().code == -ENOENT)
		return std::string();
	return text;
}

VerifyOptions AuditLog::verify_options(const fs::path &state_dir)
{
	VerifyOptions opts;
	if (auto h = fsutil::read_file(head_path(state_dir), 65536))
		opts.head_line = *h;
	if (auto s = fsutil::read_file(audit_state_path(state_dir), 65536))
		opts.state_text = *s;
	std::error_code ec;
	opts.genesis_required = fs::exists(DeviceIdentity::key_path(state_dir), ec);
	return opts;
}

VerifyReport AuditLog::verify() const
{
	std::string text;
	VerifyOptions opts;
	{
		Locked lock(*this);
		auto t = read_all_locked();
		if (!t) {
			VerifyReport r;
			r.problems.push_back({0, {}, {}, t.error().message});
			return r;
		}
		text = std::move(t.value());
		opts = verify_options(options_.state_dir);
	}
	opts.genesis_required = true; // this device has an identity: identity_
	return verify_log_text(text, identity_->public_pem(), opts);
}

Result<std::vector<Record>> AuditLog::read(TimePoint since, TimePoint until) const
{
	std::string text;
	{
		Locked lock(*this);
		auto t = read_all_locked();
		if (!t)
			return t.error();
		text = std::move(t.value());
	}
	std::vector<Record> all;
	std::size_t pos = 0;
	while (pos < text.size()) {
		const std::size_t nl = text.find('\n', pos);
		if (nl == std::string::npos)
			break;
		auto r = parse_record(std::string_view(text).substr(pos, nl - pos));
		if (!r)
			return make_error(r.error().code, "audit log: " + r.error().message +
								  " (run `lethe audit verify`)");
		all.push_back(std::move(r.value()));
		pos = nl + 1;
	}
	std::size_t first = all.size(), last = 0;
	for (std::size_t i = 0; i < all.size(); ++i) {
		if (all[i].kind == Record::Kind::Anchor || all[i].kind == Record::Kind::Genesis)
			continue;
		const TimePoint t = all[i].entry.time;
		if (t >= since && t <= until) {
			first = std::min(first, i);
			last = i;
		}
	}
	if (first == all.size())
		return std::vector<Record>{};
	return std::vector<Record>(std::make_move_iterator(all.begin() + static_cast<long>(first)),
				   std::make_move_iterator(all.begin() + static_cast<long>(last) + 1));
}

Result<PurgeStats> AuditLog::purge(const policy::Policy &policy, TimePoint wall_now,
				   MonoPoint mono_now)
{
	PurgeStats stats;
	// Without a signed policy there is no audit retention to follow: keep everything
	// (the absence of a policy must not erase accountability).
	if (policy.hash.empty())
		return stats;
	const auto keep = std::max(policy.retention.audit_log, policy.retention.audit_log_minimum);

	{
		Locked lock(*this);
		if (!lock.status())
			return lock.status().error();
		auto st = refresh_locked(lock.fd());
		if (st && unsealed_)
			st = seal_locked(lock.fd());
		if (!st)
			return st.error();
		// The audit time: the persisted mark, advanced by the monotonic clock only. A record
		// goes when it is old enough by it AND by the wall clock, so a clock set forward
		// (or faked) purges nothing early, and audit_log_minimum stays a floor.
		auto state = load_audit_state(options_.state_dir, *identity_);
		if (state)
			st = check_state_locked(lock.fd(), *state);
		if (!state || !st)
			return make_error(-EBADMSG, "not purging the audit log: " +
							    (!state ? state.error().message
								    : st.error().message));
		TimePoint audit_now = state->mark;
		if (time_base_) {
			const auto ran = std::max(MonoPoint::duration::zero(),
						  mono_now - time_base_->second);
			audit_now = std::max(audit_now,
					     time_base_->first +
						     std::chrono::duration_cast<TimePoint::duration>(ran));
		}
		time_base_ = {audit_now, mono_now};
		stats.audit_time = audit_now;
		stats.cutoff = std::min(wall_now, audit_now) - keep;
		auto text = read_all_locked();
		if (!text)
			return text.error();
		std::vector<std::string_view> lines;
		std::size_t pos = 0;
		while (pos < text->size()) {
			const std::size_t nl = text->find('\n', pos);
			if (nl == std::string::npos)
				break;
			lines.push_back(std::string_view(*text).substr(pos, nl - pos));
			pos = nl + 1;
		}
		std::optional<Anchor> old_anchor;
		std::size_t begin = 0;
		std::vector<Record> recs;
		for (std::size_t i = 0; i < lines.size(); ++i) {
			auto r = parse_record(lines[i]);
			if (!r)
				return make_error(-EBADMSG, "audit log damaged, not purging: " +
								    r.error().message);
			if (i == 0 && r->kind == Record::Kind::Genesis)
				begin = 1;
			if (i == 0 && r->kind == Record::Kind::Anchor) {
				auto a = parse_anchor(json::parse(lines[0]));
				if (!a)
					return a.error();
				old_anchor = *a;
				begin = 1;
			}
			recs.push_back(std::move(r.value()));
		}
		// Never purge the last seal (or anything after it).
		std::size_t last_seal = recs.size();
		for (std::size_t i = recs.size(); i-- > begin;)
			if (recs[i].kind == Record::Kind::Seal) {
				last_seal = i;
				break;
			}
		std::size_t cut = begin;
		while (cut < last_seal && cut < recs.size() && recs[cut].entry.time < stats.cutoff)
			++cut;
		stats.kept = recs.size() - cut;
		if (cut == begin) {
			stats.kept = recs.size() - begin;
			st = update_state_locked(lock.fd(), audit_now); // persist the audit time
			if (!st)
				return st.error();
			return stats;
		}
		stats.purged = cut - begin;

		json a;
		a["kind"] = "anchor";
		a["seq"] = recs[cut].seq;
		a["prev"] = recs[cut - 1].hash;
		a["time"] = format_time(Clock::now());
		a["until"] = format_time(recs[cut - 1].entry.time);
		a["purged"] = (old_anchor ? old_anchor->purged : 0) + stats.purged;
		a["genesis"] = state->created;
		a["key"] = identity_->key_id();
		auto sig = identity_->sign(signed_message("anchor", a));
		if (!sig)
			return sig.error();
		a["sig"] = crypto::to_base64(*sig);
		std::string out = canonical(a) + "\n";
		for (std::size_t i = cut; i < recs.size(); ++i)
			out.append(lines[i]).push_back('\n');
		st = replace_file(log_path_, out, 0640);
		if (!st)
			return st.error();
		file_size_ = -1; // new inode: re-read on the next append
		// The same head, now ending where the rewritten file ends (sealed above).
		state->bytes = out.size();
		state->mark = std::max(state->mark, audit_now);
		st = store_audit_state(options_.state_dir, *identity_, *state);
		if (!st)
			return st.error();
	}
	AuditEntry e;
	e.actor = "lethed";
	e.role = std::string(role_name(Role::System));
	e.action = "audit.purge";
	e.policy_hash = policy.hash;
	e.result_count = static_cast<std::int64_t>(stats.purged);
	e.counts["purged"] = static_cast<std::int64_t>(stats.purged);
	e.counts["kept"] = static_cast<std::int64_t>(stats.kept);
	auto st = append(std::move(e));
	if (!st)
		return st.error();
	auto sealed = seal();
	if (!sealed)
		return sealed.error();
	return stats;
}

} // namespace lethe::audit
