// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: the signed-bundle envelope parser and verifier (policies and hot lists).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "lethe/common/crypto.h"
#include "lethe/policy/bundle.h"

namespace {

std::vector<lethe::policy::TrustedKey> &trusted()
{
	static std::vector<lethe::policy::TrustedKey> keys = [] {
		std::vector<lethe::policy::TrustedKey> k;
		auto pair = lethe::crypto::ed25519_generate();
		if (pair) {
			auto id = lethe::crypto::ed25519_key_id(pair->public_pem);
			k.push_back({id ? *id : std::string{}, pair->public_pem, "fuzz.pub"});
		}
		return k;
	}();
	return keys;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);
	auto verified = lethe::policy::verify_bundle(text, trusted(), "policy",
						     lethe::policy::BundleClock::now());
	(void)verified.ok();
	(void)lethe::policy::parse_utc(text);
	return 0;
}
