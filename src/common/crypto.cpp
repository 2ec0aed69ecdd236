// SPDX-License-Identifier: GPL-3.0-or-later
// OpenSSL 3 implementations of the crypto wrappers (EVP interfaces only).
#include "lethe/common/crypto.h"

#include <memory>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

namespace lethe::crypto {
namespace {

struct BioFree {
	void operator()(BIO *b) const { BIO_free(b); }
};
struct PkeyFree {
	void operator()(EVP_PKEY *k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
	void operator()(EVP_MD_CTX *c) const { EVP_MD_CTX_free(c); }
};
struct CipherCtxFree {
	void operator()(EVP_CIPHER_CTX *c) const { EVP_CIPHER_CTX_free(c); }
};
struct PkeyCtxFree {
	void operator()(EVP_PKEY_CTX *c) const { EVP_PKEY_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

Result<PkeyPtr> load_private(std::string_view pem)
{
	BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
	if (!bio)
		return make_error(-ENOMEM, "out of memory");
	PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
	if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519)
		return make_error(-EINVAL, "not an Ed25519 private key in PEM form");
	return key;
}

Result<PkeyPtr> load_public(std::string_view pem)
{
	BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
	if (!bio)
		return make_error(-ENOMEM, "out of memory");
	PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
	if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519)
		return make_error(-EINVAL, "not an Ed25519 public key in PEM form");
	return key;
}

std::string bio_string(BIO *bio)
{
	char *data = nullptr;
	const long len = BIO_get_mem_data(bio, &data);
	return std::string(data, static_cast<std::size_t>(len));
}

const unsigned char *u8(const void *p) { return static_cast<const unsigned char *>(p); }

} // namespace

void wipe(void *data, std::size_t size)
{
	if (data && size)
		OPENSSL_cleanse(data, size);
}

Result<SecretBytes> random_bytes(std::size_t n)
{
	SecretBytes out(n);
	if (n && RAND_bytes(out.data(), static_cast<int>(n)) != 1)
		return make_error(-EIO, "RAND_bytes failed");
	return out;
}

Bytes sha256(const void *data, std::size_t size)
{
	Bytes out(32);
	unsigned int len = 0;
	EVP_Digest(data, size, out.data(), &len, EVP_sha256(), nullptr);
	return out;
}

Bytes hmac_sha256(const SecretBytes &key, const void *data, std::size_t size)
{
	Bytes out(32);
	unsigned int len = 0;
	HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), u8(data), size, out.data(),
	     &len);
	return out;
}

Result<SecretBytes> scrypt(const void *pass, std::size_t pass_size, const void *salt,
			   std::size_t salt_size, std::uint64_t n, std::uint64_t r, std::uint64_t p,
			   std::size_t out_size)
{
	SecretBytes out(out_size);
	const std::uint64_t maxmem = 128 * r * (n + p + 2) + (1u << 20);
	static const char empty = 0;
	if (EVP_PBE_scrypt(pass_size ? static_cast<const char *>(pass) : &empty, pass_size,
			   salt_size ? u8(salt) : u8(&empty), salt_size, n, r, p, maxmem, out.data(),
			   out_size) != 1)
		return make_error(-EINVAL, "scrypt failed (bad parameters or out of memory)");
	return out;
}

bool equal(const void *a, const void *b, std::size_t size)
{
	return CRYPTO_memcmp(a, b, size) == 0;
}

Result<Bytes> seal(const SecretBytes &key, const void *plain, std::size_t size,
		   std::string_view aad)
{
	if (key.size() != kAesKeySize)
		return make_error(-EINVAL, "AES-256-GCM needs a 32-byte key");
	auto nonce = random_bytes(kGcmNonceSize);
	if (!nonce)
		return nonce.error();
	std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
	Bytes out(kGcmNonceSize + size + kGcmTagSize);
	std::copy(nonce->begin(), nonce->end(), out.begin());
	int len = 0;
	if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(),
				       nonce->data()) != 1)
		return make_error(-EIO, "AES-GCM init failed");
	if (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, u8(aad.data()),
					      static_cast<int>(aad.size())) != 1)
		return make_error(-EIO, "AES-GCM aad failed");
	if (size && EVP_EncryptUpdate(ctx.get(), out.data() + kGcmNonceSize, &len, u8(plain),
				      static_cast<int>(size)) != 1)
		return make_error(-EIO, "AES-GCM encrypt failed");
	if (EVP_EncryptFinal_ex(ctx.get(), out.data() + kGcmNonceSize + size, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagSize,
				out.data() + kGcmNonceSize + size) != 1)
		return make_error(-EIO, "AES-GCM final failed");
	return out;
}

Result<SecretBytes> open(const SecretBytes &key, const Bytes &sealed, std::string_view aad)
{
	if (key.size() != kAesKeySize)
		return make_error(-EINVAL, "AES-256-GCM needs a 32-byte key");
	if (sealed.size() < kGcmNonceSize + kGcmTagSize)
		return make_error(-EBADMSG, "sealed data too short");
	const std::size_t size = sealed.size() - kGcmNonceSize - kGcmTagSize;
	std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
	SecretBytes out(size);
	int len = 0;
	if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(),
				       sealed.data()) != 1)
		return make_error(-EIO, "AES-GCM init failed");
	if (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, u8(aad.data()),
					      static_cast<int>(aad.size())) != 1)
		return make_error(-EIO, "AES-GCM aad failed");
	if (size && EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data() + kGcmNonceSize,
				      static_cast<int>(size)) != 1)
		return make_error(-EBADMSG, "AES-GCM decrypt failed");
	Bytes tag(sealed.end() - kGcmTagSize, sealed.end());
	if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagSize, tag.data()) != 1 ||
	    EVP_DecryptFinal_ex(ctx.get(), out.data() + size, &len) != 1)
		return make_error(-EBADMSG, "authentication failed (wrong key or modified data)");
	return out;
}

Result<Ed25519KeyPair> ed25519_generate()
{
	PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
	if (!key)
		return make_error(-EIO, "Ed25519 key generation failed");
	BioPtr priv(BIO_new(BIO_s_secmem()));
	BioPtr pub(BIO_new(BIO_s_mem()));
	if (!priv || !pub ||
	    PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr,
				     nullptr) != 1 ||
	    PEM_write_bio_PUBKEY(pub.get(), key.get()) != 1)
		return make_error(-EIO, "cannot encode Ed25519 key as PEM");
	return Ed25519KeyPair{bio_string(priv.get()), bio_string(pub.get())};
}

Result<std::string> ed25519_public_from_private(std::string_view private_pem)
{
	auto key = load_private(private_pem);
	if (!key)
		return key.error();
	BioPtr pub(BIO_new(BIO_s_mem()));
	if (!pub || PEM_write_bio_PUBKEY(pub.get(), key->get()) != 1)
		return make_error(-EIO, "cannot encode public key");
	return bio_string(pub.get());
}

Result<Bytes> ed25519_sign(std::string_view private_pem, const void *msg, std::size_t size)
{
	auto key = load_private(private_pem);
	if (!key)
		return key.error();
	std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
	std::size_t siglen = 64;
	Bytes sig(siglen);
	if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key->get()) != 1 ||
	    EVP_DigestSign(ctx.get(), sig.data(), &siglen, u8(msg), size) != 1)
		return make_error(-EIO, "Ed25519 signing failed");
	sig.resize(siglen);
	return sig;
}

Status ed25519_verify(std::string_view public_pem, const void *msg, std::size_t size,
		      const Bytes &sig)
{
	auto key = load_public(public_pem);
	if (!key)
		return key.error();
	std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
	if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key->get()) != 1)
		return make_error(-EIO, "Ed25519 verify init failed");
	if (EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), u8(msg), size) != 1)
		return make_error(-EBADMSG, "signature does not verify");
	return {};
}

Result<std::string> ed25519_key_id(std::string_view public_pem)
{
	auto key = load_public(public_pem);
	if (!key)
		return key.error();
	unsigned char raw[32];
	std::size_t len = sizeof(raw);
	if (EVP_PKEY_get_raw_public_key(key->get(), raw, &len) != 1)
		return make_error(-EIO, "cannot read raw public key");
	return to_hex(sha256(raw, len));
}

std::string to_hex(const void *data, std::size_t size)
{
	static constexpr char digits[] = "0123456789abcdef";
	std::string out;
	out.reserve(size * 2);
	for (std::size_t i = 0; i < size; ++i) {
		const unsigned char c = u8(data)[i];
		out.push_back(digits[c >> 4]);
		out.push_back(digits[c & 15]);
	}
	return out;
}

Result<Bytes> from_hex(std::string_view hex)
{
	if (hex.size() % 2)
		return make_error(-EINVAL, "odd-length hex string");
	auto nibble = [](char c) -> int {
		if (c >= '0' && c <= '9')
			return c - '0';
		if (c >= 'a' && c <= 'f')
			return c - 'a' + 10;
		if (c >= 'A' && c <= 'F')
			return c - 'A' + 10;
		return -1;
	};
	Bytes out(hex.size() / 2);
	for (std::size_t i = 0; i < out.size(); ++i) {
		const int hi = nibble(hex[2 * i]);
		const int lo = nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return make_error(-EINVAL, "invalid hex digit");
		out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
	}
	return out;
}

std::string to_base64(const void *data, std::size_t size)
{
	std::string out(4 * ((size + 2) / 3) + 1, '\0');
	const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()), u8(data),
				      static_cast<int>(size));
	out.resize(static_cast<std::size_t>(n));
	return out;
}

Result<Bytes> from_base64(std::string_view b64)
{
	if (b64.size() % 4)
		return make_error(-EINVAL, "base64 length is not a multiple of 4");
	Bytes out(3 * b64.size() / 4 + 1);
	const int n = EVP_DecodeBlock(out.data(), u8(b64.data()), static_cast<int>(b64.size()));
	if (n < 0)
		return make_error(-EINVAL, "invalid base64");
	std::size_t len = static_cast<std::size_t>(n);
	// EVP_DecodeBlock counts padding as zero bytes; drop them.
	if (!b64.empty() && b64.back() == '=')
		--len;
	if (b64.size() > 1 && b64[b64.size() - 2] == '=')
		--len;
	out.resize(len);
	return out;
}

} // namespace lethe::crypto
