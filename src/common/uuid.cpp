// SPDX-License-Identifier: GPL-3.0-or-later
// Random (version 4) UUIDs: hit event ids and retention record ids.
#include "lethe/common/uuid.h"

#include "lethe/common/crypto.h"

namespace lethe {

Result<std::string> new_uuid4()
{
	auto random = crypto::random_bytes(16);
	if (!random)
		return make_error(random.error().code,
				  "cannot make a random id: " + random.error().message);
	crypto::SecretBytes &b = *random;
	b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40); // version 4
	b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
	const std::string h = crypto::to_hex(b.data(), b.size());
	return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
	       h.substr(16, 4) + "-" + h.substr(20, 12);
}

bool is_uuid_v4(std::string_view s)
{
	if (s.size() != 36)
		return false;
	for (std::size_t i = 0; i < s.size(); ++i) {
		const char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false;
		}
	}
	return s[14] == '4' && (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}

} // namespace lethe
