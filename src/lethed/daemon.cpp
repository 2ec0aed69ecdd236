// SPDX-License-Identifier: GPL-3.0-or-later
// Daemon assembly: read events → hot-list match → publish (hits) / keyed digest (non-hits).
#include "daemon.h"

#include <sys/statvfs.h>
#include <sys/timex.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "lethe/common/crypto.h"
#include "lethe/common/log.h"
#include "lethe/common/memory_wipe.h"
#include "lethe/common/rounding.h"
#include "lethe/audit/query_digest.h"
#include "lethe/retention/lookup.h"
#include "lethe/retention/report.h"
#include "notify.h"

namespace lethe::daemon {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

json error_reply(const std::string &code, const std::string &message)
{
	return {{"ok", false}, {"code", code}, {"error", message}};
}

/// "lat,lon" in a location string gives coordinates for the event; free text goes in
/// location_text.
std::optional<publish::Location> parse_location(const std::string &text)
{
	double lat = 0, lon = 0;
	char tail = 0;
	if (std::sscanf(text.c_str(), "%lf , %lf %c", &lat, &lon, &tail) == 2 && lat >= -90 &&
	    lat <= 90 && lon >= -180 && lon <= 180)
		return publish::Location{lat, lon, std::nullopt};
	return std::nullopt;
}

audit::RoleMap role_map(const config::Config &c)
{
	return audit::RoleMap::from_config(c.roles);
}

} // namespace

Daemon::Daemon(config::Config config) : config_(std::move(config)) {}

Result<std::unique_ptr<Daemon>> Daemon::create(config::Config config)
{
	std::unique_ptr<Daemon> d(new Daemon(std::move(config)));
	if (Status s = d->open_stores(); !s)
		return s.error();
	if (Status s = d->open_publishers(); !s)
		return s.error();
	if (Status s = d->build_pipeline(); !s)
		return s.error();
	auto control = ControlServer::create(
		d->config_.control_socket(),
		[raw = d.get()](const json &request, int fd) { return raw->handle(request, fd); },
		[raw = d.get()](int fd, const std::string &reason) { raw->rejected(fd, reason); },
		[raw = d.get()](uid_t uid, std::uint64_t busy, std::uint64_t dropped) {
			raw->throttled(uid, busy, dropped);
		});
	if (!control)
		return control.error();
	d->control_ = std::move(control).value();
	return d;
}

Daemon::~Daemon()
{
	stop();
}

Status Daemon::open_stores()
{
	const std::filesystem::path state = config_.device.state_dir;
	std::error_code ec;
	std::filesystem::create_directories(state, ec);
	if (ec)
		return make_error(-EIO, "state directory " + state.string() + ": " + ec.message());

	auto log = audit::AuditLog::open({state});
	if (!log)
		return make_error(log.error().code, "audit log: " + log.error().message);
	audit_ = std::move(log).value();
	authorizer_ = std::make_shared<audit::Authorizer>(role_map(config_), *audit_);
	record("daemon.start", audit::Outcome::Success, audit::AuditTarget::object(config_.device.id));

	load_policy();

	retention::Config rc;
	rc.state_dir = state;
	rc.key_mode = config_.device.key_mode == "ram" ? store::KeyMode::Ram : store::KeyMode::File;
	auto ret = retention::Retention::create(rc, current_policy());
	if (!ret)
		return make_error(ret.error().code, "retention store: " + ret.error().message);
	retention_ = std::move(ret).value();
	record_purge(retention_->startup_purge(), "start-up");
	// Deadlines keep falling due while the rest starts (model loading took 13 s on a loaded
	// CI box): the purge worker runs from here, not from start(), so no record outlives its
	// deadline by the start-up time. Outbox expiry is audited once the publishers exist.
	purger_ = retention::PurgeWorker::start(
		*retention_, std::chrono::milliseconds{250},
		[this](const Result<retention::PurgeResult> &r) { on_purge_cycle(r); });

	auto hl = hotlist::HotlistStore::open(state);
	if (!hl)
		return make_error(hl.error().code, "hot-list store: " + hl.error().message);
	hotlists_ = std::move(hl).value();
	load_hotlists();

	// Outbox entries are sealed under the retention key store's epoch keys: destroying an
	// epoch (retention) crypto-erases the hits still waiting in it.
	outbox_keys_ = std::make_unique<publish::KeyStoreOutboxKeys>(
		retention_->keys(), current_policy().retention.key_rotation);
	return {};
}

Status Daemon::open_publishers()
{
	const std::filesystem::path state = config_.device.state_dir;
	const policy::Policy policy = current_policy();
	for (const auto &b : config_.brokers) {
		Broker broker;
		broker.name = b.name;
		broker.topic = b.hit_topic;
		auto ob = publish::Outbox::open(state / ("outbox-" + b.name + ".db"), *outbox_keys_);
		if (!ob)
			return make_error(ob.error().code, "outbox " + b.name + ": " + ob.error().message);
		broker.outbox = std::move(ob).value();
		publish::PublisherConfig pc;
		pc.device_id = config_.device.id;
		pc.host = b.host;
		pc.port = static_cast<int>(b.port);
		pc.client_id = b.client_id;
		pc.hit_topic = b.hit_topic;
		pc.status_topic = b.status_topic; // "" = none (the config fills in the default)
		pc.username = b.username;
		pc.password_file = b.password_file;
		broker.status_topic = pc.status_topic;
		broker.status_topic_set = b.status_topic_configured && !b.status_topic.empty();
		// Each status message carries the figures of that moment (brokers_ goes before
		// the pipeline and the stores: stop() clears it).
		pc.health = [this] { return health(); };
		pc.keepalive = std::chrono::seconds(b.keepalive_s);
		pc.mqtt5 = b.mqtt_version == 5;
		pc.retention_now = [r = retention_.get()] { return r->now(); }; // outlives brokers_
		if (b.tls) {
			pc.tls = true;
			pc.ca_file = b.tls->ca_file;
			pc.cert_file = b.tls->cert_file;
			pc.key_file = b.tls->key_file;
		}
		broker.address = pc.broker();
		auto pub = publish::Publisher::create(pc, *broker.outbox, policy);
		if (!pub)
			return make_error(pub.error().code, "broker " + b.name + ": " + pub.error().message);
		broker.publisher = std::move(pub).value();
		brokers_.push_back(std::move(broker));
	}
	return {};
}

Status Daemon::build_pipeline()
{
	auto p = Pipeline::create(config_, [this](track::ReadEvent &&e) { on_event(std::move(e)); });
	if (!p)
		return p.error();
	std::lock_guard lock(pipeline_mutex_);
	pipeline_ = std::move(p).value();
	return {};
}

Status Daemon::start()
{
	for (auto &b : brokers_)
		b.publisher->start();
	publishers_started_.store(true, std::memory_order_release); // brokers_ is complete
	{
		std::lock_guard lock(pipeline_mutex_);
		pipeline_->start();
	}
	control_->start();
	LOG(Daemon, Info) << "lethed " << LETHE_VERSION << " running as device " << config_.device.id;
	log_topic_checks();
	return {};
}

void Daemon::stop()
{
	if (stopped_.exchange(true))
		return;
	if (control_)
		control_->stop();
	{
		std::lock_guard lock(pipeline_mutex_);
		if (pipeline_)
			pipeline_->stop(); // open tracks end here: their hits reach the outbox
	}
	for (auto &b : brokers_)
		if (b.publisher)
			b.publisher->stop(); // unsent hits stay in the outbox for the next start
	if (purger_)
		purger_->stop();
	if (audit_) {
		record("daemon.stop", audit::Outcome::Success, audit::AuditTarget::object(config_.device.id));
		(void)audit_->seal();
	}
	brokers_.clear();
}

void Daemon::load_policy()
{
	auto eff = policy::load_effective(config_.device.state_dir, config_.device.trust_dir,
					  retention::trusted_now(config_.device.state_dir));
	if (eff.fallback)
		LOG(Policy, Warning) << "no valid policy in force (" << eff.why
				     << "): strictest mode — nothing retained, nothing published";
	else
		LOG(Policy, Info) << "policy in force: " << eff.policy.id << " v" << eff.policy.version;
	// Audit: every installed bundle the daemon refuses, then what it applies.
	std::vector<audit::AuditEntry> entries;
	for (const auto &ip : eff.installed) {
		if (!ip.problem)
			continue;
		audit::AuditEntry e;
		e.action = "policy.load";
		e.target = audit::AuditTarget::object(
			(ip.id.empty() ? ip.file.filename().string() : ip.id) + " v" +
			std::to_string(ip.version));
		e.outcome = audit::Outcome::Refused;
		e.reason = ip.problem->describe();
		e.policy_hash = ip.hash;
		entries.push_back(std::move(e));
	}
	{
		audit::AuditEntry e;
		e.action = "policy.load";
		if (eff.fallback) {
			e.target = audit::AuditTarget::object("strictest");
			e.outcome = audit::Outcome::Failed;
			e.reason = "no valid policy in force (" + eff.why +
				   "): strictest mode, nothing retained or published";
		} else {
			std::string sources;
			for (const auto &ip : eff.installed)
				if (ip.in_force)
					sources += (sources.empty() ? "" : ", ") + ip.id + " v" +
						   std::to_string(ip.version);
			e.target = audit::AuditTarget::object(sources.empty() ? eff.policy.id : sources);
			e.outcome = audit::Outcome::Success;
		}
		e.policy_hash = eff.policy.hash;
		entries.push_back(std::move(e));
	}
	{
		std::lock_guard lock(policy_mutex_);
		effective_ = std::move(eff);
	}
	for (auto &e : entries)
		record(std::move(e));
}

policy::Policy Daemon::current_policy() const
{
	std::lock_guard lock(policy_mutex_);
	return effective_.policy;
}

void Daemon::load_hotlists()
{
	auto all = hotlists_->load_all();
	std::vector<hotlist::InstalledList> lists;
	{
		std::lock_guard lock(policy_mutex_);
		if (!all) {
			// Keep matching against what was loaded before rather than against nothing.
			hotlist_error_ = all.error().message;
			LOG(Hotlist, Error) << "hot lists not (re)loaded: " << hotlist_error_;
		} else {
			hotlist_error_.clear();
			matchers_ = std::make_shared<const std::vector<std::unique_ptr<hotlist::Matcher>>>(
				std::move(all).value());
			installed_lists_ = hotlists_->list();
			lists = installed_lists_;
			LOG(Hotlist, Info) << matchers_->size() << " hot list(s) loaded";
		}
	}
	// Audit (outside the lock: record() reads the policy). Compiled lists hold digests only;
	// errors name files and lines, never an entry.
	if (!all) {
		record("hotlist.load", audit::Outcome::Failed, audit::AuditTarget::object("hotlists"),
		       "hot lists not (re)loaded, the previous ones stay in use: " +
			       all.error().message);
		return;
	}
	for (const auto &l : lists) {
		audit::AuditEntry e;
		e.action = "hotlist.load";
		e.target = audit::AuditTarget::object(l.info.id + " v" + std::to_string(l.info.version));
		e.result_count = static_cast<std::int64_t>(l.entries);
		for (const auto &[category, n] : l.categories)
			e.counts[category] = static_cast<std::int64_t>(n);
		record(std::move(e));
	}
}

void Daemon::record(audit::AuditEntry e)
{
	if (!audit_)
		return;
	e.actor = "lethed";
	e.uid = static_cast<std::int64_t>(::getuid());
	e.role = std::string(audit::role_name(audit::Role::System));
	{
		std::lock_guard lock(config_mutex_);
		e.organisation = config_.roles.organisation;
	}
	if (e.policy_hash.empty())
		e.policy_hash = current_policy().hash;
	const std::string action = e.action;
	if (Status s = audit_->append(std::move(e)); !s) {
		LOG(Audit, Error) << "audit entry " << action << " not written: " << s.error().message;
	}
}

void Daemon::record(const std::string &action, audit::Outcome outcome, audit::AuditTarget target,
		    const std::string &reason, std::optional<std::int64_t> count)
{
	audit::AuditEntry e;
	e.action = action;
	e.target = std::move(target);
	e.result_count = count;
	e.outcome = outcome;
	e.reason = reason;
	record(std::move(e));
}

void Daemon::record_purge(const retention::PurgeResult &r, const std::string &when)
{
	if (r.total()) {
		audit::AuditEntry e;
		e.action = "purge";
		e.target = audit::AuditTarget::object("retention:" + when);
		e.result_count = r.total();
		for (retention::DataClass c : retention::kDataClasses)
			e.counts[std::string(retention::class_name(c))] =
				r.purged[static_cast<int>(c)];
		if (!r.wal_truncated)
			e.reason = "WAL not truncated yet (a reader is active): retried next cycle";
		record(std::move(e));
	}
	if (r.keys_destroyed) {
		audit::AuditEntry e;
		e.action = "keys.destroy";
		e.target = audit::AuditTarget::object("epoch-keys:" + when);
		e.result_count = r.keys_destroyed;
		e.counts["epoch_keys"] = r.keys_destroyed;
		record(std::move(e));
	}
}

void Daemon::on_purge_cycle(const Result<retention::PurgeResult> &r)
{
	if (!r) {
		// Once per failing streak, not every 250 ms.
		if (!purge_failing_)
			record("purge", audit::Outcome::Failed, audit::AuditTarget::object("retention"),
			       r.error().message);
		purge_failing_ = true;
	} else {
		if (purge_failing_)
			record("purge", audit::Outcome::Success, audit::AuditTarget::object("retention"),
			       "purging works again");
		purge_failing_ = false;
		record_purge(*r, "deadline");
	}
	// Hits that expired in an outbox unsent (the publisher deletes them). brokers_ is built
	// while this thread already runs: read it only once start() has published it.
	for (auto &b : publishers_started_.load(std::memory_order_acquire) ? brokers_
									    : no_brokers_) {
		const std::uint64_t purged = b.publisher->stats().purged;
		if (purged > b.outbox_purged) {
			audit::AuditEntry e;
			e.action = "purge";
			e.target = audit::AuditTarget::object("outbox:" + b.name);
			e.result_count = static_cast<std::int64_t>(purged - b.outbox_purged);
			e.counts["outbox"] = *e.result_count;
			e.reason = "expired unsent (outbox retention)";
			record(std::move(e));
			b.outbox_purged = purged;
		}
	}
	if (!audit_)
		return;
	// Seal on time (seal_interval) even when nothing else is appended.
	const auto mono = std::chrono::steady_clock::now();
	if (mono - last_seal_check_ >= 5s) {
		last_seal_check_ = mono;
		if (Status s = audit_->tick(); !s) {
			LOG(Audit, Error) << "audit log not sealed: " << s.error().message;
		}
	}
	// Audit-log retention: the policy's, never below its minimum (AuditLog::purge), applied
	// at least hourly, more often when the retention itself is short.
	const auto now = std::chrono::system_clock::now();
	if (now < next_audit_purge_)
		return;
	const policy::Policy policy = current_policy();
	const auto keep = std::max(policy.retention.audit_log, policy.retention.audit_log_minimum);
	next_audit_purge_ = now + std::clamp<std::chrono::system_clock::duration>(
					  keep / 4, std::chrono::seconds{1}, std::chrono::hours{1});
	auto purged = audit_->purge(policy, now, std::chrono::steady_clock::now());
	if (!purged) {
		LOG(Audit, Error) << "audit log retention not applied: " << purged.error().message;
		if (!audit_purge_failing_)
			record("audit.purge", audit::Outcome::Failed, audit::AuditTarget::object("audit.log"),
			       purged.error().message);
		audit_purge_failing_ = true;
		return;
	}
	audit_purge_failing_ = false;
	if (purged->purged) {
		LOG(Audit, Info) << "audit log retention: " << purged->purged << " record(s) purged, "
				 << purged->kept << " kept";
	}
}

std::string Daemon::recipient_of(const std::string &broker_address, const std::string &topic,
				 const policy::Policy &policy) const
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

std::shared_ptr<audit::Authorizer> Daemon::authorizer() const
{
	std::lock_guard lock(authz_mutex_);
	return authorizer_;
}

void Daemon::on_event(track::ReadEvent &&event)
{
	const auto now = std::chrono::system_clock::now();
	policy::Policy policy;
	std::shared_ptr<const std::vector<std::unique_ptr<hotlist::Matcher>>> matchers;
	{
		std::lock_guard lock(policy_mutex_);
		policy = effective_.policy;
		matchers = matchers_;
	}
	std::vector<hotlist::Hit> hits;
	if (matchers)
		for (const auto &m : *matchers)
			for (auto &h : m->match(event.text, policy.hotlist, now))
				hits.push_back(std::move(h));

	if (hits.empty()) {
		// A non-hit: reduced to a keyed digest (or to nothing); text and pixels wiped.
		retention::NonHit nh;
		nh.plate = event.text;
		nh.camera = event.camera_id;
		if (!event.crop.empty() && event.crop.isContinuous())
			nh.crop = std::span<std::uint8_t>(event.crop.data,
							  event.crop.total() * event.crop.elemSize());
		if (Status s = retention_->record_nonhit(nh); !s) {
			++store_errors_;
			LOG(Retention, Error) << "non-hit not recorded: " << s.error().message;
		}
		crypto::wipe(nh.plate);
		++nonhits_;
		return;
	}

	crypto::Bytes jpeg;
	if (!event.crop.empty()) {
		std::vector<std::uint8_t> buf;
		if (cv::imencode(".jpg", event.crop, buf, {cv::IMWRITE_JPEG_QUALITY, 90}))
			jpeg.assign(buf.begin(), buf.end());
		crypto::wipe(buf.data(), buf.size());
	}
	std::string location = config_.device.location;
	{
		std::lock_guard lock(config_mutex_);
		for (const auto &c : config_.cameras)
			if (c.source.camera_id == event.camera_id && !c.location.empty())
				location = c.location;
	}

	for (const auto &h : hits) {
		++hits_;
		publish::HitEvent ev;
		ev.event_id = publish::new_event_id();
		ev.device_id = config_.device.id;
		ev.camera_id = event.camera_id;
		ev.time = event.first_seen;
		ev.location = parse_location(location);
		if (!ev.location)
			ev.location_text = location; // free text, published as written
		ev.plate = event.text;
		ev.confidence = event.confidence;
		ev.region = event.region;
		publish::set_hit(ev, h);
		ev.crop_jpeg = jpeg;
		ev.policy_id = policy.id;
		ev.policy_version = policy.version;

		LOG(Hotlist, Info) << "hit on list " << ev.list_id << " (" << ev.category << ", "
				   << hotlist::match_type_name(h.type) << (h.stale ? ", stale" : "")
				   << ") camera " << ev.camera_id << " event " << ev.event_id;
		bool published = false;
		for (auto &b : brokers_) {
			// One entry per recipient: the hit's plate (a hit), the event id the
			// recipient sees, who got it over which broker and topic.
			audit::AuditEntry e;
			e.action = "publish";
			e.target = audit::AuditTarget::hit_plate(ev.plate);
			e.event = ev.event_id;
			e.recipient = recipient_of(b.address, b.topic, policy);
			e.policy_hash = policy.hash;
			if (!h.publishable) {
				e.outcome = audit::Outcome::Refused;
				e.result_count = 0;
				e.reason = "stale hot list: the policy does not publish stale hits";
				record(std::move(e));
				continue;
			}
			Status s = b.publisher->publish(ev);
			if (s) {
				published = true;
				e.outcome = audit::Outcome::Success;
				e.result_count = 1;
			} else {
				LOG(Publish, Warning) << "hit " << ev.event_id << " not queued for "
						      << b.name << ": " << s.error().message;
				e.outcome = audit::Outcome::Refused;
				e.result_count = 0;
				e.reason = s.error().message;
			}
			record(std::move(e));
		}
		if (!published)
			++hits_unpublished_;
		// The device's own hit record comes after the outbox: a crash between the two may
		// cost this record, never the delivery (the outbox is resent after a restart).
		retention::Hit rh;
		rh.event_id = ev.event_id;
		rh.plate = event.text;
		rh.camera = event.camera_id;
		rh.region = event.region;
		rh.confidence = event.confidence;
		rh.list_id = ev.list_id;
		rh.category = ev.category;
		rh.match_type = std::string(hotlist::match_type_name(h.type));
		rh.image = jpeg;
		rh.seen = ev.time; // the instant the published event names
		if (auto r = retention_->record_hit(rh); !r) {
			++store_errors_;
			LOG(Retention, Error) << "hit record not stored: " << r.error().message;
		}
		crypto::wipe(rh.plate);
	}
	crypto::wipe(jpeg.data(), jpeg.size());
}

Status Daemon::reload()
{
	std::lock_guard serial(reload_mutex_);
	LOG(Daemon, Info) << "reloading " << config_.path;
	auto fresh = config::load(config_.path);
	if (!fresh) {
		LOG(Config, Error) << "new configuration refused, keeping the running one:\n"
				   << fresh.error().message;
		// The first line names file:line and the key; values are not copied.
		const std::string &m = fresh.error().message;
		record("config.change", audit::Outcome::Refused,
		       audit::AuditTarget::object(config_.path),
		       "invalid configuration, the running one stays: " +
			       m.substr(0, std::min<std::size_t>(m.find('\n'), 200)));
		return fresh.error();
	}
	config::Config next = std::move(fresh).value();
	std::string changed, deferred;
	auto note = [](std::string &list, bool differs, const char *section) {
		if (differs)
			list += (list.empty() ? "" : ",") + std::string(section);
	};
	note(deferred, next.device != config_.device, "device");
	note(deferred, next.brokers != config_.brokers, "broker");
	if (!deferred.empty()) {
		LOG(Config, Warning) << "device or broker settings changed: they take effect at the "
					"next restart";
	}
	note(changed, next.cameras != config_.cameras, "camera");
	note(changed, next.pipeline != config_.pipeline, "pipeline");
	note(changed, next.reader != config_.reader, "reader");
	note(changed, next.tracker != config_.tracker, "tracker");
	note(changed, next.roles != config_.roles, "roles");
	note(changed, next.log != config_.log, "log");
	if (!std::getenv("LETHE_LOG_LEVELS"))
		(void)log::set_levels(next.log.levels);

	load_policy();
	const policy::Policy policy = current_policy();
	if (Status s = retention_->set_policy(policy); !s) {
		LOG(Retention, Error) << "policy not applied to retention: " << s.error().message;
		record("policy.load", audit::Outcome::Failed, audit::AuditTarget::object("retention"),
		       "policy not applied to retention: " + s.error().message);
	}
	for (auto &b : brokers_)
		b.publisher->set_policy(policy);
	log_topic_checks();
	load_hotlists();

	const bool rebuild = next.cameras != config_.cameras || next.pipeline != config_.pipeline ||
			     next.reader != config_.reader || next.tracker != config_.tracker;
	if (rebuild) {
		// Drain the running pipeline first: its queued reads and open tracks go through
		// match/publish into the outbox, so no hit is lost across the reload.
		std::unique_ptr<Pipeline> old;
		{
			std::lock_guard lock(pipeline_mutex_);
			old = std::move(pipeline_);
		}
		if (old)
			old->stop();
		old.reset();
	}
	{
		std::lock_guard lock(config_mutex_);
		const auto brokers = config_.brokers;
		const auto device = config_.device;
		config_ = std::move(next);
		config_.brokers = brokers; // kept until restart (see above)
		config_.device = device;
	}
	{
		// New role map: requests from now on are decided by it.
		std::lock_guard lock(authz_mutex_);
		authorizer_ = std::make_shared<audit::Authorizer>(role_map(config_), *audit_);
	}
	if (rebuild) {
		if (Status s = build_pipeline(); !s) {
			LOG(Daemon, Error) << "pipeline not rebuilt: " << s.error().message;
			return s;
		}
		std::lock_guard lock(pipeline_mutex_);
		pipeline_->start();
	}
	{
		audit::AuditEntry e;
		e.action = "config.change";
		// What changed, by section: "FILE (changed: camera,roles; at restart: broker)".
		e.target = audit::AuditTarget::object(
			config_.path + " (changed: " + (changed.empty() ? std::string("nothing") : changed) +
			(deferred.empty() ? std::string() : "; at restart: " + deferred) + ")");
		record(std::move(e));
	}
	LOG(Daemon, Info) << "reloaded" << (rebuild ? " (pipeline rebuilt)" : "");
	return {};
}

bool Daemon::finished() const
{
	std::lock_guard lock(pipeline_mutex_);
	return pipeline_ && pipeline_->finished();
}

bool Daemon::flush_outbox(std::chrono::milliseconds timeout) const
{
	const auto deadline = std::chrono::steady_clock::now() + timeout;
	for (const auto &b : brokers_) {
		const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			deadline - std::chrono::steady_clock::now());
		if (!b.publisher->wait_until_empty(std::max(left, 0ms)))
			return false;
	}
	return true;
}

bool Daemon::frames_flowing(std::chrono::steady_clock::duration window) const
{
	std::lock_guard lock(pipeline_mutex_);
	return pipeline_ && pipeline_->frames_flowing(window);
}

publish::Health Daemon::health() const
{
	publish::Health h;
	PipelineStats ps;
	{
		std::lock_guard lock(pipeline_mutex_);
		if (pipeline_)
			ps = pipeline_->stats();
	}
	h.frames_per_second = ps.frames_per_second;
	h.frames = ps.frames_read;
	h.reads = ps.events;
	h.hits = hits_.load();
	// The oldest list: the age an integrator alerts on.
	const auto now = std::chrono::system_clock::now();
	std::lock_guard lock(policy_mutex_);
	if (matchers_)
		for (const auto &m : *matchers_) {
			const std::int64_t age = m->age(now).count();
			if (!h.hotlist_age_s || age > *h.hotlist_age_s) {
				h.hotlist_age_s = age;
				h.hotlist_id = m->info().id;
			}
		}
	return h;
}

std::vector<Daemon::TopicCheck> Daemon::topic_checks() const
{
	policy::Policy policy;
	{
		std::lock_guard lock(policy_mutex_);
		if (effective_.fallback)
			return {};
		policy = effective_.policy;
	}
	const std::string named = "policy '" + policy.id + "' v" + std::to_string(policy.version);
	std::vector<TopicCheck> out;
	for (const auto &b : brokers_) {
		const std::string where = "broker " + b.name + " (" + b.address + "): ";
		const std::size_t before = out.size();
		if (b.topic.empty())
			out.push_back({"warn", where + "no hit_topic configured: no hit is sent there"});
		else if (!publish::Publisher::allowed(policy, b.address, b.topic))
			out.push_back({"FAIL", where + named + " does not allow the hit topic '" +
						       b.topic + "': every hit is refused"});
		if (!b.status_topic.empty() && // "" = no status messages
		    !publish::Publisher::allowed(policy, b.address, b.status_topic)) {
			const bool set = b.status_topic_set;
			out.push_back({set ? "FAIL" : "warn",
				       where + named + " does not allow the " + (set ? "" : "default ") +
					       "status topic '" + b.status_topic + "': no status is sent"});
		}
		if (out.size() == before)
			out.push_back({"ok", where + named + " allows hit topic '" + b.topic + "'" +
						     (b.status_topic.empty()
							      ? std::string(" (no status topic)")
							      : " and status topic '" + b.status_topic + "'")});
	}
	return out;
}

void Daemon::log_topic_checks() const
{
	for (const auto &c : topic_checks()) {
		if (c.result == "FAIL") {
			LOG(Publish, Error) << c.detail;
		} else if (c.result == "warn") {
			LOG(Publish, Warning) << c.detail;
		}
	}
}

json Daemon::status_json() const
{
	json j{{"ok", true}, {"device_id", config_.device.id}, {"version", LETHE_VERSION}};
	j["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(
				std::chrono::steady_clock::now() - started_)
				.count();
	json problems = json::array();
	{
		std::lock_guard lock(policy_mutex_);
		const auto &p = effective_.policy;
		j["policy"] = {{"id", p.id}, {"version", p.version}, {"hash", p.hash},
			       {"fallback", effective_.fallback}, {"why", effective_.why}};
		if (effective_.fallback)
			problems.push_back("no valid policy: strictest mode (" + effective_.why + ")");
		json lists = json::array();
		const auto now = std::chrono::system_clock::now();
		if (matchers_)
			for (const auto &m : *matchers_) {
				const bool stale = m->stale(p.hotlist, now);
				lists.push_back({{"id", m->info().id}, {"version", m->info().version},
						 {"entries", m->size()}, {"age_s", m->age(now).count()},
						 {"stale", stale}});
				if (stale)
					problems.push_back("hot list " + m->info().id + " is stale");
			}
		j["hotlists"] = lists;
		if (!hotlist_error_.empty())
			problems.push_back("hot lists: " + hotlist_error_);
	}
	PipelineStats ps;
	{
		std::lock_guard lock(pipeline_mutex_);
		if (pipeline_)
			ps = pipeline_->stats();
	}
	json cams = json::array();
	for (const auto &c : ps.cameras) {
		const double since = c.last_frame == std::chrono::steady_clock::time_point{}
					     ? -1
					     : std::chrono::duration<double>(std::chrono::steady_clock::now() -
									     c.last_frame)
						       .count();
		cams.push_back({{"id", c.camera_id}, {"source", c.source}, {"open", c.open},
				{"ended", c.ended}, {"frames", c.frames}, {"failures", c.failures},
				{"reopens", c.reopens}, {"pool_exhausted", c.pool_exhausted},
				{"last_frame_s", round_decimals(since, 3)},
				{"last_error", c.last_error}});
		cams.back()["skipped"] = c.skipped; // replay files that were not loadable images
		if (!c.open && !c.ended)
			problems.push_back("camera " + c.camera_id + " is down: " + c.last_error);
	}
	j["cameras"] = cams;
	j["pipeline"] = {{"frames_captured", ps.frames_captured}, {"frames_dropped", ps.frames_dropped},
			 {"frames_read", ps.frames_read}, {"read_errors", ps.read_errors},
			 {"sightings", ps.sightings}, {"events", ps.events},
			 {"frame_queue", ps.frame_queue}, {"event_queue", ps.event_queue},
			 {"tracks", ps.tracks},
			 {"frames_per_second", round_decimals(ps.frames_per_second, 2)},
			 {"finished", finished()}};
	j["hits"] = hits_.load();
	j["hits_unpublished"] = hits_unpublished_.load();
	j["nonhits"] = nonhits_.load();
	j["store_errors"] = store_errors_.load();
	// How freed memory is wiped in this build (docs/retention.md): the C++ allocator's
	// blocks by lethed's operator delete, or by AddressSanitizer's free fill.
	j["memory_wipe"] = {{"freed_blocks", memory::freed_block_wiper()},
			    {"image_bytes_wiped", memory::mat_bytes_wiped()}};
	json brokers = json::array();
	for (const auto &b : brokers_) {
		const auto s = b.publisher->stats();
		brokers.push_back({{"name", b.name}, {"connected", s.connected}, {"protocol", s.protocol},
				   {"queued", s.queued}, {"acked", s.acked}, {"refused", s.refused},
				   {"outbox_depth", s.outbox_depth}, {"last_error", s.last_error}});
		if (!s.connected)
			problems.push_back("broker " + b.name + " is not connected" +
					   (s.last_error.empty() ? "" : ": " + s.last_error));
	}
	j["brokers"] = brokers;
	// A device whose policy refuses its topics publishes nothing: not healthy.
	for (const auto &c : topic_checks())
		if (c.result == "FAIL")
			problems.push_back(c.detail);
	j["problems"] = problems;
	j["healthy"] = problems.empty();
	return j;
}

json Daemon::selftest_json() const
{
	json checks = json::array();
	bool passed = true;
	auto add = [&](const std::string &check, const std::string &result, const std::string &detail) {
		checks.push_back({{"check", check}, {"result", result}, {"detail", detail}});
		passed = passed && result != "FAIL";
	};
	const json st = status_json();

	// Camera: every camera delivers frames (or, for a replay, has delivered them all).
	if (st["cameras"].empty())
		add("camera", "FAIL", "no camera configured");
	for (const auto &c : st["cameras"]) {
		const double since = c["last_frame_s"].get<double>();
		if (c["ended"].get<bool>())
			add("camera", "ok", c["id"].get<std::string>() + ": replay finished");
		else if (c["open"].get<bool>() && since >= 0 && since < 5)
			add("camera", "ok", c["id"].get<std::string>() + ": frames flowing");
		else
			add("camera", "FAIL", c["id"].get<std::string>() + ": no frames (" +
						       c["last_error"].get<std::string>() + ")");
	}
	// Models: the readers were built at start (Tesseract data and detector loaded).
	{
		std::lock_guard lock(pipeline_mutex_);
		std::lock_guard clock(config_mutex_);
		add("models", pipeline_ ? "ok" : "FAIL",
		    pipeline_ ? "plate reader loaded (" + config_.reader.region + ")" : "no pipeline");
	}
	// Broker.
	if (st["brokers"].empty())
		add("broker", "warn", "no broker configured: hits stay in the outbox");
	for (const auto &b : st["brokers"])
		add("broker", b["connected"].get<bool>() ? "ok" : "FAIL",
		    b["name"].get<std::string>() + (b["connected"].get<bool>() ? ": connected" : ": not connected"));
	// Topics: the policy in force allows what each broker is configured to publish.
	for (const auto &c : topic_checks())
		add("topics", c.result, c.detail);
	// Policy.
	const auto &pol = st["policy"];
	if (pol["fallback"].get<bool>()) {
		add("policy", "FAIL", "strictest fallback: " + pol["why"].get<std::string>());
	} else {
		const auto p = current_policy();
		const auto left = std::chrono::duration_cast<std::chrono::hours>(p.not_after -
										  std::chrono::system_clock::now());
		add("policy", left < std::chrono::hours(24 * 7) ? "warn" : "ok",
		    p.id + " v" + std::to_string(p.version) + ", expires in " +
			    std::to_string(left.count() / 24) + " day(s)");
	}
	// Hot lists.
	if (st["hotlists"].empty())
		add("hotlist", "warn", "no hot list installed: nothing can be a hit");
	for (const auto &h : st["hotlists"])
		add("hotlist", h["stale"].get<bool>() ? "warn" : "ok",
		    h["id"].get<std::string>() + " v" + std::to_string(h["version"].get<std::uint64_t>()) +
			    ", " + std::to_string(h["entries"].get<std::size_t>()) + " entries, age " +
			    std::to_string(h["age_s"].get<std::int64_t>()) + " s");
	// Disk: the state directory is writable and has room.
	struct statvfs vfs{};
	if (::statvfs(config_.device.state_dir.c_str(), &vfs) != 0 ||
	    ::access(config_.device.state_dir.c_str(), W_OK) != 0) {
		add("disk", "FAIL", config_.device.state_dir + " is not writable");
	} else {
		const double free_mb = static_cast<double>(vfs.f_bavail) * vfs.f_frsize / 1048576.0;
		char d[128];
		std::snprintf(d, sizeof(d), "%s: %.0f MiB free", config_.device.state_dir.c_str(), free_mb);
		add("disk", free_mb < 64 ? "FAIL" : (free_mb < 512 ? "warn" : "ok"), d);
	}
	// Clock: plausible, and synchronised (retention deadlines and event times depend on it).
	{
		const auto now = std::chrono::system_clock::now();
		const auto year_2024 = std::chrono::sys_days(std::chrono::year(2024) / 1 / 1);
		timex tx{};
		const int state = ::adjtimex(&tx);
		const bool synced = state != TIME_ERROR && !(tx.status & STA_UNSYNC);
		if (now < year_2024)
			add("clock", "FAIL", "system time is before 2024: not set");
		else
			add("clock", synced ? "ok" : "warn",
			    synced ? "synchronised" : "not synchronised (NTP) — event times may drift");
	}
	return {{"ok", true}, {"passed", passed}, {"checks", checks}};
}

json Daemon::camera_list_json() const
{
	json configured = json::array();
	PipelineStats ps;
	{
		std::lock_guard lock(pipeline_mutex_);
		if (pipeline_)
			ps = pipeline_->stats();
	}
	for (const auto &c : ps.cameras)
		configured.push_back({{"id", c.camera_id}, {"source", c.source}, {"open", c.open},
				      {"frames", c.frames}});
	json available = json::array();
	for (const auto &c : capture::list_cameras())
		available.push_back({{"backend", c.backend}, {"id", c.id}, {"model", c.model},
				     {"detail", c.detail}});
	return {{"ok", true}, {"configured", configured}, {"available", available}};
}

bool Daemon::take_snapshot_token(uid_t uid)
{
	// A token bucket per uid: an aiming aid, not a video feed (issue 15.1: 123 frames in 10 s).
	const auto now = std::chrono::steady_clock::now();
	std::lock_guard lock(snapshot_mutex_);
	auto [it, fresh] = snapshot_budget_.try_emplace(uid, SnapshotBudget{kSnapshotBurst, now});
	auto &b = it->second;
	const double refill = std::chrono::duration<double>(now - b.refilled) / kSnapshotEvery;
	b.tokens = std::min(kSnapshotBurst, b.tokens + refill);
	b.refilled = now;
	if (b.tokens < 1)
		return false;
	b.tokens -= 1;
	return true;
}

json Daemon::snapshot_json(const json &request, uid_t uid)
{
	if (request.contains("camera") && !request["camera"].is_string())
		return error_reply("usage", "\"camera\" must be a string");
	if (!take_snapshot_token(uid))
		return error_reply("busy", "at most " + std::to_string(static_cast<int>(kSnapshotBurst)) +
						   " snapshots at once and one per " +
						   std::to_string(kSnapshotEvery.count()) + " s per user");
	const std::string camera = request.value("camera", "");
	Result<SnapshotResult> snap = make_error(-ENODEV, "no pipeline");
	{
		std::lock_guard lock(pipeline_mutex_);
		if (pipeline_)
			snap = pipeline_->snapshot(camera);
	}
	if (!snap)
		return error_reply(snap.error().code == -ENOENT ? "usage" : "failed", snap.error().message);
	// Downscaled: enough to aim and frame the scene, less to read from (the plates are masked).
	const double scale = std::min(1.0, static_cast<double>(kSnapshotMaxWidth) / snap->frame.cols);
	cv::Mat small;
	cv::resize(snap->frame, small, cv::Size(), scale, scale, cv::INTER_AREA);
	snap->frame.setTo(cv::Scalar::all(0));
	const auto scaled = [scale](const cv::Rect &r) {
		return json::array({static_cast<int>(r.x * scale), static_cast<int>(r.y * scale),
				    static_cast<int>(r.width * scale), static_cast<int>(r.height * scale)});
	};
	json plates = json::array();
	for (const auto &p : snap->plates) // boxes and confidence only: no reads for a technician
		plates.push_back({{"box", scaled(p.box)}, {"confidence", p.confidence}});
	json masked = json::array();
	for (const auto &m : snap->masked)
		masked.push_back(scaled(m));
	std::vector<std::uint8_t> jpeg;
	cv::imencode(".jpg", small, jpeg, {cv::IMWRITE_JPEG_QUALITY, 80});
	json reply{{"ok", true},
		   {"camera", snap->camera_id},
		   {"width", small.cols},
		   {"height", small.rows},
		   {"frame_width", snap->frame.cols},
		   {"frame_height", snap->frame.rows},
		   {"sharpness", snap->sharpness},
		   {"plates", plates},
		   {"masked", masked},
		   {"jpeg", crypto::to_base64(jpeg.data(), jpeg.size())}};
	crypto::wipe(jpeg.data(), jpeg.size());
	small.setTo(cv::Scalar::all(0));
	return reply;
}

namespace {

/// A command name from a request, copied into the log only if it looks like one ([a-z.],
/// 1..32): a client could send anything, plate text included.
std::string loggable_command(const std::string &name)
{
	const bool ok = !name.empty() && name.size() <= 32 &&
			std::all_of(name.begin(), name.end(),
				    [](char c) { return (c >= 'a' && c <= 'z') || c == '.'; });
	return ok ? name : "?";
}

} // namespace

void Daemon::rejected(int fd, const std::string &reason)
{
	const auto authz = authorizer();
	auto who = authz->identify_peer(fd);
	audit::AuditEntry e;
	e.actor = who ? who->user : "unknown";
	if (who && who->uid != static_cast<uid_t>(-1))
		e.uid = static_cast<std::int64_t>(who->uid);
	std::string roles;
	if (who)
		for (audit::Role r : who->roles)
			roles += (roles.empty() ? "" : ",") + std::string(audit::role_name(r));
	e.role = roles.empty() ? std::string(audit::role_name(audit::Role::None)) : roles;
	e.organisation = authz->role_map().organisation;
	e.action = "control";
	e.target = audit::AuditTarget::object("control:session");
	e.outcome = audit::Outcome::Refused;
	e.reason = reason;
	e.policy_hash = current_policy().hash;
	if (Status s = audit_->append(std::move(e)); !s) {
		LOG(Audit, Error) << "control session not recorded: " << s.error().message;
	}
}

void Daemon::throttled(uid_t uid, std::uint64_t busy, std::uint64_t dropped)
{
	// One record for a whole flood (ControlServer calls this at most every 10 s per uid):
	// the trail shows it happened and how big it was, without one fdatasync per request.
	audit::AuditEntry e;
	e.actor = "uid:" + std::to_string(uid);
	e.uid = static_cast<std::int64_t>(uid);
	e.role = std::string(audit::role_name(audit::Role::None));
	e.organisation = authorizer()->role_map().organisation;
	e.action = "control";
	e.target = audit::AuditTarget::object("control:session");
	e.outcome = audit::Outcome::Refused;
	e.reason = std::to_string(busy) + " request(s) over the per-user rate answered busy, " +
		   std::to_string(dropped) + " unfinished session(s) closed for newer ones";
	e.policy_hash = current_policy().hash;
	LOG(Daemon, Warning) << "control socket: uid " << uid << ": " << e.reason;
	if (Status s = audit_->append(std::move(e)); !s) {
		LOG(Audit, Error) << "control throttling not recorded: " << s.error().message;
	}
}

json Daemon::handle(const json &request, int fd)
{
	const std::string command = request["command"].get<std::string>();
	static const std::map<std::string, audit::Action> actions = {
		{"status", audit::Action::Status},
		{"camera.list", audit::Action::CameraList},
		{"camera.snapshot", audit::Action::CameraSnapshot},
		{"selftest", audit::Action::SelfTest},
		{"reload", audit::Action::ConfigChange},
		{"query", audit::Action::RetroHitQuery},
		{"hits.list", audit::Action::HitsList},
		{"hits.crop", audit::Action::HitsCrop},
	};
	// Every session is recorded: who (SO_PEERCRED), which role, what, and how it ended.
	const auto authz = authorizer();
	const auto it = actions.find(command);
	if (it == actions.end()) {
		const std::string why = "unknown command '" + loggable_command(command) + "'";
		rejected(fd, why);
		return error_reply("usage", why);
	}
	auto who = authz->identify_peer(fd);
	if (!who) {
		rejected(fd, "cannot identify the caller: " + who.error().message);
		return error_reply("forbidden", "cannot identify the caller: " + who.error().message);
	}
	audit::AccessRequest req;
	req.action = it->second;
	// The camera asked for, in the log only if it is one of ours (the client's text could be
	// anything).
	std::string camera = "*";
	if (request.contains("camera")) {
		camera = "?";
		std::lock_guard lock(config_mutex_);
		for (const auto &c : config_.cameras)
			if (request["camera"].is_string() &&
			    request["camera"].get<std::string>() == c.source.camera_id)
				camera = c.source.camera_id;
	}
	req.target = audit::AuditTarget::object(command == "camera.snapshot" ? "camera:" + camera
									      : "control:" + command);
	const policy::Policy policy = current_policy();
	if (audit::requires_purpose(req.action))
		return investigate(request, fd, *who, req, policy);
	auto role = authz->authorize(*who, req, policy);
	if (!role)
		return error_reply("forbidden", role.error().message);

	json reply;
	if (command == "status")
		reply = status_json();
	else if (command == "camera.list")
		reply = camera_list_json();
	else if (command == "camera.snapshot")
		reply = snapshot_json(request, who->uid);
	else if (command == "selftest")
		reply = selftest_json();
	else if (command == "reload") {
		Status s = reload();
		reply = s ? json{{"ok", true}} : error_reply("failed", s.error().message);
	}
	const bool ok = reply.value("ok", false);
	std::optional<audit::AuditTarget> target;
	if (command == "camera.snapshot" && ok)
		target = audit::AuditTarget::object("camera:" + reply.value("camera", std::string()));
	if (Status s = authz->record(*who, *role, req, policy,
				     ok ? audit::Outcome::Success : audit::Outcome::Failed,
				     command == "camera.snapshot" ? std::optional<std::int64_t>(ok ? 1 : 0)
								  : std::nullopt,
				     target ? &*target : nullptr,
				     ok ? std::string() : reply.value("error", ""));
	    !s) {
		// The action happened but left no trace: say so rather than answer as if all is well.
		LOG(Audit, Error) << "control session not recorded: " << s.error().message;
		if (command == "camera.snapshot")
			return error_reply("failed", "the snapshot could not be recorded in the audit "
						     "log: " + s.error().message);
	}
	return reply;
}

json Daemon::investigate(const json &request, int fd, const audit::Principal &who,
			audit::AccessRequest req, const policy::Policy &policy)
{
	// An investigator's question, answered from the live store (the only way when keys are
	// kept in RAM). The role, purpose and case are checked and every outcome recorded before
	// anything is answered; the plate asked for is never logged, and recorded only if it was
	// seen (a retro-hit) — otherwise as its keyed digest.
	const auto authz = authorizer();
	const bool query = req.action == audit::Action::RetroHitQuery;
	const bool crop = req.action == audit::Action::HitsCrop;
	auto text = [&](const char *key) {
		return request.contains(key) && request[key].is_string()
			       ? request[key].get<std::string>()
			       : std::string();
	};
	req.purpose = text("purpose");
	req.case_number = text("case");
	std::string plate = query ? text("plate") : std::string();
	if (query && plate.empty()) {
		rejected(fd, "query without a plate");
		return error_reply("usage", "a plate is required");
	}
	// Only an id as the daemon makes them reaches the log (client text is never copied).
	const std::string event_id = crop ? text("event_id") : std::string();
	if (crop && !publish::is_uuid_v4(event_id)) {
		rejected(fd, "hits.crop without a valid event id");
		return error_reply("usage", "an event_id (the hit's UUID, as published) is required");
	}
	const auto now = audit::Clock::now();
	const std::string since_text = text("since");
	auto since = since_text.empty() ? Result<audit::TimePoint>(audit::TimePoint{})
					: audit::parse_time(since_text, now);
	if (!since) {
		crypto::wipe(plate);
		return error_reply("usage", since.error().message);
	}
	if (query) {
		auto digest = audit::term_digest(retention_->state_dir(), plate);
		if (!digest) {
			crypto::wipe(plate);
			return error_reply("failed", digest.error().message);
		}
		req.target = audit::AuditTarget::digest(*digest);
	} else if (crop) {
		req.target = audit::AuditTarget::object("hit:" + event_id);
	} else {
		req.target = audit::AuditTarget{};
	}
	auto role = authz->authorize(who, req, policy); // a refusal is recorded here
	if (!role) {
		crypto::wipe(plate);
		return error_reply("forbidden", role.error().message);
	}
	json reply = {{"ok", true}};
	std::optional<audit::AuditTarget> found_plate;
	Result<std::int64_t> count = std::int64_t{0};
	if (query) {
		audit::TimePoint from = *since;
		const audit::TimePoint window = now - policy.retention.nonhit_digest;
		if (from < window)
			from = window;
		auto rows = retention::find_plate(*retention_, plate, from, policy.hotlist);
		if (rows) {
			json out = json::array();
			for (const auto &r : rows->sightings)
				out.push_back({{"camera", r.camera},
					       {"seen", audit::format_time(r.seen)},
					       {"match", r.match}});
			reply["sightings"] = std::move(out);
			reply["skipped"] = rows->skipped;
			count = static_cast<std::int64_t>(rows->sightings.size());
			// Seen: a (retro-)hit, whose text may be recorded.
			if (!rows->sightings.empty())
				found_plate = audit::AuditTarget::hit_plate(plate);
		} else {
			count = rows.error();
		}
	} else if (crop) {
		auto image = retention_->hit_image_of_event(event_id);
		if (image) {
			reply["event_id"] = event_id;
			reply["jpeg"] = crypto::to_base64(image->data(), image->size());
			count = std::int64_t{1};
		} else {
			count = image.error();
		}
	} else {
		auto rows = retention_->hits(*since);
		if (rows) {
			json out = json::array();
			for (const auto &h : *rows)
				out.push_back({{"event_id", h.hit.event_id},
					       {"plate", h.hit.plate},
					       {"camera", h.hit.camera},
					       {"list", h.hit.list_id},
					       {"category", h.hit.category},
					       {"seen", audit::format_time(h.seen)}});
			reply["hits"] = std::move(out);
			count = static_cast<std::int64_t>(rows->size());
		} else {
			count = rows.error();
		}
	}
	crypto::wipe(plate);
	const Status recorded =
		authz->record(who, *role, req, policy,
			      count ? audit::Outcome::Success : audit::Outcome::Failed,
			      count ? std::optional<std::int64_t>(*count) : std::nullopt,
			      found_plate ? &*found_plate : nullptr,
			      count ? std::string() : count.error().message);
	if (!count)
		return error_reply(count.error().code == -EPERM ? "forbidden" : "failed",
				   count.error().message);
	if (!recorded) {
		// No trace, no answer.
		LOG(Audit, Error) << "investigation not recorded: " << recorded.error().message;
		return error_reply("failed", "the access could not be recorded in the audit log, "
					     "not answering: " + recorded.error().message);
	}
	return reply;
}

} // namespace lethe::daemon
