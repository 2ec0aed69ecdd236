// SPDX-License-Identifier: GPL-3.0-or-later
// Statutory retention maxima of the jurisdictions the policy presets cover (docs/policy-presets.md).
#include "lethe/policy/jurisdiction.h"

#include <array>
#include <cctype>

namespace lethe::policy {

namespace {

constexpr Seconds kDay{86400};

// Keep in step with docs/policy-presets.md ("Statutory caps"), which gives the sources.
constexpr std::array kCaps{
	StatutoryCap{"US-NH", Seconds{3 * 60}, "N.H. RSA 261:75-b (purged within 3 minutes)"},
	StatutoryCap{"US-ME", 21 * kDay, "29-A M.R.S. §2117-A (not kept more than 21 days)"},
	StatutoryCap{"US-VA", 21 * kDay, "Code of Virginia §2.2-5517 (purged after 21 days)"},
	StatutoryCap{"US-MN", 60 * kDay, "Minn. Stat. §13.824 subd. 3 (destroyed within 60 days)"},
	StatutoryCap{"DE", Seconds{0},
		     "Land police laws and § 163g StPO (non-hits deleted at once, without a trace)"},
};

bool starts_with_code(std::string_view text, std::string_view code)
{
	if (text.size() < code.size())
		return false;
	for (std::size_t i = 0; i < code.size(); ++i)
		if (std::toupper(static_cast<unsigned char>(text[i])) != code[i])
			return false;
	// A word boundary: end of text or anything but a letter or digit ("DE-BY", "DE (Land").
	return text.size() == code.size() ||
	       std::isalnum(static_cast<unsigned char>(text[code.size()])) == 0;
}

} // namespace

const StatutoryCap *statutory_cap(std::string_view jurisdiction)
{
	for (const auto &cap : kCaps)
		if (starts_with_code(jurisdiction, cap.code))
			return &cap;
	return nullptr;
}

} // namespace lethe::policy
