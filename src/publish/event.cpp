// SPDX-License-Identifier: GPL-3.0-or-later
// Hit event JSON (schema lethe.hit/1): serialisation, parsing and validation; UUID v4.
#include <cmath>

#include <nlohmann/json.hpp>

#include "lethe/publish/event.h"

#include "lethe/common/utc_time.h"
#include "lethe/common/uuid.h"

namespace lethe::publish {

using nlohmann::json;

void set_hit(HitEvent &event, const hotlist::Hit &hit)
{
	event.list_id = hit.entry.list_id;
	event.category = hit.entry.category;
	event.match_type = hit.type;
	event.list_region = hit.entry.region;
	event.agency_ref = hit.entry.agency_ref;
	event.reason = hit.entry.reason;
	event.stale = hit.stale;
}

std::string new_event_id()
{
	auto id = new_uuid4();
	return id ? std::move(id).value() : std::string();
}

namespace {

Result<TimePoint> parse_time_ms(const std::string &s)
{
	// YYYY-MM-DDTHH:MM:SS(.mmm)Z
	if (s.size() == 24 && s[19] == '.') {
		auto base = hotlist::parse_utc(s.substr(0, 19) + "Z");
		if (!base)
			return base.error();
		int ms = 0;
		for (int i = 20; i < 23; ++i) {
			if (s[static_cast<std::size_t>(i)] < '0' || s[static_cast<std::size_t>(i)] > '9')
				return make_error(-EINVAL, "bad milliseconds in '" + s + "'");
			ms = ms * 10 + (s[static_cast<std::size_t>(i)] - '0');
		}
		if (s[23] != 'Z')
			return make_error(-EINVAL, "time must end in Z: '" + s + "'");
		return *base + std::chrono::milliseconds(ms);
	}
	return hotlist::parse_utc(s);
}

} // namespace

std::string to_json(const HitEvent &e)
{
	json j;
	j["schema"] = kEventSchema;
	j["event_id"] = e.event_id;
	j["device_id"] = e.device_id;
	j["camera_id"] = e.camera_id;
	j["time"] = format_utc_ms(e.time);
	if (e.location) {
		json loc = {{"lat", e.location->latitude}, {"lon", e.location->longitude}};
		if (e.location->accuracy_m)
			loc["accuracy_m"] = *e.location->accuracy_m;
		j["location"] = loc;
	}
	if (!e.location_text.empty())
		j["location_text"] = e.location_text;
	j["plate"] = e.plate;
	j["confidence"] = e.confidence;
	j["region"] = e.region;
	j["hotlist"] = {{"list_id", e.list_id},
			{"category", e.category},
			{"match_type", hotlist::match_type_name(e.match_type)},
			{"region", e.list_region},
			{"agency_ref", e.agency_ref},
			{"reason", e.reason}};
	j["stale"] = e.stale;
	j["verification_required"] = true;
	j["crop_jpeg_base64"] = crypto::to_base64(e.crop_jpeg);
	j["policy"] = {{"id", e.policy_id}, {"version", e.policy_version}};
	return j.dump();
}

Result<HitEvent> event_from_json(std::string_view text)
{
	HitEvent e;
	try {
		const json j = json::parse(text);
		if (j.at("schema").get<std::string>() != kEventSchema)
			return make_error(-EINVAL, "schema: want " + std::string(kEventSchema));
		e.event_id = j.at("event_id").get<std::string>();
		if (!is_uuid_v4(e.event_id))
			return make_error(-EINVAL, "event_id: not a lower-case UUID v4");
		e.device_id = j.at("device_id").get<std::string>();
		e.camera_id = j.at("camera_id").get<std::string>();
		auto t = parse_time_ms(j.at("time").get<std::string>());
		if (!t)
			return make_error(-EINVAL, "time: " + t.error().message);
		e.time = *t;
		if (j.contains("location")) {
			const auto &l = j.at("location");
			Location loc;
			loc.latitude = l.at("lat").get<double>();
			loc.longitude = l.at("lon").get<double>();
			if (std::fabs(loc.latitude) > 90 || std::fabs(loc.longitude) > 180)
				return make_error(-EINVAL, "location: out of range");
			if (l.contains("accuracy_m"))
				loc.accuracy_m = l.at("accuracy_m").get<double>();
			e.location = loc;
		}
		if (j.contains("location_text")) {
			e.location_text = j.at("location_text").get<std::string>();
			if (e.location_text.empty() || e.location_text.size() > 128)
				return make_error(-EINVAL, "location_text: want 1..128 characters");
		}
		e.plate = j.at("plate").get<std::string>();
		if (e.plate.empty())
			return make_error(-EINVAL, "plate: empty");
		e.confidence = j.at("confidence").get<double>();
		if (!(e.confidence >= 0 && e.confidence <= 1))
			return make_error(-EINVAL, "confidence: want 0..1");
		e.region = j.at("region").get<std::string>();
		const auto &h = j.at("hotlist");
		e.list_id = h.at("list_id").get<std::string>();
		e.category = h.at("category").get<std::string>();
		const auto mt = h.at("match_type").get<std::string>();
		bool known = false;
		for (auto t2 : {hotlist::MatchType::Exact, hotlist::MatchType::Confusion,
				hotlist::MatchType::MissingChar, hotlist::MatchType::ExtraChar}) {
			if (hotlist::match_type_name(t2) == mt) {
				e.match_type = t2;
				known = true;
			}
		}
		if (!known)
			return make_error(-EINVAL, "hotlist.match_type: unknown '" + mt + "'");
		e.list_region = h.at("region").get<std::string>();
		e.agency_ref = h.at("agency_ref").get<std::string>();
		e.reason = h.at("reason").get<std::string>();
		e.stale = j.at("stale").get<bool>();
		if (j.at("verification_required").get<bool>() != true)
			return make_error(-EINVAL, "verification_required: must be true");
		auto crop = crypto::from_base64(j.at("crop_jpeg_base64").get<std::string>());
		if (!crop)
			return make_error(-EINVAL, "crop_jpeg_base64: not base64");
		e.crop_jpeg = std::move(crop).value();
		e.policy_id = j.at("policy").at("id").get<std::string>();
		e.policy_version = j.at("policy").at("version").get<std::uint64_t>();
	} catch (const std::exception &ex) {
		return make_error(-EINVAL, std::string("event JSON: ") + ex.what());
	}
	return e;
}

} // namespace lethe::publish
