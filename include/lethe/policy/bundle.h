// SPDX-License-Identifier: GPL-3.0-or-later
// Generic Ed25519-signed bundle (policies, hot lists): a readable text envelope around a payload.
//
// Format (docs/policy.md, "Signed bundle format"), every byte before "signature: " is signed:
//
//   lethe-signed-bundle v1\n
//   kind: policy\n
//   key-id: <64 lowercase hex: SHA-256 of the raw Ed25519 public key>\n
//   signed-at: 2026-11-26T15:00:00Z\n
//   payload-length: <decimal bytes>\n
//   payload-sha256: <64 lowercase hex>\n
//   \n
//   <payload bytes, exactly payload-length of them, e.g. the TOML policy>\n
//   signature: <canonical base64 of the 64-byte Ed25519 signature>\n
//
// verify_bundle() refuses anything else with one Reason per failure class.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "lethe/common/result.h"
#include "lethe/common/utc_time.h"

namespace lethe::policy {

/// Why a bundle (or a policy inside one) is refused. Each has a stable token (reason_name()).
enum class Reason {
	Io,               ///< "io": a file or directory could not be read or written
	Truncated,        ///< "truncated": the envelope ends before it is complete
	Malformed,        ///< "malformed": the envelope does not follow the format
	MissingSignature, ///< "missing-signature": complete envelope, no signature line
	BadSignature,     ///< "bad-signature": the signature does not verify under the named key
	UntrustedKey,     ///< "untrusted-key": no .pub file in the trust directory has that key id
	WrongKind,        ///< "wrong-kind": e.g. a hot list given where a policy is expected
	SignedInFuture,   ///< "signed-in-future": signed-at later than now + kClockSkew
	InvalidPayload,   ///< "invalid-payload": the payload (policy, hot list) has a bad field
	Expired,          ///< "expired": now >= not_after
	NotYetValid,      ///< "not-yet-valid": now < not_before
	Rollback,         ///< "rollback": version <= the highest version ever installed for the id
};

/// Stable, machine-readable token for a reason ("bad-signature", ...).
[[nodiscard]] std::string_view reason_name(Reason r);

/// A refusal: the reason class and a message for humans.
struct Refusal {
	Reason reason = Reason::Malformed;
	std::string message;

	/// "refused (bad-signature): <message>"
	[[nodiscard]] std::string describe() const;
	/// As a lethe::Error (code -EPERM for signature/trust failures, -EINVAL otherwise).
	[[nodiscard]] Error to_error() const;
};

/// Value or Refusal: like lethe::Result, but the failure carries a Reason.
template<typename T>
class [[nodiscard]] Outcome
{
public:
	Outcome(T value) : v_(std::move(value)) {}     // NOLINT(google-explicit-constructor)
	Outcome(Refusal r) : v_(std::move(r)) {}       // NOLINT(google-explicit-constructor)
	[[nodiscard]] bool ok() const { return v_.index() == 0; }
	explicit operator bool() const { return ok(); }
	[[nodiscard]] T &value() & { return std::get<0>(v_); }
	[[nodiscard]] const T &value() const & { return std::get<0>(v_); }
	[[nodiscard]] T &&value() && { return std::get<0>(std::move(v_)); }
	T *operator->() { return &std::get<0>(v_); }
	const T *operator->() const { return &std::get<0>(v_); }
	T &operator*() & { return std::get<0>(v_); }
	const T &operator*() const & { return std::get<0>(v_); }
	[[nodiscard]] const Refusal &refusal() const { return std::get<1>(v_); }
	[[nodiscard]] Reason reason() const { return std::get<1>(v_).reason; }

private:
	std::variant<T, Refusal> v_;
};

[[nodiscard]] inline Refusal refuse(Reason r, std::string message)
{
	return Refusal{r, std::move(message)};
}

using BundleClock = std::chrono::system_clock;

/// How far in the future a bundle's signed-at may lie (device clock drift).
constexpr std::chrono::seconds kClockSkew{600};
/// Largest payload accepted (policies and 100 000-entry hot lists fit).
constexpr std::size_t kMaxPayloadSize = 64u * 1024u * 1024u;

/// A bundle that verified.
struct VerifiedBundle {
	std::string kind;
	std::string payload;      ///< the signed payload bytes, unchanged
	std::string key_id;       ///< hex SHA-256 of the signer's raw public key
	std::string bundle_hash;  ///< hex SHA-256 of the whole bundle (as stored/installed)
	BundleClock::time_point signed_at{};
	std::filesystem::path key_file; ///< the trusted .pub file that verified it
};

/// A trusted signer: one .pub file of a trust directory.
struct TrustedKey {
	std::string key_id;
	std::string public_pem;
	std::filesystem::path file;
};

/// Read every *.pub (PEM Ed25519 public key) of a directory. Files that are not Ed25519 keys
/// are skipped with a warning, and so is a key anyone but its owner could have written: one
/// writable by group or others, or a symlink that leads out of the directory (its key is not
/// trusted). Fails with Reason::Io if the directory cannot be read and Reason::UntrustedKey if
/// it is writable by group or others (anyone could have dropped a key into it).
[[nodiscard]] Outcome<std::vector<TrustedKey>> load_trust_dir(const std::filesystem::path &dir);

/// Sign a payload. kind: [a-z0-9-]{1,32} (e.g. "policy", "hotlist"). signed_at defaults to now.
[[nodiscard]] Result<std::string> sign_bundle(std::string_view kind, std::string_view payload,
					      std::string_view private_key_pem,
					      BundleClock::time_point signed_at = BundleClock::now());

/// Parse and verify a bundle against the keys of a trust directory.
[[nodiscard]] Outcome<VerifiedBundle> verify_bundle(std::string_view bundle,
						    const std::filesystem::path &trust_dir,
						    std::string_view expected_kind,
						    BundleClock::time_point now);
/// Same, with keys already loaded (load_trust_dir()).
[[nodiscard]] Outcome<VerifiedBundle> verify_bundle(std::string_view bundle,
						    const std::vector<TrustedKey> &trusted,
						    std::string_view expected_kind,
						    BundleClock::time_point now);

// Times in bundles: "2026-11-26T15:00:00Z" exactly (lethe/common/utc_time.h).
using lethe::format_utc;
using lethe::parse_utc;

} // namespace lethe::policy
