// SPDX-License-Identifier: GPL-3.0-or-later
// MQTT packet framing and the check of broker packets that libmosquitto 2.0 would abort on.
//
// libmosquitto 2.0.11 (Debian 12) aborts the whole process when a packet from the broker holds
// an MQTT 5 property with an identifier it does not know: property__read() calls
// log__printf(NULL, ...), whose assert(mosq) fires (docs/fuzzing.md, finding 4). The broker
// relay (src/publish/broker_relay.h) frames every packet the broker sends and checks it here
// before libmosquitto sees it. check_from_broker() walks a packet's property block exactly as
// libmosquitto's property__read_all() does — including its unsigned length arithmetic, which
// wraps and reads on when a property overruns the block — and refuses the packet if that walk
// reaches an unknown identifier before the packet ends. Packets libmosquitto would refuse
// cleanly (truncated, bad lengths) are left to libmosquitto.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lethe/common/result.h"

namespace lethe::publish::mqtt {

/// The largest packet (fixed header included) the device accepts from its broker. The device
/// subscribes to nothing: the largest legitimate packet is a CONNACK, PUBACK or DISCONNECT
/// with a reason string and user properties, a few hundred bytes.
inline constexpr std::size_t kMaxBrokerPacket = 256 * 1024;

/// Name of an MQTT control packet type (the high nibble of byte 0): "CONNACK", "PUBACK", …
[[nodiscard]] std::string_view packet_name(std::uint8_t type);

/// Length (fixed header included) of the first packet in buf: 0 while it is incomplete.
/// -EPROTO if its remaining length is not a valid variable byte integer, -EMSGSIZE if the
/// packet is longer than max_packet.
[[nodiscard]] Result<std::size_t> frame_length(std::string_view buf,
                                               std::size_t max_packet = kMaxBrokerPacket);

/// The protocol level a CONNECT packet asks for (5: MQTT 5, 4: 3.1.1, 3: 3.1): 0 while buf
/// holds too little of it, -EPROTO if buf does not start with a CONNECT.
[[nodiscard]] Result<int> connect_protocol_level(std::string_view buf);

/// Check one complete packet the broker sent (fixed header included) for a client speaking
/// protocol_level. -EPROTO, with a message naming the property id and the packet type, if
/// libmosquitto 2.0 would abort the process parsing it.
[[nodiscard]] Status check_from_broker(std::string_view packet, int protocol_level);

} // namespace lethe::publish::mqtt
