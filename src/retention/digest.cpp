// SPDX-License-Identifier: GPL-3.0-or-later
// Plate normalisation and the keyed, memory-hard plate digest.
#include "lethe/retention/digest.h"

#include <cstring>

namespace lethe::retention {

crypto::SecretBytes normalise_plate(std::string_view plate)
{
	crypto::SecretBytes out;
	out.reserve(plate.size());
	for (const char ch : plate) {
		const auto c = static_cast<unsigned char>(ch);
		if (c >= 'a' && c <= 'z')
			out.push_back(static_cast<std::uint8_t>(c - 'a' + 'A'));
		else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80)
			out.push_back(c);
		// ASCII spaces, punctuation and control characters are dropped.
	}
	return out;
}

namespace {

/// HMAC-SHA256(K_epoch, label) as a secret key.
crypto::SecretBytes derived_key(const crypto::SecretBytes &epoch_key, const void *label,
				std::size_t size)
{
	crypto::Bytes plain = crypto::hmac_sha256(epoch_key, label, size);
	crypto::SecretBytes key(plain.begin(), plain.end());
	crypto::wipe(plain.data(), plain.size());
	return key;
}

} // namespace

Result<crypto::SecretBytes> plate_stretch(const crypto::SecretBytes &epoch_key,
					  const crypto::SecretBytes &normalised,
					  const DigestParams &params)
{
	if (epoch_key.size() != crypto::kAesKeySize)
		return make_error(-EINVAL, "digest key must be 32 bytes");
	if (params.log2_n > 20 || (params.log2_n && (params.r == 0 || params.p == 0)))
		return make_error(-EINVAL, "digest scrypt parameters out of range");
	if (params.log2_n == 0)
		return crypto::SecretBytes(normalised.begin(), normalised.end());
	static constexpr std::string_view kSaltLabel = "lethe/digest/salt/v1";
	const crypto::Bytes salt = crypto::hmac_sha256(epoch_key, kSaltLabel.data(), kSaltLabel.size());
	return crypto::scrypt(normalised.data(), normalised.size(), salt.data(), salt.size(),
			      std::uint64_t{1} << params.log2_n, params.r, params.p, 32);
}

crypto::Bytes epoch_digest(const crypto::SecretBytes &epoch_key,
			   const crypto::SecretBytes &stretched)
{
	static constexpr std::string_view kMacLabel = "lethe/digest/mac/v1";
	const crypto::SecretBytes mac_key = derived_key(epoch_key, kMacLabel.data(), kMacLabel.size());
	return crypto::hmac_sha256(mac_key, stretched.data(), stretched.size());
}

crypto::Bytes window_digest(const crypto::SecretBytes &epoch_key,
			    const crypto::SecretBytes &stretched, std::int64_t window)
{
	static constexpr std::string_view kWindowLabel = "lethe/digest/window/v2";
	std::uint8_t label[kWindowLabel.size() + 8];
	std::memcpy(label, kWindowLabel.data(), kWindowLabel.size());
	const auto w = static_cast<std::uint64_t>(window);
	for (int i = 0; i < 8; ++i) // big-endian
		label[kWindowLabel.size() + static_cast<std::size_t>(i)] =
			static_cast<std::uint8_t>(w >> (56 - 8 * i));
	const crypto::SecretBytes window_key = derived_key(epoch_key, label, sizeof(label));
	return crypto::hmac_sha256(window_key, stretched.data(), stretched.size());
}

Result<crypto::Bytes> plate_digest(const crypto::SecretBytes &epoch_key,
				   const crypto::SecretBytes &normalised, const DigestParams &params)
{
	auto stretched = plate_stretch(epoch_key, normalised, params);
	if (!stretched)
		return stretched.error();
	return epoch_digest(epoch_key, *stretched);
}

} // namespace lethe::retention
