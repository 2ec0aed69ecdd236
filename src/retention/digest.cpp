// SPDX-License-Identifier: GPL-3.0-or-later
// Plate normalisation and the keyed, memory-hard plate digest.
#include "lethe/retention/digest.h"

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

Result<crypto::Bytes> plate_digest(const crypto::SecretBytes &epoch_key,
				   const crypto::SecretBytes &normalised, const DigestParams &params)
{
	if (epoch_key.size() != crypto::kAesKeySize)
		return make_error(-EINVAL, "digest key must be 32 bytes");
	if (params.log2_n > 20 || (params.log2_n && (params.r == 0 || params.p == 0)))
		return make_error(-EINVAL, "digest scrypt parameters out of range");
	static constexpr std::string_view kSaltLabel = "lethe/digest/salt/v1";
	static constexpr std::string_view kMacLabel = "lethe/digest/mac/v1";
	const crypto::Bytes salt = crypto::hmac_sha256(epoch_key, kSaltLabel.data(), kSaltLabel.size());
	crypto::Bytes mac_key_plain = crypto::hmac_sha256(epoch_key, kMacLabel.data(), kMacLabel.size());
	const crypto::SecretBytes mac_key(mac_key_plain.begin(), mac_key_plain.end());
	crypto::wipe(mac_key_plain.data(), mac_key_plain.size());

	if (params.log2_n == 0)
		return crypto::hmac_sha256(mac_key, normalised.data(), normalised.size());
	auto stretched = crypto::scrypt(normalised.data(), normalised.size(), salt.data(), salt.size(),
					std::uint64_t{1} << params.log2_n, params.r, params.p, 32);
	if (!stretched)
		return stretched.error();
	return crypto::hmac_sha256(mac_key, stretched->data(), stretched->size());
}

} // namespace lethe::retention
