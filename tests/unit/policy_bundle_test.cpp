// SPDX-License-Identifier: GPL-3.0-or-later
// Signed bundles with real Ed25519 keys: round trip and every refusal reason, byte by byte.
#include <gtest/gtest.h>

#include "lethe/common/crypto.h"
#include "lethe/policy/bundle.h"
#include "support/temp_dir.h"

namespace lethe::policy {
namespace {

using test::TempDir;

const BundleClock::time_point kNow = *parse_utc("2026-06-01T12:00:00Z");
const std::string kPayload = "id = \"test\"\nversion = 3\n# a readable payload\n";

struct Signer {
	crypto::Ed25519KeyPair pair;
	std::string id;
	Signer()
	{
		auto p = crypto::ed25519_generate();
		EXPECT_TRUE(p.ok());
		pair = *p;
		id = *crypto::ed25519_key_id(pair.public_pem);
	}
};

class BundleTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		test::write_file(trust_ / "officer.pub", officer_.pair.public_pem);
		auto b = sign_bundle("policy", kPayload, officer_.pair.private_pem, kNow);
		ASSERT_TRUE(b.ok()) << b.error().message;
		bundle_ = *b;
		auto keys = load_trust_dir(trust_.path());
		ASSERT_TRUE(keys.ok());
		keys_ = *keys;
		ASSERT_EQ(keys_.size(), 1u);
	}
	Outcome<VerifiedBundle> verify(const std::string &b, std::string_view kind = "policy")
	{
		return verify_bundle(b, keys_, kind, kNow);
	}

	TempDir trust_;
	Signer officer_;
	std::string bundle_;
	std::vector<TrustedKey> keys_;
};

TEST_F(BundleTest, RoundTripKeepsPayloadReadable)
{
	auto v = verify_bundle(bundle_, trust_.path(), "policy", kNow);
	ASSERT_TRUE(v.ok()) << v.refusal().describe();
	EXPECT_EQ(v->payload, kPayload);
	EXPECT_EQ(v->kind, "policy");
	EXPECT_EQ(v->key_id, officer_.id);
	EXPECT_EQ(v->signed_at, kNow);
	EXPECT_EQ(v->bundle_hash, crypto::to_hex(crypto::sha256(bundle_)));
	EXPECT_EQ(v->key_file.filename(), "officer.pub");
	// The payload appears verbatim in the envelope.
	EXPECT_NE(bundle_.find(kPayload), std::string::npos);
	EXPECT_EQ(bundle_.rfind("lethe-signed-bundle v1\n", 0), 0u);
}

TEST_F(BundleTest, EmptyAndBinaryPayloads)
{
	for (const std::string &payload : {std::string(), std::string("\0\n\xff\n", 4)}) {
		auto b = sign_bundle("hotlist", payload, officer_.pair.private_pem, kNow);
		ASSERT_TRUE(b.ok());
		auto v = verify(*b, "hotlist");
		ASSERT_TRUE(v.ok()) << v.refusal().describe();
		EXPECT_EQ(v->payload, payload);
	}
}

TEST_F(BundleTest, MissingSignature)
{
	const auto pos = bundle_.rfind("signature: ");
	ASSERT_NE(pos, std::string::npos);
	auto v = verify(bundle_.substr(0, pos));
	ASSERT_FALSE(v.ok());
	EXPECT_EQ(v.reason(), Reason::MissingSignature);
	v = verify(bundle_.substr(0, pos) + "signature: \n");
	ASSERT_FALSE(v.ok());
	EXPECT_EQ(v.reason(), Reason::MissingSignature);
}

TEST_F(BundleTest, ForgedSignatureUnderTrustedKeyId)
{
	// An attacker writes the trusted officer's key id but signs with their own key.
	Signer attacker;
	auto forged = sign_bundle("policy", "version = 99\n", attacker.pair.private_pem, kNow);
	ASSERT_TRUE(forged.ok());
	std::string f = *forged;
	const auto at = f.find(attacker.id);
	ASSERT_NE(at, std::string::npos);
	f.replace(at, attacker.id.size(), officer_.id);
	auto v = verify(f);
	ASSERT_FALSE(v.ok());
	EXPECT_EQ(v.reason(), Reason::BadSignature) << v.refusal().describe();

	// A genuine signature from another bundle grafted onto a modified payload.
	std::string g = bundle_;
	g.replace(g.find("version = 3"), 11, "version = 4");
	v = verify(g);
	ASSERT_FALSE(v.ok());
	EXPECT_EQ(v.reason(), Reason::BadSignature);
}

TEST_F(BundleTest, UntrustedKey)
{
	Signer stranger;
	auto b = sign_bundle("policy", kPayload, stranger.pair.private_pem, kNow);
	ASSERT_TRUE(b.ok());
	auto v = verify(*b);
	ASSERT_FALSE(v.ok());
	EXPECT_EQ(v.reason(), Reason::UntrustedKey);

	TempDir empty;
	v = verify_bundle(bundle_, empty.path(), "policy", kNow);
	ASSERT_FALSE(v.ok());
	EXPECT_EQ(v.reason(), Reason::UntrustedKey);
	EXPECT_NE(v.refusal().message.find("no trusted keys"), std::string::npos);

	v = verify_bundle(bundle_, empty / "does-not-exist", "policy", kNow);
	ASSERT_FALSE(v.ok());
	EXPECT_EQ(v.reason(), Reason::Io);
}

TEST_F(BundleTest, GarbageInTrustDirIsSkipped)
{
	test::write_file(trust_ / "broken.pub", "not a key");
	test::write_file(trust_ / "officer.key.txt", officer_.pair.public_pem); // wrong extension
	auto keys = load_trust_dir(trust_.path());
	ASSERT_TRUE(keys.ok());
	EXPECT_EQ(keys->size(), 1u);
	EXPECT_TRUE(verify_bundle(bundle_, trust_.path(), "policy", kNow).ok());
}

TEST_F(BundleTest, WrongKind)
{
	auto v = verify(bundle_, "hotlist");
	ASSERT_FALSE(v.ok());
	EXPECT_EQ(v.reason(), Reason::WrongKind);
}

TEST_F(BundleTest, SignedInFuture)
{
	auto b = sign_bundle("policy", kPayload, officer_.pair.private_pem,
			     kNow + kClockSkew + std::chrono::seconds(1));
	ASSERT_TRUE(b.ok());
	auto v = verify(*b);
	ASSERT_FALSE(v.ok());
	EXPECT_EQ(v.reason(), Reason::SignedInFuture);
	b = sign_bundle("policy", kPayload, officer_.pair.private_pem, kNow + kClockSkew);
	ASSERT_TRUE(b.ok());
	EXPECT_TRUE(verify(*b).ok());
}

TEST_F(BundleTest, EveryTruncationIsRefused)
{
	const auto sig_line = bundle_.rfind("signature: ");
	for (std::size_t len = 0; len < bundle_.size(); ++len) {
		auto v = verify(bundle_.substr(0, len));
		ASSERT_FALSE(v.ok()) << "prefix of " << len << " bytes accepted";
		const Reason want = len == sig_line ? Reason::MissingSignature : Reason::Truncated;
		EXPECT_EQ(v.reason(), want) << "prefix " << len << ": " << v.refusal().describe();
	}
}

TEST_F(BundleTest, TrailingDataIsRefused)
{
	auto v = verify(bundle_ + "x");
	ASSERT_FALSE(v.ok());
	EXPECT_EQ(v.reason(), Reason::Malformed);
	v = verify(bundle_ + bundle_);
	ASSERT_FALSE(v.ok());
}

TEST_F(BundleTest, EveryFlippedByteIsRefused)
{
	const auto payload_at = bundle_.find(kPayload);
	const auto payload_end = payload_at + kPayload.size();
	const auto key_at = bundle_.find("key-id: ") + 8;
	const auto sig_at = bundle_.rfind("signature: ") + 11;
	for (std::size_t i = 0; i < bundle_.size(); ++i) {
		for (const unsigned char mask : {0x01, 0x20, 0x80}) {
			std::string b = bundle_;
			b[i] = static_cast<char>(static_cast<unsigned char>(b[i]) ^ mask);
			auto v = verify(b);
			ASSERT_FALSE(v.ok()) << "flip " << int(mask) << " at " << i << " accepted";
			const Reason r = v.reason();
			if (i >= payload_at && i < payload_end) {
				EXPECT_EQ(r, Reason::BadSignature) << "payload byte " << i;
			} else if (i >= key_at && i < key_at + 64) {
				EXPECT_TRUE(r == Reason::UntrustedKey || r == Reason::Malformed)
					<< "key-id byte " << i << ": " << v.refusal().describe();
			} else if (i >= sig_at && i + 1 < bundle_.size()) {
				EXPECT_TRUE(r == Reason::BadSignature || r == Reason::Malformed)
					<< "signature byte " << i << ": " << v.refusal().describe();
			} else {
				EXPECT_NE(r, Reason::Io) << "byte " << i;
			}
		}
	}
}

TEST_F(BundleTest, NonCanonicalBase64SignatureIsRefused)
{
	// The last base64 digit before "==" carries 4 spare bits; a change there must not pass.
	const auto eq = bundle_.rfind("==\n");
	ASSERT_NE(eq, std::string::npos);
	std::string b = bundle_;
	static constexpr std::string_view alphabet =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const auto idx = alphabet.find(b[eq - 1]);
	b[eq - 1] = alphabet[(idx & ~std::size_t{15}) | ((idx + 1) & 15)];
	auto v = verify(b);
	ASSERT_FALSE(v.ok());
	EXPECT_EQ(v.reason(), Reason::Malformed);
}

TEST(BundleTime, FormatParseRoundTrip)
{
	auto t = parse_utc("2024-02-29T23:59:59Z");
	ASSERT_TRUE(t.ok());
	EXPECT_EQ(format_utc(*t), "2024-02-29T23:59:59Z");
	EXPECT_FALSE(parse_utc("2023-02-29T00:00:00Z").ok());
	EXPECT_FALSE(parse_utc("2023-01-01T24:00:00Z").ok());
	EXPECT_FALSE(parse_utc("2023-01-01 00:00:00Z").ok());
	EXPECT_FALSE(parse_utc("2023-01-01T00:00:00+01:00").ok());
}

TEST(BundleSign, RefusesBadKindAndKey)
{
	auto p = crypto::ed25519_generate();
	ASSERT_TRUE(p.ok());
	EXPECT_FALSE(sign_bundle("Policy", "x", p->private_pem).ok());
	EXPECT_FALSE(sign_bundle("", "x", p->private_pem).ok());
	EXPECT_FALSE(sign_bundle("policy", "x", "not a pem").ok());
	EXPECT_FALSE(sign_bundle("policy", "x", p->public_pem).ok());
}

} // namespace
} // namespace lethe::policy
