// SPDX-License-Identifier: GPL-3.0-or-later
// Hot lists: strict CSV import (NCIC-style fields) and a digest-only, OCR-tolerant matcher.
//
// Flow: parse_csv() (plaintext, on the signing or installing side) → Matcher::compile() with the
// device's list key → Matcher::save() (sealed file, no plate text) → on the device
// Matcher::load() + match(read_text, policy rules, now). See docs/hotlist.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lethe/common/crypto.h"
#include "lethe/common/result.h"
#include "lethe/common/utc_time.h"
#include "lethe/policy/policy.h"

namespace lethe::hotlist {

using TimePoint = std::chrono::system_clock::time_point;

/// How a read matched a hot-list entry, best first.
enum class MatchType {
	Exact,       ///< identical after normalisation
	Confusion,   ///< identical after mapping O/D→0, I→1, B→8, S→5, Z→2, G→6
	MissingChar, ///< the read lacks one character of the entry
	ExtraChar,   ///< the read has one character more than the entry
};
[[nodiscard]] std::string_view match_type_name(MatchType t); ///< "exact", "confusion", ...

/// Shortest plate (normalised) that takes part in missing/extra-character matching: below
/// this a single-character tolerance matches too many unrelated plates.
constexpr std::size_t kMinEditLength = 4;
/// Longest normalised plate accepted (NCIC LIC field: 10 characters).
constexpr std::size_t kMaxPlateLength = 10;

/// One hot-list record: the NCIC-style CSV columns, in this order.
struct Entry {
	std::string plate;      ///< as listed (normalised on import)
	std::string region;     ///< state / region code, e.g. "CA", "NH", "DE-BY"; may be empty
	std::string list_id;    ///< the source list, e.g. "ncic-stolen"
	std::string category;   ///< e.g. "stolen", "amber-alert"; must be allowed by the policy
	std::string reason;     ///< free text shown to the officer
	TimePoint entered{};    ///< when the record was entered at the source (UTC)
	std::optional<TimePoint> expires; ///< the record no longer matches from this instant
	std::string agency_ref; ///< the originating agency's record number (ORI/OCA)

	~Entry() { crypto::wipe(plate); }
	Entry() = default;
	Entry(const Entry &) = default;
	Entry(Entry &&) = default;
	Entry &operator=(const Entry &) = default;
	Entry &operator=(Entry &&) = default;
};

/// The CSV header Lethe expects (exactly, first non-comment line).
constexpr std::string_view kCsvHeader =
	"plate,region,list_id,category,reason,entered,expires,agency_ref";

/// Uppercase ASCII letters and digits; spaces, '-' and '.' dropped. Empty if anything else
/// (or nothing) is left, or if longer than kMaxPlateLength.
[[nodiscard]] std::string normalise(std::string_view text);
/// OCR-confusion canonical form of a normalised plate.
[[nodiscard]] std::string confusion_canonical(std::string_view normalised);
/// Every spelling with the same confusion_canonical() form as `normalised` (the plate itself
/// first), at most `limit` of them; `*total` (if given) receives how many there are in all.
/// Plate text: the caller wipes them (crypto::wipe).
[[nodiscard]] std::vector<std::string> confusion_spellings(std::string_view normalised,
							   std::size_t limit,
							   std::size_t *total = nullptr);

// Times: lethe::parse_utc(text, UtcForm::DateOrDateTime) — sources write dates or times.
using lethe::parse_utc;
using lethe::format_utc;

/// Strict CSV import (RFC 4180 quoting; '#' lines and blank lines ignored). Every error names
/// the line (and column): "line 7: category 'towed' is not allowed by the policy". Entries
/// whose category the rules do not allow refuse the whole list.
[[nodiscard]] Result<std::vector<Entry>> parse_csv(std::string_view text,
						   const policy::HotlistRules &rules);
/// The same checks without the category allowlist (the signing side knows no device policy).
/// With `source` (the file the text was read from) errors name it: "FILE:7: ...".
[[nodiscard]] Result<std::vector<Entry>> parse_csv_syntax(std::string_view text,
							  std::string_view source = {});

/// A list's identity and freshness (carried by the signed bundle).
struct ListInfo {
	std::string id;
	std::uint64_t version = 0;
	TimePoint generated{}; ///< when the source extracted the list: freshness counts from here
};

/// A hot-list record without its plate (what the device keeps).
struct EntryInfo {
	std::string region, list_id, category, reason, agency_ref;
	TimePoint entered{};
	std::optional<TimePoint> expires;
};

/// One match of a read.
struct Hit {
	MatchType type = MatchType::Exact;
	bool stale = false;       ///< the list is older than the policy's max_age
	bool publishable = false; ///< !stale, or the policy publishes stale hits
	EntryInfo entry;
};

/// Digest-only matcher. Keeps HMAC-SHA256 digests (truncated to 64 bits) of the normalised
/// and confusion-canonical forms and of their one-character deletions, keyed with the device's
/// list key; no plate text. match() is const and thread-safe (no locks).
class Matcher
{
public:
	~Matcher();
	Matcher(const Matcher &) = delete;
	Matcher &operator=(const Matcher &) = delete;

	/// Build from parsed entries. list_key: 32 random bytes that stay on the device.
	[[nodiscard]] static Result<std::unique_ptr<Matcher>>
	compile(const ListInfo &info, const std::vector<Entry> &entries,
		const crypto::SecretBytes &list_key);
	/// Load what save() wrote; fails on a wrong key or any modification (AES-256-GCM).
	[[nodiscard]] static Result<std::unique_ptr<Matcher>> load(const crypto::Bytes &sealed,
								   const crypto::SecretBytes &list_key);
	/// The compiled list, sealed with a key derived from the list key.
	[[nodiscard]] Result<crypto::Bytes> save() const;

	/// Hits for a read, best match type first; at most one per entry. Entries that have
	/// expired at `now` or whose category the rules no longer allow are skipped. Tolerance
	/// follows rules.match_confusions and rules.max_edit_distance (0 or 1).
	[[nodiscard]] std::vector<Hit> match(std::string_view read_text,
					     const policy::HotlistRules &rules, TimePoint now) const;

	[[nodiscard]] const ListInfo &info() const { return info_; }
	[[nodiscard]] std::size_t size() const { return entries_.size(); }
	[[nodiscard]] const std::vector<EntryInfo> &entries() const { return entries_; }
	/// now - generated (negative clamps to 0).
	[[nodiscard]] std::chrono::seconds age(TimePoint now) const;
	[[nodiscard]] bool stale(const policy::HotlistRules &rules, TimePoint now) const;
	/// Hex id of the list key (an HMAC of a constant; reveals nothing of the key).
	[[nodiscard]] const std::string &key_id() const { return key_id_; }

	/// Open-addressing table digest → entry index (internal; public for the implementation).
	struct Table {
		std::vector<std::uint64_t> keys;
		std::vector<std::uint32_t> values;
		std::uint64_t mask = 0;
		void build(std::vector<std::pair<std::uint64_t, std::uint32_t>> items);
	};

	/// The 64-bit digest of (tag, text): the first 8 bytes of HMAC-SHA256(list key,
	/// tag || 0x00 || text). Exposed for tests.
	[[nodiscard]] std::uint64_t digest_for_test(char tag, std::string_view text) const;

private:
	struct HmacState;
	Matcher();
	[[nodiscard]] Status init_key(const crypto::SecretBytes &list_key);
	[[nodiscard]] std::uint64_t digest(char tag, std::string_view text) const;

	ListInfo info_;
	std::vector<EntryInfo> entries_;
	// E: normalised, C: canonical, e/c: their one-character deletions.
	Table exact_, canon_, del_exact_, del_canon_;
	crypto::SecretBytes file_key_;
	std::string key_id_;
	std::unique_ptr<HmacState> hmac_; ///< precomputed HMAC inner/outer SHA-256 states
};

} // namespace lethe::hotlist
