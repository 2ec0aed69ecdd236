// SPDX-License-Identifier: GPL-3.0-or-later
// Daemon assembly: opens the stores, publishers, pipeline and control socket; reload; stop.
#include "daemon.h"

#include <algorithm>

#include "lethe/common/log.h"

namespace lethe::daemon {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

audit::RoleMap role_map(const config::Config &c)
{
	return audit::RoleMap::from_config(c.roles);
}

} // namespace

Daemon::Daemon(config::Config config) : config_(std::move(config)), device_(config_.device) {}

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
	const std::filesystem::path state = device_.state_dir;
	std::error_code ec;
	std::filesystem::create_directories(state, ec);
	if (ec)
		return make_error(-EIO, "state directory " + state.string() + ": " + ec.message());

	auto log = audit::AuditLog::open({state});
	if (!log)
		return make_error(log.error().code, "audit log: " + log.error().message);
	audit_ = std::move(log).value();
	authorizer_ = std::make_shared<audit::Authorizer>(role_map(config_), *audit_);
	record("daemon.start", audit::Outcome::Success, audit::AuditTarget::object(device_.id));

	load_policy();

	retention::Config rc;
	rc.state_dir = state;
	rc.key_mode = device_.key_mode == "ram" ? store::KeyMode::Ram : store::KeyMode::File;
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
	const std::filesystem::path state = device_.state_dir;
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
		pc.device_id = device_.id;
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
	std::vector<route::Recipient> recipients;
	for (const auto &b : brokers_)
		recipients.push_back({b.name, b.address, b.topic, b.publisher.get()});
	router_ = std::make_unique<route::HitRouter>(
		*retention_, std::move(recipients), [this](audit::AuditEntry e) { record(std::move(e)); });
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
	LOG(Daemon, Info) << "lethed " << LETHE_VERSION << " running as device " << device_.id;
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
		record("daemon.stop", audit::Outcome::Success, audit::AuditTarget::object(device_.id));
		(void)audit_->seal();
	}
	brokers_.clear();
}

std::shared_ptr<audit::Authorizer> Daemon::authorizer() const
{
	std::lock_guard lock(authz_mutex_);
	return authorizer_;
}

void Daemon::on_event(track::ReadEvent &&event)
{
	route::RouteContext ctx;
	{
		std::lock_guard lock(policy_mutex_);
		ctx.policy = effective_.policy;
		ctx.matchers = matchers_;
	}
	ctx.device_id = device_.id;
	ctx.location = device_.location;
	{
		std::lock_guard lock(config_mutex_);
		for (const auto &c : config_.cameras)
			if (c.source.camera_id == event.camera_id && !c.location.empty())
				ctx.location = c.location;
	}
	router_->route(std::move(event), ctx);
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
		next.brokers = config_.brokers; // kept until restart (see above)
		next.device = device_;
		config_ = std::move(next);
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

} // namespace lethe::daemon
