// SPDX-License-Identifier: GPL-3.0-or-later
// Thin OpenSSL wrappers: random, SHA-256, HMAC, AES-256-GCM, Ed25519, wiping buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lethe/common/result.h"

namespace lethe::crypto {

/// Overwrite memory so the compiler cannot elide it (OPENSSL_cleanse).
void wipe(void *data, std::size_t size);
/// The whole buffer (its capacity, not only its size: a string that shrank keeps the old
/// characters past its end), then empty.
inline void wipe(std::string &s)
{
	wipe(s.data(), s.capacity());
	s.clear();
}

/// Allocator that wipes memory before freeing it: for keys and plate text.
template<typename T>
struct WipingAllocator {
	using value_type = T;
	WipingAllocator() = default;
	template<typename U>
	WipingAllocator(const WipingAllocator<U> &) noexcept {} // NOLINT(google-explicit-constructor)
	T *allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
	void deallocate(T *p, std::size_t n) noexcept
	{
		wipe(p, n * sizeof(T));
		std::allocator<T>{}.deallocate(p, n);
	}
	template<typename U>
	bool operator==(const WipingAllocator<U> &) const noexcept { return true; }
};

using Bytes = std::vector<std::uint8_t>;
/// Secret bytes: wiped when freed.
using SecretBytes = std::vector<std::uint8_t, WipingAllocator<std::uint8_t>>;

[[nodiscard]] Result<SecretBytes> random_bytes(std::size_t n);

[[nodiscard]] Bytes sha256(const void *data, std::size_t size);
[[nodiscard]] inline Bytes sha256(std::string_view s) { return sha256(s.data(), s.size()); }

[[nodiscard]] Bytes hmac_sha256(const SecretBytes &key, const void *data, std::size_t size);

/// scrypt (RFC 7914) via EVP_PBE_scrypt: memory-hard stretching, 128·r·N bytes of RAM per call.
[[nodiscard]] Result<SecretBytes> scrypt(const void *pass, std::size_t pass_size, const void *salt,
					 std::size_t salt_size, std::uint64_t n, std::uint64_t r,
					 std::uint64_t p, std::size_t out_size);

/// Constant-time equality.
[[nodiscard]] bool equal(const void *a, const void *b, std::size_t size);

constexpr std::size_t kAesKeySize = 32;
constexpr std::size_t kGcmNonceSize = 12;
constexpr std::size_t kGcmTagSize = 16;

/// AES-256-GCM: returns nonce || ciphertext || tag; aad is authenticated, not encrypted.
[[nodiscard]] Result<Bytes> seal(const SecretBytes &key, const void *plain, std::size_t size,
				 std::string_view aad = {});
/// Inverse of seal(); fails (-EBADMSG) on any modification or the wrong key.
[[nodiscard]] Result<SecretBytes> open(const SecretBytes &key, const Bytes &sealed,
				       std::string_view aad = {});

/// Ed25519 key pair as PEM text (PKCS#8 private key, SubjectPublicKeyInfo public key).
struct Ed25519KeyPair {
	std::string private_pem;
	std::string public_pem;
};
[[nodiscard]] Result<Ed25519KeyPair> ed25519_generate();
/// Public key PEM for a private key PEM.
[[nodiscard]] Result<std::string> ed25519_public_from_private(std::string_view private_pem);
[[nodiscard]] Result<Bytes> ed25519_sign(std::string_view private_pem, const void *msg,
					 std::size_t size);
/// Ok only if sig is a valid signature of msg under public_pem.
[[nodiscard]] Status ed25519_verify(std::string_view public_pem, const void *msg, std::size_t size,
				    const Bytes &sig);
/// Hex SHA-256 of the raw 32-byte public key: a stable key id.
[[nodiscard]] Result<std::string> ed25519_key_id(std::string_view public_pem);

[[nodiscard]] std::string to_hex(const void *data, std::size_t size);
[[nodiscard]] inline std::string to_hex(const Bytes &b) { return to_hex(b.data(), b.size()); }
[[nodiscard]] Result<Bytes> from_hex(std::string_view hex);
[[nodiscard]] std::string to_base64(const void *data, std::size_t size);
[[nodiscard]] inline std::string to_base64(const Bytes &b) { return to_base64(b.data(), b.size()); }
[[nodiscard]] Result<Bytes> from_base64(std::string_view b64);

} // namespace lethe::crypto
