// SPDX-License-Identifier: GPL-3.0-or-later
// HitRouter: a finished read → hot-list match → hit events to each broker → audit → retention.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lethe/audit/audit_log.h"
#include "lethe/hotlist/hotlist.h"
#include "lethe/policy/policy.h"
#include "lethe/publish/publisher.h"
#include "lethe/retention/retention.h"
#include "lethe/track/tracker.h"

namespace lethe::route {

/// The compiled hot lists in force, shared with whoever swaps them (reload).
using Matchers = std::vector<std::unique_ptr<hotlist::Matcher>>;

/// One broker a hit goes to. The publisher is lent: it must outlive the router.
struct Recipient {
	std::string name;    ///< the broker's name in lethed.toml
	std::string address; ///< host:port, as policy recipients name it
	std::string topic;   ///< hit topic
	publish::Publisher *publisher = nullptr;
};

/// What one read is routed under: taken by the caller at the moment the read ends.
struct RouteContext {
	policy::Policy policy;
	std::shared_ptr<const Matchers> matchers; ///< null: no hot list, everything is a non-hit
	std::string device_id;
	std::string location; ///< "lat,lon" or free text
};

struct RouterStats {
	std::uint64_t hits = 0;
	std::uint64_t hits_unpublished = 0; ///< hits no broker accepted
	std::uint64_t nonhits = 0;
	std::uint64_t store_errors = 0; ///< records the retention store refused
};

/// Routes each finished read. A non-hit is reduced to a keyed digest (or to nothing, by the
/// policy) and its text wiped; a hit becomes one event per hot-list match, queued on every
/// broker (one audit entry per recipient: who got which event over which topic), then kept as
/// the device's own hit record. Thread-safe: route() may be called from any thread; the
/// counters are atomics. Never throws.
class HitRouter
{
public:
	/// Appends an audit entry by the device itself (the daemon fills in actor and role).
	using Recorder = std::function<void(audit::AuditEntry)>;

	/// `retention` is lent and must outlive the router, as must each recipient's publisher.
	HitRouter(retention::Retention &retention, std::vector<Recipient> recipients,
	          Recorder record);

	void route(track::ReadEvent &&event, const RouteContext &context);

	[[nodiscard]] RouterStats stats() const;

	/// The policy recipient a broker's hit topic goes to: "NAME (mqtt HOST:PORT TOPIC)".
	[[nodiscard]] static std::string recipient_of(const std::string &broker_address,
	                                              const std::string &topic,
	                                              const policy::Policy &policy);

private:
	void route_nonhit(track::ReadEvent &event);
	void route_hit(const track::ReadEvent &event, const hotlist::Hit &hit,
	               const crypto::Bytes &jpeg, const RouteContext &context);

	retention::Retention &retention_;
	const std::vector<Recipient> recipients_;
	Recorder record_;
	std::atomic<std::uint64_t> hits_{0}, hits_unpublished_{0}, nonhits_{0}, store_errors_{0};
};

/// "lat,lon" in a location string gives coordinates for an event; anything else is free text.
[[nodiscard]] std::optional<publish::Location> parse_location(const std::string &text);

} // namespace lethe::route
