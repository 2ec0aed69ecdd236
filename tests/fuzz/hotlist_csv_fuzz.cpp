// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: the NCIC-style hot-list CSV importer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lethe/hotlist/hotlist.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);
	lethe::policy::HotlistRules rules;
	rules.categories = {"stolen-vehicle", "amber-alert", "wanted-person", "stolen"};
	auto entries = lethe::hotlist::parse_csv(text, rules);
	if (entries.ok())
		for (const auto &e : *entries)
			(void)lethe::hotlist::confusion_canonical(lethe::hotlist::normalise(e.plate));
	return 0;
}
