// SPDX-License-Identifier: GPL-3.0-or-later
// A parsed Ed25519 public key, for verifying many seals without re-reading the PEM each time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "lethe/common/crypto.h"
#include "lethe/common/result.h"

namespace lethe::audit {

class PublicKey
{
public:
	[[nodiscard]] static Result<PublicKey> parse(std::string_view pem);
	[[nodiscard]] bool verify(std::string_view msg, const crypto::Bytes &sig) const;
	[[nodiscard]] const std::string &key_id() const { return key_id_; }

private:
	struct Free {
		void operator()(void *key) const;
	};
	std::shared_ptr<void> key_; ///< EVP_PKEY
	std::string key_id_;
};

} // namespace lethe::audit
