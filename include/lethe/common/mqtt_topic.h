// SPDX-License-Identifier: GPL-3.0-or-later
// What Lethe accepts as an MQTT topic to publish to (configuration and policy alike).
#pragma once

#include <cstddef>
#include <string_view>

namespace lethe {

/// Longest topic accepted, in bytes (MQTT allows 65535; no real topic needs more than this).
inline constexpr std::size_t kMaxPublishTopicBytes = 256;

/// Is t a concrete topic to publish to: 1..kMaxPublishTopicBytes bytes, no wildcard (+ #),
/// no control character (NUL included) and not a broker-reserved "$" topic ($SYS/...)?
[[nodiscard]] bool is_publish_topic(std::string_view t);

} // namespace lethe
