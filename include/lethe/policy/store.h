// SPDX-License-Identifier: GPL-3.0-or-later
// Installed policies in the state directory: refuse-or-install, rollback memory, composition.
//
// Layout (docs/policy.md, "Policy store"): STATE/policies/<id>.bundle (the signed bundle as
// installed), STATE/policies/versions (highest version ever installed per id, kept across
// removal), STATE/policies/clock (the latest install time, a floor for validity checks),
// STATE/policies/.lock (flock while installing or removing).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lethe/common/result.h"
#include "lethe/policy/bundle.h"
#include "lethe/policy/policy.h"

namespace lethe::policy {

/// Strictest-wins composition, field by field (docs/policy.md, "Composition"). The result's
/// sources list the inputs. An empty input gives strictest(); one input is returned unchanged.
[[nodiscard]] Policy compose(const std::vector<Policy> &policies);

/// Verify a bundle as a policy at `now`: signature and trust, kind "policy", every field, the
/// validity window (not-yet-valid, expired). The result has hash, key_id and sources set.
/// `source` names the payload in field errors.
[[nodiscard]] Outcome<Policy> check_policy_bundle(std::string_view bundle,
						  const std::vector<TrustedKey> &trusted,
						  TimePoint now, std::string_view source = "policy");

/// One installed policy, as found (and re-verified) in the store.
struct InstalledPolicy {
	std::string id;
	std::uint64_t version = 0;  ///< 0 if the bundle could not be read
	std::string hash;           ///< hex SHA-256 of the bundle file
	std::filesystem::path file;
	bool in_force = false;      ///< verified, and not_before <= now < not_after
	std::optional<Policy> policy;   ///< set if the bundle still verifies and parses
	std::optional<Refusal> problem; ///< why it no longer verifies (tampered, key revoked, ...)
};

/// The policy the device must apply now, and what it was made of.
struct EffectivePolicy {
	Policy policy;          ///< compose(in-force policies), or strictest()
	bool fallback = false;  ///< true when policy is strictest() (nothing valid, or a problem)
	std::string why;        ///< for humans: why the fallback (empty otherwise)
	std::vector<InstalledPolicy> installed;
};

class PolicyStore
{
public:
	/// Open (creating STATE/policies, mode 0750, if needed) the store under a state directory.
	[[nodiscard]] static Result<std::unique_ptr<PolicyStore>>
	create(const std::filesystem::path &state_dir);

	/// Verify and install a bundle. Refused (and nothing changed) for any bundle Reason, an
	/// invalid policy (InvalidPayload), NotYetValid, Expired, or Rollback (version <= the
	/// highest version ever installed for its id). Replaces an older version of the same id.
	[[nodiscard]] Outcome<Policy> install(std::string_view bundle,
					      const std::filesystem::path &trust_dir, TimePoint now,
					      std::string_view source = "policy");

	/// Remove an installed policy; its version stays remembered (no rollback by remove+install).
	[[nodiscard]] Status remove(std::string_view id);

	/// Every installed bundle, re-verified against the trust directory at `now`.
	[[nodiscard]] std::vector<InstalledPolicy> list(const std::filesystem::path &trust_dir,
							TimePoint now) const;

	/// Compose the policies in force at `now`. Fails closed: if any installed bundle no longer
	/// verifies (tampered, key no longer trusted, replaced by an older version), or none is
	/// in force, the result is strictest() with fallback set.
	[[nodiscard]] EffectivePolicy effective(const std::filesystem::path &trust_dir,
						TimePoint now) const;

	/// Highest version ever installed for an id (0 if never).
	[[nodiscard]] std::uint64_t highest_version(std::string_view id) const;

	/// The latest time an install has seen (STATE/policies/clock; the epoch if none). Every
	/// check of a validity window (install, list, effective) runs at max(now, this), so a
	/// wall clock set back cannot revive an expired bundle: the floor only ever rises.
	[[nodiscard]] TimePoint time_floor() const;

	[[nodiscard]] const std::filesystem::path &dir() const { return dir_; }

private:
	explicit PolicyStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
	[[nodiscard]] Status raise_time_floor(TimePoint t);

	std::filesystem::path dir_;
};

/// For the daemon and `lethe retention report`: the effective policy and what is installed.
/// Never fails: any problem (missing state dir, unreadable trust dir) gives strictest().
[[nodiscard]] EffectivePolicy load_effective(const std::filesystem::path &state_dir,
					     const std::filesystem::path &trust_dir,
					     TimePoint now = std::chrono::system_clock::now());

} // namespace lethe::policy
