// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: the signed-bundle envelope parser and the policy TOML parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lethe/common/crypto.h"
#include "lethe/policy/bundle.h"
#include "lethe/policy/parse.h"

namespace {

const std::vector<lethe::policy::TrustedKey> &keys()
{
	// One trusted key, so that inputs naming its id reach the signature check.
	static const std::vector<lethe::policy::TrustedKey> k = [] {
		auto pair = lethe::crypto::ed25519_generate();
		std::vector<lethe::policy::TrustedKey> v;
		if (pair)
			v.push_back({*lethe::crypto::ed25519_key_id(pair->public_pem), pair->public_pem,
				     "fuzz.pub"});
		return v;
	}();
	return k;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view in(reinterpret_cast<const char *>(data), size);
	const auto now = *lethe::policy::parse_utc("2026-06-01T00:00:00Z");
	auto v = lethe::policy::verify_bundle(in, keys(), "policy", now);
	if (v.ok())
		__builtin_trap(); // nothing may verify without the private key
	auto p = lethe::policy::parse_policy(in, "fuzz.toml");
	if (p.ok())
		(void)lethe::policy::to_json(*p).dump();
	(void)lethe::policy::parse_duration(in);
	return 0;
}
