// SPDX-License-Identifier: GPL-3.0-or-later
// Generic Ed25519-signed bundles: build, parse strictly, verify against a trust directory.
#include "lethe/policy/bundle.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>
#include <system_error>

#include "lethe/common/atomic_file.h"
#include "lethe/common/crypto.h"
#include "lethe/common/log.h"

namespace lethe::policy {

namespace {

constexpr std::string_view kMagic = "lethe-signed-bundle v1";
constexpr std::string_view kSigPrefix = "signature: ";
constexpr std::size_t kSignatureSize = 64;
constexpr std::size_t kMaxTrustFile = 64 * 1024;

bool is_lower_hex(std::string_view s, std::size_t len)
{
	return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) {
		       return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
	       });
}

bool valid_kind(std::string_view k)
{
	return !k.empty() && k.size() <= 32 && std::all_of(k.begin(), k.end(), [](char c) {
		return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
	});
}

/// Reads header lines one at a time, telling "ran out of input" from "wrong content".
class Cursor
{
public:
	explicit Cursor(std::string_view text) : text_(text) {}
	/// The next line without its '\n'; false if no complete line is left.
	bool line(std::string_view &out)
	{
		const auto nl = text_.find('\n', pos_);
		if (nl == std::string_view::npos)
			return false;
		out = text_.substr(pos_, nl - pos_);
		pos_ = nl + 1;
		return true;
	}
	[[nodiscard]] std::size_t pos() const { return pos_; }
	void advance(std::size_t n) { pos_ += n; }
	[[nodiscard]] std::string_view rest() const { return text_.substr(pos_); }

private:
	std::string_view text_;
	std::size_t pos_ = 0;
};

struct Envelope {
	std::string_view kind;
	std::string_view key_id;
	BundleClock::time_point signed_at{};
	std::string_view payload_sha256;
	std::string_view payload;
	std::string_view signed_part;
	crypto::Bytes signature;
};

Outcome<std::string_view> header(Cursor &c, std::string_view name)
{
	std::string_view l;
	if (!c.line(l))
		return refuse(Reason::Truncated,
			      "bundle ends inside its header (before '" + std::string(name) + "')");
	const std::string prefix = std::string(name) + ": ";
	if (l.substr(0, prefix.size()) != prefix)
		return refuse(Reason::Malformed,
			      "bundle header: expected '" + prefix + "...' at byte " +
				      std::to_string(c.pos() - l.size() - 1));
	return l.substr(prefix.size());
}

Outcome<Envelope> parse_envelope(std::string_view text)
{
	Envelope env;
	Cursor c(text);
	std::string_view l;
	if (!c.line(l)) {
		if (kMagic.substr(0, text.size()) == text)
			return refuse(Reason::Truncated, "bundle ends inside its first line");
		return refuse(Reason::Malformed, "not a Lethe signed bundle");
	}
	if (l != kMagic)
		return refuse(Reason::Malformed, "not a Lethe signed bundle (first line is not '" +
							 std::string(kMagic) + "')");

	auto kind = header(c, "kind");
	if (!kind)
		return kind.refusal();
	if (!valid_kind(*kind))
		return refuse(Reason::Malformed, "bundle header: invalid kind");
	env.kind = *kind;

	auto key_id = header(c, "key-id");
	if (!key_id)
		return key_id.refusal();
	if (!is_lower_hex(*key_id, 64))
		return refuse(Reason::Malformed, "bundle header: key-id is not 64 lowercase hex digits");
	env.key_id = *key_id;

	auto signed_at = header(c, "signed-at");
	if (!signed_at)
		return signed_at.refusal();
	auto t = parse_utc(*signed_at);
	if (!t)
		return refuse(Reason::Malformed, "bundle header: signed-at: " + t.error().message);
	env.signed_at = *t;

	auto length = header(c, "payload-length");
	if (!length)
		return length.refusal();
	std::size_t n = 0;
	const auto *first = length->data();
	const auto *last = first + length->size();
	const auto [end, ec] = std::from_chars(first, last, n);
	if (ec != std::errc{} || end != last || length->empty() ||
	    (length->size() > 1 && (*length)[0] == '0'))
		return refuse(Reason::Malformed, "bundle header: payload-length is not a decimal number");
	if (n > kMaxPayloadSize)
		return refuse(Reason::Malformed, "bundle header: payload-length exceeds " +
							 std::to_string(kMaxPayloadSize));

	auto sha = header(c, "payload-sha256");
	if (!sha)
		return sha.refusal();
	if (!is_lower_hex(*sha, 64))
		return refuse(Reason::Malformed,
			      "bundle header: payload-sha256 is not 64 lowercase hex digits");
	env.payload_sha256 = *sha;

	if (!c.line(l))
		return refuse(Reason::Truncated, "bundle ends before the payload");
	if (!l.empty())
		return refuse(Reason::Malformed, "bundle header: expected an empty line before the payload");

	const auto rest = c.rest();
	if (rest.size() < n + 1)
		return refuse(Reason::Truncated, "bundle ends inside its payload (" +
							 std::to_string(rest.size()) + " of " +
							 std::to_string(n + 1) + " bytes)");
	if (rest[n] != '\n')
		return refuse(Reason::Malformed, "payload is not followed by a newline "
						 "(payload-length does not match)");
	env.payload = rest.substr(0, n);
	c.advance(n + 1);
	env.signed_part = text.substr(0, c.pos());

	const auto tail = c.rest();
	if (tail.empty())
		return refuse(Reason::MissingSignature, "bundle has no signature line");
	if (tail.size() < kSigPrefix.size() && kSigPrefix.substr(0, tail.size()) == tail)
		return refuse(Reason::Truncated, "bundle ends inside its signature line");
	if (tail.substr(0, kSigPrefix.size()) != kSigPrefix)
		return refuse(Reason::Malformed, "expected 'signature: ...' after the payload");
	const auto nl = tail.find('\n');
	if (nl == std::string_view::npos)
		return refuse(Reason::Truncated, "bundle ends inside its signature line");
	if (nl + 1 != tail.size())
		return refuse(Reason::Malformed, "unexpected data after the signature line");
	const auto b64 = tail.substr(kSigPrefix.size(), nl - kSigPrefix.size());
	if (b64.empty())
		return refuse(Reason::MissingSignature, "the signature line is empty");
	auto sig = crypto::from_base64(b64);
	if (!sig || sig->size() != kSignatureSize)
		return refuse(Reason::Malformed, "signature is not base64 of 64 bytes");
	// Base64 has spare bits: insist on the one canonical encoding, so every byte counts.
	if (crypto::to_base64(*sig) != b64)
		return refuse(Reason::Malformed, "signature is not canonical base64");
	env.signature = std::move(*sig);
	return env;
}

} // namespace

std::string_view reason_name(Reason r)
{
	switch (r) {
	case Reason::Io: return "io";
	case Reason::Truncated: return "truncated";
	case Reason::Malformed: return "malformed";
	case Reason::MissingSignature: return "missing-signature";
	case Reason::BadSignature: return "bad-signature";
	case Reason::UntrustedKey: return "untrusted-key";
	case Reason::WrongKind: return "wrong-kind";
	case Reason::SignedInFuture: return "signed-in-future";
	case Reason::InvalidPayload: return "invalid-payload";
	case Reason::Expired: return "expired";
	case Reason::NotYetValid: return "not-yet-valid";
	case Reason::Rollback: return "rollback";
	}
	return "unknown";
}

std::string Refusal::describe() const
{
	return "refused (" + std::string(reason_name(reason)) + "): " + message;
}

Error Refusal::to_error() const
{
	switch (reason) {
	case Reason::Io:
		return make_error(-EIO, describe());
	case Reason::MissingSignature:
	case Reason::BadSignature:
	case Reason::UntrustedKey:
		return make_error(-EPERM, describe());
	default:
		return make_error(-EINVAL, describe());
	}
}

namespace {

/// Why a *.pub file of a trust directory must not be trusted, or empty: a key file is only as
/// trustworthy as the set of people who could have written it.
std::string untrustworthy_key_file(const std::filesystem::path &file,
				   const std::filesystem::path &real_dir)
{
	std::error_code ec;
	if (std::filesystem::is_symlink(file, ec)) {
		const auto target = std::filesystem::canonical(file, ec);
		if (ec)
			return "dangling symlink";
		if (target.parent_path() != real_dir)
			return "symlink to " + target.string() + ", outside the trust directory";
	}
	struct stat st {};
	if (::stat(file.c_str(), &st) != 0)
		return std::string("cannot stat: ") + std::strerror(errno);
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return "writable by group or others (chmod go-w)";
	return {};
}

} // namespace

Outcome<std::vector<TrustedKey>> load_trust_dir(const std::filesystem::path &dir)
{
	std::error_code ec;
	std::vector<std::filesystem::path> files;
	std::filesystem::directory_iterator it(dir, ec);
	if (ec)
		return refuse(Reason::Io,
			      "cannot read trust directory " + dir.string() + ": " + ec.message());
	struct stat dst {};
	if (::stat(dir.c_str(), &dst) != 0)
		return refuse(Reason::Io, "cannot stat trust directory " + dir.string() + ": " +
						  std::strerror(errno));
	if ((dst.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return refuse(Reason::UntrustedKey,
			      "trust directory " + dir.string() +
				      " is writable by group or others (chmod go-w): none of its keys is trusted");
	const auto real_dir = std::filesystem::canonical(dir, ec);
	for (const auto &entry : it) {
		if (entry.path().extension() != ".pub")
			continue;
		if (auto why = untrustworthy_key_file(entry.path(), real_dir); !why.empty()) {
			LOG(Policy, Warning) << "trust: skipping " << entry.path().string() << ": " << why;
			continue;
		}
		files.push_back(entry.path());
	}
	std::sort(files.begin(), files.end());
	std::vector<TrustedKey> keys;
	for (const auto &f : files) {
		auto pem = fsutil::read_file(f, kMaxTrustFile);
		if (!pem) {
			LOG(Policy, Warning) << "trust: skipping " << f.string() << ": "
					     << pem.error().message;
			continue;
		}
		auto id = crypto::ed25519_key_id(*pem);
		if (!id) {
			LOG(Policy, Warning) << "trust: skipping " << f.string()
					     << ": not an Ed25519 public key";
			continue;
		}
		keys.push_back(TrustedKey{std::move(*id), std::move(*pem), f});
	}
	return keys;
}

Result<std::string> sign_bundle(std::string_view kind, std::string_view payload,
				std::string_view private_key_pem, BundleClock::time_point signed_at)
{
	if (!valid_kind(kind))
		return make_error(-EINVAL, "bundle kind must be 1-32 of [a-z0-9-]");
	if (payload.size() > kMaxPayloadSize)
		return make_error(-EFBIG, "payload larger than " + std::to_string(kMaxPayloadSize));
	auto pub = crypto::ed25519_public_from_private(private_key_pem);
	if (!pub)
		return pub.error();
	auto key_id = crypto::ed25519_key_id(*pub);
	if (!key_id)
		return key_id.error();
	std::string out;
	out.reserve(payload.size() + 512);
	out.append(kMagic).append("\n");
	out.append("kind: ").append(kind).append("\n");
	out.append("key-id: ").append(*key_id).append("\n");
	out.append("signed-at: ").append(format_utc(signed_at)).append("\n");
	out.append("payload-length: ").append(std::to_string(payload.size())).append("\n");
	out.append("payload-sha256: ").append(crypto::to_hex(crypto::sha256(payload))).append("\n");
	out.append("\n");
	out.append(payload).append("\n");
	auto sig = crypto::ed25519_sign(private_key_pem, out.data(), out.size());
	if (!sig)
		return sig.error();
	out.append(kSigPrefix).append(crypto::to_base64(*sig)).append("\n");
	return out;
}

Outcome<VerifiedBundle> verify_bundle(std::string_view bundle, const std::vector<TrustedKey> &trusted,
				      std::string_view expected_kind, BundleClock::time_point now)
{
	auto env = parse_envelope(bundle);
	if (!env)
		return env.refusal();

	const auto key = std::find_if(trusted.begin(), trusted.end(), [&](const TrustedKey &k) {
		return k.key_id == env->key_id;
	});
	if (key == trusted.end())
		return refuse(Reason::UntrustedKey,
			      "signed by key " + std::string(env->key_id.substr(0, 16)) +
				      "..., which is not in the trust directory" +
				      (trusted.empty() ? " (no trusted keys at all)" : ""));

	auto st = crypto::ed25519_verify(key->public_pem, env->signed_part.data(),
					 env->signed_part.size(), env->signature);
	if (!st)
		return refuse(Reason::BadSignature, "signature does not verify under key " +
							    key->file.filename().string() +
							    " (forged or modified bundle)");

	if (crypto::to_hex(crypto::sha256(env->payload)) != env->payload_sha256)
		return refuse(Reason::Malformed, "payload-sha256 does not match the payload");

	if (env->kind != expected_kind)
		return refuse(Reason::WrongKind, "bundle is a '" + std::string(env->kind) +
							 "', expected a '" + std::string(expected_kind) +
							 "'");
	if (env->signed_at > now + kClockSkew)
		return refuse(Reason::SignedInFuture, "signed at " + format_utc(env->signed_at) +
							      ", later than now (" + format_utc(now) +
							      ") + " + std::to_string(kClockSkew.count()) +
							      " s");

	VerifiedBundle v;
	v.kind = std::string(env->kind);
	v.payload = std::string(env->payload);
	v.key_id = std::string(env->key_id);
	v.bundle_hash = crypto::to_hex(crypto::sha256(bundle));
	v.signed_at = env->signed_at;
	v.key_file = key->file;
	return v;
}

Outcome<VerifiedBundle> verify_bundle(std::string_view bundle, const std::filesystem::path &trust_dir,
				      std::string_view expected_kind, BundleClock::time_point now)
{
	auto keys = load_trust_dir(trust_dir);
	if (!keys)
		return keys.refusal();
	return verify_bundle(bundle, *keys, expected_kind, now);
}

} // namespace lethe::policy
