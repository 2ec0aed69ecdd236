// SPDX-License-Identifier: GPL-3.0-or-later
// The built-in strictest policy, in force whenever no valid signed policy is installed.
#include "lethe/policy/policy.h"

namespace lethe::policy {

Policy strictest()
{
	Policy p;
	p.id = "builtin-strictest";
	p.version = 0;
	p.issuer = "lethe";
	p.jurisdiction = "none (no valid policy installed)";
	p.retention = Retention{}; // all zero: destroy immediately
	p.retention.key_rotation = Seconds{60};
	p.hotlist.max_age = Seconds{0};
	p.hotlist.publish_stale = false;
	p.hotlist.categories.clear();
	p.hotlist.match_confusions = false;
	p.hotlist.max_edit_distance = 0;
	p.recipients.clear();
	p.retro_hit_queries = false;
	p.not_before = TimePoint::min();
	p.not_after = TimePoint::max();
	return p;
}

} // namespace lethe::policy
