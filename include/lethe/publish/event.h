// SPDX-License-Identifier: GPL-3.0-or-later
// The hit event sent over MQTT (docs/mqtt.md, docs/mqtt-event.schema.json) and device health.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lethe/common/crypto.h"
#include "lethe/common/result.h"
#include "lethe/common/uuid.h"
#include "lethe/hotlist/hotlist.h"

namespace lethe::publish {

using TimePoint = std::chrono::system_clock::time_point;

/// Schema identifier carried in every event ("schema" field).
constexpr std::string_view kEventSchema = "lethe.hit/1";

struct Location {
	double latitude = 0;  ///< WGS 84 degrees, -90..90
	double longitude = 0; ///< WGS 84 degrees, -180..180
	std::optional<double> accuracy_m;
};

/// One hit: a read that matched a hot list. Only hits ever leave the device.
struct HitEvent {
	std::string event_id; ///< UUID v4 (new_event_id()); consumers deduplicate by it
	std::string device_id;
	std::string camera_id;
	TimePoint time{};     ///< when the plate was read (UTC)
	std::optional<Location> location;
	std::string location_text; ///< the configured location when it is free text, not "lat,lon"
	std::string plate;    ///< the read text (normalised), known at hit time
	double confidence = 0; ///< OCR/track confidence 0..1
	std::string region;   ///< the plate syntax the reader used ([reader] region), not read
			      ///< from the plate; may be empty
	std::string list_id;
	std::string category;
	hotlist::MatchType match_type = hotlist::MatchType::Exact;
	std::string list_region; ///< the hot-list record's region
	std::string agency_ref;  ///< the hot-list record's agency reference
	std::string reason;      ///< the hot-list record's reason
	bool stale = false;
	crypto::Bytes crop_jpeg; ///< JPEG of the plate region only
	std::string policy_id;
	std::uint64_t policy_version = 0;

	~HitEvent() { crypto::wipe(plate); }
	HitEvent() = default;
	HitEvent(const HitEvent &) = default;
	HitEvent(HitEvent &&) = default;
	HitEvent &operator=(const HitEvent &) = default;
	HitEvent &operator=(HitEvent &&) = default;
};

/// Fill the hot-list fields of an event from a matcher hit.
void set_hit(HitEvent &event, const hotlist::Hit &hit);

/// A random (version 4) UUID, lower-case hex with dashes (lethe::new_uuid4); empty when the
/// system RNG fails, and Publisher::publish() then draws again and refuses the hit if that
/// fails too: an event never goes out with an all-zero or empty id.
[[nodiscard]] std::string new_event_id();
/// Is s an event id as new_event_id() makes them (a lower-case UUID v4)?
using ::lethe::is_uuid_v4;

/// The event as compact JSON (the MQTT payload). verification_required is always true.
[[nodiscard]] std::string to_json(const HitEvent &event);
/// Parse and check an event (consumers, tests): every required field, types and ranges.
[[nodiscard]] Result<HitEvent> event_from_json(std::string_view json);

/// Periodic device health for the retained status topic. No plates, ever.
struct Health {
	double frames_per_second = 0;
	std::uint64_t frames = 0;
	std::uint64_t reads = 0;
	std::uint64_t hits = 0;
	std::optional<std::int64_t> hotlist_age_s; ///< empty without a hot list
	std::string hotlist_id;
};

} // namespace lethe::publish
