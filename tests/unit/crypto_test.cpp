// SPDX-License-Identifier: GPL-3.0-or-later
// Tests of the OpenSSL wrappers: AES-GCM round trip and tamper detection, Ed25519, encodings.
#include <gtest/gtest.h>

#include "lethe/common/crypto.h"

namespace lethe::crypto {
namespace {

TEST(Crypto, SealOpenRoundTripAndTamper)
{
	auto key = random_bytes(kAesKeySize);
	ASSERT_TRUE(key.ok());
	const std::string plain = "HIT ABC1234";
	auto sealed = seal(*key, plain.data(), plain.size(), "aad");
	ASSERT_TRUE(sealed.ok());
	auto opened = open(*key, *sealed, "aad");
	ASSERT_TRUE(opened.ok());
	EXPECT_EQ(std::string(opened->begin(), opened->end()), plain);

	auto tampered = *sealed;
	tampered[kGcmNonceSize] ^= 1;
	EXPECT_FALSE(open(*key, tampered, "aad").ok());
	EXPECT_FALSE(open(*key, *sealed, "other aad").ok());
	auto other = random_bytes(kAesKeySize);
	ASSERT_TRUE(other.ok());
	EXPECT_EQ(open(*other, *sealed, "aad").error().code, -EBADMSG);
}

TEST(Crypto, Ed25519SignVerify)
{
	auto kp = ed25519_generate();
	ASSERT_TRUE(kp.ok());
	const std::string msg = "policy bytes";
	auto sig = ed25519_sign(kp->private_pem, msg.data(), msg.size());
	ASSERT_TRUE(sig.ok());
	EXPECT_TRUE(ed25519_verify(kp->public_pem, msg.data(), msg.size(), *sig).ok());
	const std::string changed = "policy bytez";
	EXPECT_FALSE(ed25519_verify(kp->public_pem, changed.data(), changed.size(), *sig).ok());
	auto other = ed25519_generate();
	ASSERT_TRUE(other.ok());
	EXPECT_FALSE(ed25519_verify(other->public_pem, msg.data(), msg.size(), *sig).ok());
	auto pub = ed25519_public_from_private(kp->private_pem);
	ASSERT_TRUE(pub.ok());
	EXPECT_EQ(*pub, kp->public_pem);
	EXPECT_EQ(ed25519_key_id(kp->public_pem)->size(), 64U);
}

TEST(Crypto, HexAndBase64)
{
	const Bytes data = {0x00, 0xff, 0x10, 0x7f, 0x80};
	EXPECT_EQ(to_hex(data), "00ff107f80");
	EXPECT_EQ(*from_hex("00ff107f80"), data);
	EXPECT_FALSE(from_hex("0g").ok());
	for (std::size_t n = 0; n < 8; ++n) {
		Bytes b(data.begin(), data.begin() + static_cast<long>(std::min(n, data.size())));
		auto back = from_base64(to_base64(b));
		ASSERT_TRUE(back.ok());
		EXPECT_EQ(*back, b);
	}
	EXPECT_FALSE(from_base64("abc").ok());
}

TEST(Crypto, HmacIsKeyed)
{
	auto k1 = random_bytes(32);
	auto k2 = random_bytes(32);
	ASSERT_TRUE(k1.ok() && k2.ok());
	const std::string plate = "ABC1234";
	EXPECT_NE(hmac_sha256(*k1, plate.data(), plate.size()),
		  hmac_sha256(*k2, plate.data(), plate.size()));
	EXPECT_EQ(hmac_sha256(*k1, plate.data(), plate.size()),
		  hmac_sha256(*k1, plate.data(), plate.size()));
}

} // namespace
} // namespace lethe::crypto
