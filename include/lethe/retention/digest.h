// SPDX-License-Identifier: GPL-3.0-or-later
// Keyed, memory-hard digests of plates: what a non-hit is reduced to (docs/retention.md).
//
//   k_salt = HMAC-SHA256(K_epoch, "lethe/digest/salt/v1")
//   k_mac  = HMAC-SHA256(K_epoch, "lethe/digest/mac/v1")
//   s      = scrypt(P = normalised plate, S = k_salt, N = 2^log2_n, r, p, 32 bytes)
//   digest = HMAC-SHA256(k_mac, s)
//
// K_epoch is a random 256-bit key of the "digest" purpose (store::KeyStore), rotated with
// the policy's key_rotation and destroyed when the epoch's digests have expired. Without
// K_epoch a digest is a PRF output: testing a guess needs the key (2^256). With a stolen key
// every guess costs one scrypt per epoch. log2_n = 0 disables scrypt (HMAC only).
#pragma once

#include <cstdint>
#include <string_view>

#include "lethe/common/crypto.h"
#include "lethe/common/result.h"

namespace lethe::retention {

struct DigestParams {
	/// scrypt cost N = 2^log2_n; 0 = no scrypt. Default 2^12 with r = 8: 4 MiB of RAM and
	/// ~9 ms per digest on an x86 server core (see docs/retention.md for measurements).
	unsigned log2_n = 12;
	unsigned r = 8;
	unsigned p = 1;
};

/// Normal form of a plate for digests and lookups: ASCII letters upper-cased, ASCII
/// spaces and punctuation (- . · _ / :) dropped, other bytes (UTF-8) kept.
/// The result is secret (wiped when freed).
[[nodiscard]] crypto::SecretBytes normalise_plate(std::string_view plate);

/// digest(K_epoch, normalised plate) as above; 32 bytes.
[[nodiscard]] Result<crypto::Bytes> plate_digest(const crypto::SecretBytes &epoch_key,
						 const crypto::SecretBytes &normalised,
						 const DigestParams &params);

} // namespace lethe::retention
