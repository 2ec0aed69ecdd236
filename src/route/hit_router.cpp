// SPDX-License-Identifier: GPL-3.0-or-later
// HitRouter: match, publish, audit and keep a hit; digest and wipe a non-hit.
#include "lethe/route/hit_router.h"

#include <algorithm>
#include <cstdio>
#include <span>

#include <opencv2/imgcodecs.hpp>

#include "lethe/common/crypto.h"
#include "lethe/common/log.h"
#include "lethe/common/uuid.h"
#include "lethe/publish/event.h"

namespace lethe::route {

std::optional<publish::Location> parse_location(const std::string &text)
{
	double lat = 0, lon = 0;
	char tail = 0;
	if (std::sscanf(text.c_str(), "%lf , %lf %c", &lat, &lon, &tail) == 2 && lat >= -90 &&
	    lat <= 90 && lon >= -180 && lon <= 180)
		return publish::Location{lat, lon, std::nullopt};
	return std::nullopt;
}

HitRouter::HitRouter(retention::Retention &retention, std::vector<Recipient> recipients,
                     Recorder record)
    : retention_(retention), recipients_(std::move(recipients)), record_(std::move(record))
{}

RouterStats HitRouter::stats() const
{
	return {hits_.load(), hits_unpublished_.load(), nonhits_.load(), store_errors_.load()};
}

std::string HitRouter::recipient_of(const std::string &broker_address, const std::string &topic,
                                    const policy::Policy &policy)
{
	std::string name;
	for (const auto &r : policy.recipients)
		if (r.broker == broker_address &&
		    std::find(r.topics.begin(), r.topics.end(), topic) != r.topics.end()) {
			name = r.name;
			break;
		}
	return (name.empty() ? std::string("no recipient") : name) + " (mqtt " + broker_address +
	       " " + topic + ")";
}

void HitRouter::route(track::ReadEvent &&event, const RouteContext &context)
{
	const auto now = std::chrono::system_clock::now();
	std::vector<hotlist::Hit> hits;
	if (context.matchers)
		for (const auto &m : *context.matchers)
			for (auto &h : m->match(event.text, context.policy.hotlist, now))
				hits.push_back(std::move(h));
	if (hits.empty()) {
		route_nonhit(event);
		return;
	}
	crypto::Bytes jpeg;
	if (!event.crop.empty()) {
		std::vector<std::uint8_t> buf;
		if (cv::imencode(".jpg", event.crop, buf, {cv::IMWRITE_JPEG_QUALITY, 90}))
			jpeg.assign(buf.begin(), buf.end());
		crypto::wipe(buf.data(), buf.size());
	}
	for (const auto &h : hits)
		route_hit(event, h, jpeg, context);
	crypto::wipe(jpeg.data(), jpeg.size());
}

void HitRouter::route_nonhit(track::ReadEvent &event)
{
	// Reduced to a keyed digest (or to nothing); the text is wiped here, the pixels when
	// the event is destroyed.
	retention::NonHit nh;
	nh.plate = event.text;
	nh.camera = event.camera_id;
	if (!event.crop.empty() && event.crop.isContinuous())
		nh.crop = std::span<std::uint8_t>(event.crop.data,
		                                  event.crop.total() * event.crop.elemSize());
	if (Status s = retention_.record_nonhit(nh); !s) {
		++store_errors_;
		LOG(Retention, Error) << "non-hit not recorded: " << s.error().message;
	}
	crypto::wipe(nh.plate);
	++nonhits_;
}

void HitRouter::route_hit(const track::ReadEvent &event, const hotlist::Hit &hit,
                          const crypto::Bytes &jpeg, const RouteContext &context)
{
	const policy::Policy &policy = context.policy;
	++hits_;
	// One id for the event every broker gets, its audit entries and the hit record.
	auto id = new_uuid4();
	if (!id) {
		++hits_unpublished_;
		++store_errors_;
		LOG(Publish, Error) << "hit on list " << hit.entry.list_id
		                    << " not routed: no event id (" << id.error().message << ")";
		return;
	}
	publish::HitEvent ev;
	ev.event_id = std::move(id).value();
	ev.device_id = context.device_id;
	ev.camera_id = event.camera_id;
	ev.time = event.first_seen;
	ev.location = parse_location(context.location);
	if (!ev.location)
		ev.location_text = context.location; // free text, published as written
	ev.plate = event.text;
	ev.confidence = event.confidence;
	ev.region = event.region;
	publish::set_hit(ev, hit);
	ev.crop_jpeg = jpeg;
	ev.policy_id = policy.id;
	ev.policy_version = policy.version;

	LOG(Hotlist, Info) << "hit on list " << ev.list_id << " (" << ev.category << ", "
	                   << hotlist::match_type_name(hit.type) << (hit.stale ? ", stale" : "")
	                   << ") camera " << ev.camera_id << " event " << ev.event_id;
	bool published = false;
	for (const auto &r : recipients_) {
		// One entry per recipient: the hit's plate (a hit), the event id the recipient
		// sees, who got it over which broker and topic.
		audit::AuditEntry e;
		e.action = "publish";
		e.target = audit::AuditTarget::hit_plate(ev.plate);
		e.event = ev.event_id;
		e.recipient = recipient_of(r.address, r.topic, policy);
		e.policy_hash = policy.hash;
		if (!hit.publishable) {
			e.outcome = audit::Outcome::Refused;
			e.result_count = 0;
			e.reason = "stale hot list: the policy does not publish stale hits";
			record_(std::move(e));
			continue;
		}
		if (Status s = r.publisher->publish(ev); s) {
			published = true;
			e.outcome = audit::Outcome::Success;
			e.result_count = 1;
		} else {
			LOG(Publish, Warning) << "hit " << ev.event_id << " not queued for "
			                      << r.name << ": " << s.error().message;
			e.outcome = audit::Outcome::Refused;
			e.result_count = 0;
			e.reason = s.error().message;
		}
		record_(std::move(e));
	}
	if (!published)
		++hits_unpublished_;
	// The device's own hit record comes after the outbox: a crash between the two may cost
	// this record, never the delivery (the outbox is resent after a restart).
	retention::Hit rh;
	rh.event_id = ev.event_id;
	rh.plate = event.text;
	rh.camera = event.camera_id;
	rh.region = event.region;
	rh.confidence = event.confidence;
	rh.list_id = ev.list_id;
	rh.category = ev.category;
	rh.match_type = std::string(hotlist::match_type_name(hit.type));
	rh.image = jpeg;
	rh.seen = ev.time; // the instant the published event names
	if (auto r = retention_.record_hit(rh); !r) {
		++store_errors_;
		LOG(Retention, Error) << "hit record not stored: " << r.error().message;
	}
	crypto::wipe(rh.plate); // ev.plate is wiped by ~HitEvent
}

} // namespace lethe::route
