// SPDX-License-Identifier: GPL-3.0-or-later
// Test policies built on policy::strictest().
#include "support/policies.h"

namespace lethe::test {

policy::Policy make_policy(std::chrono::seconds nonhit, std::chrono::seconds hit,
			   const PolicyOptions &options)
{
	policy::Policy p = policy::strictest();
	p.id = options.id;
	p.version = options.version;
	p.hash = options.hash;
	p.retention.nonhit_digest = nonhit;
	p.retention.hit_record = hit;
	p.retention.hit_image = options.hit_image.value_or(hit);
	p.retention.outbox = options.outbox;
	p.retention.key_rotation = std::chrono::seconds{60};
	p.retro_hit_queries = options.retro_hit_queries;
	p.hotlist.categories = options.hotlist_categories;
	p.recipients = options.recipients;
	return p;
}

} // namespace lethe::test
