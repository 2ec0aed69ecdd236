// SPDX-License-Identifier: GPL-3.0-or-later
// Signed hot-list payloads and their installation on the device (compiled, digest-only).
//
// A hot-list bundle (kind "hotlist", include/lethe/policy/bundle.h) carries this payload:
//
//   # lethe-hotlist v1
//   # id: ncic-ca
//   # version: 12
//   # generated: 2026-11-26T06:00:00Z
//   plate,region,list_id,category,reason,entered,expires,agency_ref
//   ...records...
//
// Installing verifies nothing itself (the caller verifies the bundle first), parses the CSV
// against the policy's categories, refuses a `generated` time in the future (beyond the
// bundle clock skew) and a version not above the highest ever installed (STATE/hotlists/
// versions, kept across the removal of <id>.json; a store whose versions file is gone with
// nothing sealed to rebuild it from refuses every install), compiles it
// with the device's list key (STATE/hotlists/list.key, 32 random bytes, mode 0600) and writes
// STATE/hotlists/<id>.lhl (sealed digests, no plate text) and <id>.json (metadata). The
// plaintext list is not kept.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lethe/hotlist/hotlist.h"

namespace lethe::hotlist {

/// Bundle kind for hot lists.
constexpr std::string_view kBundleKind = "hotlist";

struct ParsedList {
	ListInfo info;
	std::vector<Entry> entries;
};

/// The bundle payload for a list: the four "# " header lines, then the CSV as given.
[[nodiscard]] Result<std::string> make_payload(const ListInfo &info, std::string_view csv);
/// Parse a payload. rules: check categories against them; nullptr: syntax only.
[[nodiscard]] Result<ParsedList> parse_payload(std::string_view payload,
					       const policy::HotlistRules *rules);

/// What is installed for one list id (STATE/hotlists/<id>.json).
struct InstalledList {
	ListInfo info;
	std::size_t entries = 0;
	std::string bundle_hash; ///< hex SHA-256 of the signed bundle
	std::string key_id;      ///< list key id the compiled file needs
	TimePoint installed_at{};
	std::vector<std::pair<std::string, std::size_t>> categories; ///< category → entries
};

class HotlistStore
{
public:
	/// Open STATE/hotlists (created 0700) and its list key (created if missing).
	[[nodiscard]] static Result<std::unique_ptr<HotlistStore>>
	open(const std::filesystem::path &state_dir);

	/// Install a verified payload (see above). Refused with -EINVAL (bad field, naming the
	/// line), -EPERM (a category the policy does not allow), -ESTALE (version <= installed).
	[[nodiscard]] Result<InstalledList> install(std::string_view payload,
						    const std::string &bundle_hash,
						    const policy::HotlistRules &rules, TimePoint now);
	[[nodiscard]] std::vector<InstalledList> list() const;
	/// Load the compiled matcher of one installed list.
	[[nodiscard]] Result<std::unique_ptr<Matcher>> load(const std::string &id) const;
	/// Load every installed list (what lethed matches against).
	[[nodiscard]] Result<std::vector<std::unique_ptr<Matcher>>> load_all() const;

	[[nodiscard]] const std::filesystem::path &dir() const { return dir_; }

	/// Highest version ever installed for a list id (0 if never): the versions file, the
	/// sealed list and its metadata, whichever is highest.
	[[nodiscard]] std::uint64_t highest_version(const std::string &id) const;

private:
	HotlistStore() = default;
	/// At open: rebuild a missing versions file from the sealed lists, or mark it lost.
	void recover_versions();
	/// Ids of the compiled lists (<id>.lhl) in the store directory.
	[[nodiscard]] std::vector<std::string> sealed_lists() const;

	std::filesystem::path dir_;
	crypto::SecretBytes key_;
	bool versions_lost_ = false; ///< versions file gone, nothing to rebuild it from
};

} // namespace lethe::hotlist
