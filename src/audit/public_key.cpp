// SPDX-License-Identifier: GPL-3.0-or-later
// A parsed Ed25519 public key (OpenSSL EVP), verified against many messages.
#include "audit/public_key.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

namespace lethe::audit {

void PublicKey::Free::operator()(void *key) const { EVP_PKEY_free(static_cast<EVP_PKEY *>(key)); }

Result<PublicKey> PublicKey::parse(std::string_view pem)
{
	auto id = crypto::ed25519_key_id(pem);
	if (!id)
		return id.error();
	BIO *bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
	if (!bio)
		return make_error(-ENOMEM, "out of memory");
	EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
	BIO_free(bio);
	if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(key);
		return make_error(-EINVAL, "not an Ed25519 public key in PEM form");
	}
	PublicKey k;
	k.key_ = std::shared_ptr<void>(key, Free{});
	k.key_id_ = std::move(id.value());
	return k;
}

bool PublicKey::verify(std::string_view msg, const crypto::Bytes &sig) const
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return false;
	const bool ok =
		EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr,
				     static_cast<EVP_PKEY *>(key_.get())) == 1 &&
		EVP_DigestVerify(ctx, sig.data(), sig.size(),
				 reinterpret_cast<const unsigned char *>(msg.data()), msg.size()) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

} // namespace lethe::audit
