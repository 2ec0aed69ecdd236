// SPDX-License-Identifier: GPL-3.0-or-later
// What Lethe accepts as an MQTT topic to publish to (configuration and policy alike).
#include "lethe/common/mqtt_topic.h"

#include <algorithm>

namespace lethe {

bool is_publish_topic(std::string_view t)
{
	if (t.empty() || t.size() > kMaxPublishTopicBytes || t.front() == '$')
		return false;
	return std::all_of(t.begin(), t.end(), [](char c) {
		const auto u = static_cast<unsigned char>(c);
		return c != '+' && c != '#' && u >= 0x20 && u != 0x7f;
	});
}

} // namespace lethe
