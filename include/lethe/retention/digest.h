// SPDX-License-Identifier: GPL-3.0-or-later
// Keyed, memory-hard digests of plates: what a non-hit is reduced to (docs/retention.md).
//
//   k_salt = HMAC-SHA256(K_epoch, "lethe/digest/salt/v1")
//   k_mac  = HMAC-SHA256(K_epoch, "lethe/digest/mac/v1")
//   s      = scrypt(P = normalised plate, S = k_salt, N = 2^log2_n, r, p, 32 bytes)
//   form 1 (whole epoch):  digest = HMAC-SHA256(k_mac, s)
//   form 2 (one window):   k_w = HMAC-SHA256(K_epoch, "lethe/digest/window/v2" || be64(w))
//                          digest = HMAC-SHA256(k_w, s),  w = seen time / kDigestWindow
//
// K_epoch is a random 256-bit key of the "digest" purpose (store::KeyStore), rotated with
// the policy's key_rotation and destroyed when the epoch's digests have expired. Without
// K_epoch a digest is a PRF output: testing a guess needs the key (2^256). With a stolen key
// every guess costs one scrypt per epoch. log2_n = 0 disables scrypt (HMAC only).
//
// Form 2 (written since issue 15.5) keeps equal plates from looking equal at rest across
// windows: in form 1 every read of a plate in one epoch (a day under the presets) had the
// same digest, so a stolen database showed repeat visits without any key. Now two reads of a
// plate have equal digests only within one 10-minute window. A lookup still costs one scrypt
// per epoch (the windows share s), plus one HMAC and one index probe per window with rows.
#pragma once

#include <cstdint>
#include <string_view>

#include <chrono>
#include <cstdint>

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

/// Equal plates look equal at rest only within one window this long (form 2).
inline constexpr std::chrono::milliseconds kDigestWindow{10 * 60 * 1000};
/// The window of a time (milliseconds since the Unix epoch).
[[nodiscard]] constexpr std::int64_t digest_window(std::int64_t unix_ms)
{
	return unix_ms >= 0 ? unix_ms / kDigestWindow.count()
			    : -((-unix_ms - 1) / kDigestWindow.count()) - 1;
}

/// The memory-hard part, s (the normalised plate itself when log2_n = 0); secret.
[[nodiscard]] Result<crypto::SecretBytes> plate_stretch(const crypto::SecretBytes &epoch_key,
							const crypto::SecretBytes &normalised,
							const DigestParams &params);
/// Form 1: HMAC(k_mac, s); 32 bytes.
[[nodiscard]] crypto::Bytes epoch_digest(const crypto::SecretBytes &epoch_key,
					 const crypto::SecretBytes &stretched);
/// Form 2: HMAC(k_w, s) for window w; 32 bytes.
[[nodiscard]] crypto::Bytes window_digest(const crypto::SecretBytes &epoch_key,
					  const crypto::SecretBytes &stretched, std::int64_t window);

/// Form 1 in one call: epoch_digest(K_epoch, plate_stretch(...)); 32 bytes.
[[nodiscard]] Result<crypto::Bytes> plate_digest(const crypto::SecretBytes &epoch_key,
						 const crypto::SecretBytes &normalised,
						 const DigestParams &params);

} // namespace lethe::retention
