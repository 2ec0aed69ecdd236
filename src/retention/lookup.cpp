// SPDX-License-Identifier: GPL-3.0-or-later
// Retro-hit lookup over the retention store's keyed digests (exact and one missing character).
#include "lethe/retention/lookup.h"

#include <algorithm>

#include "lethe/common/crypto.h"
#include "lethe/retention/digest.h"

namespace lethe::retention {

Result<std::vector<PlateSighting>> find_plate(Retention &store, std::string_view plate,
					      WallTime since, bool one_missing_char)
{
	std::vector<PlateSighting> rows;
	auto find = [&](std::string_view text, const char *match) -> Status {
		auto found = store.find_digest(text, since);
		if (!found)
			return found.error();
		for (const auto &s : *found)
			rows.push_back({s.camera, s.seen, match});
		return {};
	};
	if (Status st = find(plate, "exact"); !st)
		return st.error();
	if (one_missing_char) {
		// Each one-character deletion (ASCII positions only; at least 4 characters left).
		const crypto::SecretBytes norm = normalise_plate(plate);
		std::vector<std::string> variants;
		variants.reserve(norm.size()); // no reallocation: no unwiped copies
		if (norm.size() >= 5)
			for (std::size_t i = 0; i < norm.size(); ++i)
				if (norm[i] < 0x80) {
					variants.emplace_back(norm.begin(), norm.end());
					variants.back().erase(i, 1);
				}
		Status st;
		for (std::size_t i = 0; i < variants.size() && st; ++i)
			if (std::find(variants.begin(), variants.begin() + static_cast<long>(i),
				      variants[i]) == variants.begin() + static_cast<long>(i))
				st = find(variants[i], "missing_char");
		for (auto &v : variants)
			crypto::wipe(v);
		if (!st)
			return st.error();
	}
	std::sort(rows.begin(), rows.end(),
		  [](const PlateSighting &a, const PlateSighting &b) { return a.seen < b.seen; });
	return rows;
}

} // namespace lethe::retention
