// SPDX-License-Identifier: GPL-3.0-or-later
// MQTT framing and the walk of broker property blocks as libmosquitto 2.0 parses them.
#include "lethe/publish/mqtt_inspect.h"

#include <array>
#include <cstdio>
#include <optional>

namespace lethe::publish::mqtt {

namespace {

/// A variable byte integer at b[at..] (at most 4 bytes), as packet__read_varint() reads it
/// (without its overlong-encoding check: a walk that goes on where libmosquitto would stop
/// only ever refuses a packet libmosquitto refuses too). False if b ends first or the
/// encoding is longer than 4 bytes.
bool varint(std::string_view b, std::size_t &at, std::uint32_t &out)
{
	out = 0;
	for (int i = 0; i < 4; ++i) {
		if (at >= b.size())
			return false;
		const auto byte = static_cast<std::uint8_t>(b[at++]);
		out |= static_cast<std::uint32_t>(byte & 0x7F) << (7 * i);
		if (!(byte & 0x80))
			return true;
	}
	return false;
}

/// Walk one property block at body[at..] as property__read_all() and property__read() do,
/// including their unsigned length arithmetic (it wraps when a property overruns the block's
/// length, and the walk reads on until the packet ends). The first identifier libmosquitto
/// does not know, if the walk reaches one before the packet ends; libmosquitto aborts there.
/// Strings are not checked for UTF-8 here (libmosquitto stops at a bad one, cleanly).
std::optional<std::uint32_t> unknown_property(std::string_view body, std::size_t at)
{
	std::uint32_t len = 0;
	if (!varint(body, at, len))
		return std::nullopt;
	auto take = [&](std::size_t n) {
		if (at + n > body.size())
			return false;
		at += n;
		len -= static_cast<std::uint32_t>(n);
		return true;
	};
	auto take_string = [&] {
		if (at + 2 > body.size())
			return false;
		const std::size_t n =
		    (static_cast<std::size_t>(static_cast<std::uint8_t>(body[at])) << 8) |
		    static_cast<std::uint8_t>(body[at + 1]);
		return take(2 + n);
	};
	while (len > 0) {
		std::uint32_t id = 0;
		if (!varint(body, at, id))
			return std::nullopt;
		len -= 1; // libmosquitto counts one byte for the identifier, however long
		bool ok = true;
		switch (id) {
		case 1:  // payload format indicator
		case 23: // request problem information
		case 25: // request response information
		case 36: // maximum QoS
		case 37: // retain available
		case 40: // wildcard subscription available
		case 41: // subscription identifiers available
		case 42: // shared subscription available
			ok = take(1);
			break;
		case 19: // server keep alive
		case 33: // receive maximum
		case 34: // topic alias maximum
		case 35: // topic alias
			ok = take(2);
			break;
		case 2:  // message expiry interval
		case 17: // session expiry interval
		case 24: // will delay interval
		case 39: // maximum packet size
			ok = take(4);
			break;
		case 11: { // subscription identifier
			const std::size_t before = at;
			std::uint32_t v = 0;
			ok = varint(body, at, v);
			len -= static_cast<std::uint32_t>(at - before);
			break;
		}
		case 3:  // content type
		case 8:  // response topic
		case 18: // assigned client identifier
		case 21: // authentication method
		case 26: // response information
		case 28: // server reference
		case 31: // reason string
		case 9:  // correlation data
		case 22: // authentication data
			ok = take_string();
			break;
		case 38: // user property
			ok = take_string() && take_string();
			break;
		default:
			return id;
		}
		if (!ok)
			return std::nullopt;
	}
	return std::nullopt;
}

} // namespace

std::string_view packet_name(std::uint8_t type)
{
	static constexpr std::array<std::string_view, 16> names = {
	    "reserved (0)", "CONNECT",  "CONNACK",    "PUBLISH", "PUBACK",      "PUBREC",
	    "PUBREL",       "PUBCOMP",  "SUBSCRIBE",  "SUBACK",  "UNSUBSCRIBE", "UNSUBACK",
	    "PINGREQ",      "PINGRESP", "DISCONNECT", "AUTH"};
	return names[type & 0x0F];
}

Result<std::size_t> frame_length(std::string_view buf, std::size_t max_packet)
{
	std::size_t remaining = 0;
	for (std::size_t i = 1; i <= 4; ++i) {
		if (i >= buf.size())
			return std::size_t{0};
		const auto b = static_cast<std::uint8_t>(buf[i]);
		remaining |= static_cast<std::size_t>(b & 0x7F) << (7 * (i - 1));
		if (b & 0x80)
			continue;
		const std::size_t total = i + 1 + remaining;
		if (total > max_packet)
			return make_error(
			    -EMSGSIZE,
			    std::string(packet_name(static_cast<std::uint8_t>(buf[0]) >> 4)) +
			        " of " + std::to_string(total) + " bytes (at most " +
			        std::to_string(max_packet) + " accepted)");
		return buf.size() >= total ? total : std::size_t{0};
	}
	return make_error(-EPROTO, "remaining length longer than 4 bytes");
}

Result<int> connect_protocol_level(std::string_view buf)
{
	if (buf.empty())
		return 0;
	if (static_cast<std::uint8_t>(buf[0]) != 0x10)
		return make_error(-EPROTO, "the client's first packet is not a CONNECT");
	std::size_t at = 1;
	std::uint32_t remaining = 0;
	if (!varint(buf, at, remaining))
		return buf.size() >= 5 ? Result<int>(make_error(-EPROTO, "bad CONNECT length")) : 0;
	// Variable header: protocol name (length-prefixed: "MQTT", or "MQIsdp" for 3.1), level.
	if (at + 2 > buf.size())
		return 0;
	const std::size_t name =
	    (static_cast<std::size_t>(static_cast<std::uint8_t>(buf[at])) << 8) |
	    static_cast<std::uint8_t>(buf[at + 1]);
	const std::size_t level_at = at + 2 + name;
	if (name > 6)
		return make_error(-EPROTO, "CONNECT with an unknown protocol name");
	if (level_at >= buf.size())
		return 0;
	return static_cast<int>(static_cast<std::uint8_t>(buf[level_at]));
}

Status check_from_broker(std::string_view packet, int protocol_level)
{
	if (protocol_level != 5 || packet.size() < 2)
		return {}; // before MQTT 5, packets carry no properties
	const auto b0 = static_cast<std::uint8_t>(packet[0]);
	std::size_t at = 1;
	std::uint32_t remaining = 0;
	if (!varint(packet, at, remaining) || at + remaining > packet.size())
		return {}; // not a complete packet: framing is frame_length()'s job
	const std::string_view body = packet.substr(at, remaining);
	// Where libmosquitto's handler for this packet type reads its property block.
	std::size_t props = std::string_view::npos;
	switch (b0 >> 4) {
	case 2:  // CONNACK: flags, reason code, properties
	case 9:  // SUBACK: packet id, properties
	case 11: // UNSUBACK: packet id, properties
		props = 2;
		break;
	case 3: // PUBLISH: topic, packet id if QoS > 0, properties
		if (body.size() >= 2)
			props =
			    2 +
			    ((static_cast<std::size_t>(static_cast<std::uint8_t>(body[0])) << 8) |
			     static_cast<std::uint8_t>(body[1])) +
			    (((b0 >> 1) & 3) ? 2 : 0);
		break;
	case 4: // PUBACK, PUBREC, PUBREL, PUBCOMP: packet id, reason code, properties if longer
	case 5:
	case 6:
	case 7:
		if (body.size() > 3)
			props = 3;
		break;
	case 14: // DISCONNECT, AUTH: reason code, properties if longer
	case 15:
		if (body.size() > 1)
			props = 1;
		break;
	default:
		break;
	}
	if (props == std::string_view::npos || props >= body.size())
		return {};
	if (const auto id = unknown_property(body, props)) {
		char hex[16];
		std::snprintf(hex, sizeof(hex), "0x%02x", static_cast<unsigned>(*id));
		return make_error(-EPROTO,
		                  "broker sent an MQTT 5 property libmosquitto cannot parse (id " +
		                      std::string(hex) + " in " +
		                      std::string(packet_name(b0 >> 4)) + ")");
	}
	return {};
}

} // namespace lethe::publish::mqtt
