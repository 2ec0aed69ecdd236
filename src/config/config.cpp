// SPDX-License-Identifier: GPL-3.0-or-later
// TOML → typed Config: schema per table, unknown keys and out-of-range values reported as FILE:LINE.
#include "lethe/config/config.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

#include <toml++/toml.h>

#include "lethe/common/atomic_file.h"
#include "lethe/common/log.h"
#include "lethe/common/model_files.h"
#include "lethe/common/mqtt_topic.h"
#include "lethe/ocr/plate_syntax.h"
#include "lethe/ocr/reader_models.h"
#include "lethe/ocr/tesseract_recognizer.h"

namespace lethe::config {
namespace {

/// The top-level tables of the file, in the order docs/config.md describes them.
const std::vector<std::string_view> kTables = {"device",  "log",    "pipeline", "reader",
                                               "tracker", "camera", "broker",   "roles"};
/// A unix group name in [roles] (NSS allows longer names than useradd's 32).
constexpr std::size_t kMaxGroupName = 256;

std::string join(const std::vector<std::string_view> &v, std::string_view sep = ", ")
{
	std::string out;
	for (const auto &s : v) {
		if (!out.empty())
			out += sep;
		out += s;
	}
	return out;
}

/// Collects every error with its position; the parse continues so all are reported at once.
class Parser
{
public:
	explicit Parser(std::string_view source) : source_(source) {}

	void error(const toml::source_region &where, const std::string &message)
	{
		std::ostringstream s;
		s << source_ << ":" << where.begin.line << ": " << message;
		errors_.emplace_back(where.begin.line, s.str());
	}
	void error(const std::string &message)
	{
		errors_.emplace_back(0, std::string(source_) + ": " + message);
	}
	/// Every error, in the order of the lines they name (whole-file ones first).
	[[nodiscard]] std::string all_errors()
	{
		std::stable_sort(errors_.begin(), errors_.end(),
				 [](const auto &a, const auto &b) { return a.first < b.first; });
		std::string all;
		for (const auto &e : errors_)
			all += (all.empty() ? "" : "\n") + e.second;
		return all;
	}
	[[nodiscard]] bool failed() const { return !errors_.empty(); }

	/// Report keys of `table` not in `allowed`.
	void check_keys(const toml::table &table, std::string_view section,
			const std::vector<std::string_view> &allowed)
	{
		for (const auto &[key, node] : table) {
			if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end())
				error(key.source(), "unknown key '" + std::string(key.str()) + "' in " +
							    std::string(section) + "; allowed: " + join(allowed));
		}
	}

	const toml::table *table(const toml::table &parent, std::string_view key, std::string_view section)
	{
		const toml::node *n = parent.get(key);
		if (!n)
			return nullptr;
		if (!n->is_table()) {
			error(n->source(), std::string(section) + " must be a table ([" + std::string(key) + "])");
			return nullptr;
		}
		return n->as_table();
	}

	void get(const toml::table &t, std::string_view section, std::string_view key, unsigned &out,
		 long long min, long long max)
	{
		const toml::node *n = t.get(key);
		if (!n)
			return;
		// value<long long>() of a float converts it, out of range undefined (config_fuzz).
		const auto v = n->is_integer() ? n->value<long long>() : std::nullopt;
		if (!v || *v < min || *v > max) {
			error(n->source(), where(section, key) + ": must be an integer " +
						   std::to_string(min) + ".." + std::to_string(max));
			return;
		}
		out = static_cast<unsigned>(*v);
	}

	void get(const toml::table &t, std::string_view section, std::string_view key, int &out,
		 long long min, long long max)
	{
		const toml::node *n = t.get(key);
		if (!n)
			return;
		// value<long long>() of a float converts it, out of range undefined (config_fuzz).
		const auto v = n->is_integer() ? n->value<long long>() : std::nullopt;
		if (!v || *v < min || *v > max) {
			error(n->source(), where(section, key) + ": must be an integer " +
						   std::to_string(min) + ".." + std::to_string(max));
			return;
		}
		out = static_cast<int>(*v);
	}

	void get(const toml::table &t, std::string_view section, std::string_view key, double &out,
		 double min, double max)
	{
		const toml::node *n = t.get(key);
		if (!n)
			return;
		const auto v = n->value<double>(); // integers convert
		if (!(n->is_floating_point() || n->is_integer()) || !v || !std::isfinite(*v) ||
		    *v < min || *v > max) {
			std::ostringstream s;
			s << where(section, key) << ": must be a number " << min << ".." << max;
			error(n->source(), s.str());
			return;
		}
		out = *v;
	}

	void get(const toml::table &t, std::string_view section, std::string_view key, bool &out)
	{
		const toml::node *n = t.get(key);
		if (!n)
			return;
		if (!n->is_boolean()) {
			error(n->source(), where(section, key) + ": must be true or false");
			return;
		}
		out = *n->value<bool>();
	}

	/// A string, optionally one of `choices`, at most max_len bytes, no control characters.
	void get(const toml::table &t, std::string_view section, std::string_view key, std::string &out,
		 const std::vector<std::string_view> &choices = {}, std::size_t max_len = 4096)
	{
		const toml::node *n = t.get(key);
		if (!n)
			return;
		if (!n->is_string()) {
			error(n->source(), where(section, key) + ": must be a string" +
						   (choices.empty() ? "" : " (one of " + join(choices) + ")"));
			return;
		}
		std::string v = *n->value<std::string>();
		if (!choices.empty() && std::find(choices.begin(), choices.end(), v) == choices.end()) {
			error(n->source(), where(section, key) + ": '" + v + "' is not allowed; one of " +
						   join(choices));
			return;
		}
		if (!text_ok(*n, where(section, key), v, max_len))
			return;
		out = std::move(v);
	}

	/// The rule every string value follows: at most max_len bytes and no control characters
	/// (NUL, which TOML can carry as \u0000, included). Reports `what` at n's line if not.
	bool text_ok(const toml::node &n, const std::string &what, const std::string &v,
	             std::size_t max_len)
	{
		if (v.size() > max_len) {
			error(n.source(),
			      what + ": longer than " + std::to_string(max_len) + " characters");
			return false;
		}
		if (std::any_of(v.begin(), v.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
			error(n.source(), what + ": contains control characters");
			return false;
		}
		return true;
	}

	void get_path(const toml::table &t, std::string_view section, std::string_view key,
		      std::string &out, bool absolute)
	{
		const toml::node *n = t.get(key);
		std::string v = out;
		get(t, section, key, v);
		if (!n || v == out)
			return;
		if (absolute && (v.empty() || v.front() != '/')) {
			error(n->source(), where(section, key) + ": must be an absolute path");
			return;
		}
		out = std::move(v);
	}

	/// An array of at most max_items strings, each non-empty and following text_ok(), and
	/// each accepted by `valid` if given (else "'V' is not <what_valid>" at its line).
	void get(const toml::table &t, std::string_view section, std::string_view key,
	         std::vector<std::string> &out, std::size_t max_items, std::size_t max_len,
	         bool (*valid)(std::string_view) = nullptr, std::string_view what_valid = {})
	{
		const toml::node *n = t.get(key);
		if (!n)
			return;
		const toml::array *a = n->as_array();
		if (!a || a->size() > max_items ||
		    !std::all_of(a->begin(), a->end(), [](const toml::node &e) { return e.is_string(); })) {
			error(n->source(), where(section, key) + ": must be an array of at most " +
						   std::to_string(max_items) + " strings");
			return;
		}
		std::vector<std::string> values;
		bool ok = true;
		for (std::size_t i = 0; i < a->size(); ++i) {
			const toml::node &e = (*a)[i];
			const std::string what =
			    where(section, key) + "[" + std::to_string(i) + "]";
			std::string v = *e.value<std::string>();
			if (v.empty()) {
				error(e.source(), what + ": must not be empty");
				ok = false;
			} else if (!text_ok(e, what, v, max_len)) {
				ok = false;
			} else if (valid && !valid(v)) {
				error(e.source(),
				      what + ": '" + v + "' is not " + std::string(what_valid));
				ok = false;
			}
			values.push_back(std::move(v));
		}
		if (ok)
			out = std::move(values);
	}

	std::optional<Rect> rect(const toml::node &n, std::string_view what)
	{
		const toml::array *a = n.as_array();
		if (a && a->size() == 4 &&
		    std::all_of(a->begin(), a->end(), [](const toml::node &e) { return e.is_integer(); })) {
			long long v[4];
			for (int i = 0; i < 4; ++i)
				v[i] = *(*a)[static_cast<std::size_t>(i)].value<long long>();
			// Each bounded first: the sums of two huge integers would overflow.
			if (std::all_of(v, v + 4, [](long long x) { return x >= 0 && x <= 16384; }) &&
			    v[2] > 0 && v[3] > 0 && v[0] + v[2] <= 16384 && v[1] + v[3] <= 16384)
				return Rect{static_cast<int>(v[0]), static_cast<int>(v[1]),
					    static_cast<int>(v[2]), static_cast<int>(v[3])};
		}
		error(n.source(), std::string(what) +
					  ": must be [x, y, width, height] in pixels, x,y ≥ 0, width,height ≥ 1, "
					  "within 16384×16384");
		return std::nullopt;
	}

	static std::string where(std::string_view section, std::string_view key)
	{
		return std::string(section) + "." + std::string(key);
	}

private:
	std::string_view source_;
	std::vector<std::pair<std::size_t, std::string>> errors_; ///< (line, "FILE:LINE: ...")
};

/// Remember a path the configuration names, for check_files().
void name_path(Config &cfg, const toml::table &t, std::string_view key, std::string section,
	       const std::string &path, NamedPath::Kind kind)
{
	if (path.empty())
		return;
	const toml::node *n = t.get(key);
	cfg.paths.push_back({section + "." + std::string(key), path,
			     n ? static_cast<unsigned>(n->source().begin.line) : 0u, kind});
}

bool valid_id(const std::string &s, std::size_t max = 64)
{
	return !s.empty() && s.size() <= max &&
	       std::all_of(s.begin(), s.end(), [](unsigned char c) {
		       return std::isalnum(c) || c == '.' || c == '_' || c == '-';
	       });
}

void parse_camera(Parser &p, const toml::table &t, std::size_t index, Config &cfg)
{
	const std::string section = "camera[" + std::to_string(index) + "]";
	p.check_keys(t, "[[camera]]",
		     {"id", "source", "uri", "width", "height", "fps", "exposure_us", "gain",
		      "replay_fps", "loop", "roi", "masks", "reconnect_min_ms", "reconnect_max_ms",
		      "location", "stills"});
	Camera cam;
	auto &s = cam.source;
	p.get(t, section, "id", s.camera_id, {}, 64);
	if (!valid_id(s.camera_id)) {
		const toml::node *n = t.get("id");
		p.error(n ? n->source() : t.source(),
			section + ".id: required, 1..64 characters of A-Z a-z 0-9 . _ -");
	}
	std::string kind;
	p.get(t, section, "source", kind, {"libcamera", "v4l2", "stream", "video", "replay"});
	if (kind.empty() && !t.get("source"))
		p.error(t.source(), section + ".source: required (libcamera, v4l2, stream, video, replay)");
	if (kind == "libcamera") s.kind = capture::SourceKind::Libcamera;
	else if (kind == "v4l2") s.kind = capture::SourceKind::V4l2;
	else if (kind == "stream") s.kind = capture::SourceKind::Stream;
	else if (kind == "video") s.kind = capture::SourceKind::Video;
	else s.kind = capture::SourceKind::Replay;
	p.get(t, section, "uri", s.uri, {}, 1024);
	if (s.kind == capture::SourceKind::Replay || s.kind == capture::SourceKind::Video)
		name_path(cfg, t, "uri", section, s.uri, NamedPath::Kind::Exists);
	if (s.uri.empty() && s.kind != capture::SourceKind::Libcamera && !kind.empty())
		p.error(t.source(), section + ".uri: required for source = \"" + kind + "\"");
	p.get(t, section, "width", s.width, 0, 8192);
	p.get(t, section, "height", s.height, 0, 8192);
	if ((s.width == 0) != (s.height == 0))
		p.error(t.source(), section + ": width and height go together (both 0 = source default)");
	p.get(t, section, "fps", s.fps, 0, 240);
	if (t.get("exposure_us")) {
		int e = 0;
		p.get(t, section, "exposure_us", e, 1, 1000000);
		if (e > 0)
			s.exposure_us = e;
	}
	if (t.get("gain")) {
		double g = 0;
		p.get(t, section, "gain", g, 1.0, 64.0);
		if (g > 0)
			s.gain = static_cast<float>(g);
	}
	p.get(t, section, "replay_fps", s.replay_fps, 0, 1000);
	p.get(t, section, "loop", s.loop);
	p.get(t, section, "stills", s.stills);
	if (s.stills && s.kind != capture::SourceKind::Replay)
		p.error(t.get("stills")->source(),
			section + ".stills: only for source = \"replay\" (a directory of photos)");
	if (const toml::node *n = t.get("roi"))
		cam.roi = p.rect(*n, section + ".roi");
	if (const toml::node *n = t.get("masks")) {
		const toml::array *a = n->as_array();
		if (!a || a->size() > 32)
			p.error(n->source(), section + ".masks: must be an array of at most 32 [x, y, width, height]");
		else
			for (const auto &m : *a)
				if (auto r = p.rect(m, section + ".masks"))
					cam.masks.push_back(*r);
	}
	unsigned min_ms = 500, max_ms = 30000;
	p.get(t, section, "reconnect_min_ms", min_ms, 10, 60000);
	p.get(t, section, "reconnect_max_ms", max_ms, 10, 3600000);
	if (max_ms < min_ms)
		p.error(t.source(), section + ": reconnect_max_ms must be ≥ reconnect_min_ms");
	cam.reconnect.initial = std::chrono::milliseconds(min_ms);
	cam.reconnect.max = std::chrono::milliseconds(std::max(min_ms, max_ms));
	p.get(t, section, "location", cam.location, {}, 128);
	for (const auto &other : cfg.cameras)
		if (other.source.camera_id == s.camera_id && !s.camera_id.empty())
			p.error(t.source(), section + ".id: '" + s.camera_id + "' is used twice");
	cfg.cameras.push_back(std::move(cam));
}

void parse_broker(Parser &p, const toml::table &t, std::size_t index, Config &cfg)
{
	const std::string section = "broker[" + std::to_string(index) + "]";
	p.check_keys(t, "[[broker]]",
		     {"name", "host", "port", "client_id", "mqtt_version", "keepalive_s", "username",
		      "password_file", "hit_topic", "status_topic", "tls"});
	Broker b;
	p.get(t, section, "name", b.name, {}, 64);
	if (!valid_id(b.name)) {
		const toml::node *n = t.get("name");
		p.error(n ? n->source() : t.source(),
			section + ".name: required, 1..64 characters of A-Z a-z 0-9 . _ -");
	}
	p.get(t, section, "host", b.host, {}, 253);
	if (b.host.empty())
		p.error(t.source(), section + ".host: must not be empty");
	p.get(t, section, "port", b.port, 1, 65535);
	p.get(t, section, "client_id", b.client_id, {}, 64);
	p.get(t, section, "mqtt_version", b.mqtt_version, 3, 5);
	if (b.mqtt_version == 4) {
		p.error(t.get("mqtt_version")->source(), section + ".mqtt_version: 5 or 3 (3.1.1)");
	}
	p.get(t, section, "keepalive_s", b.keepalive_s, 5, 3600);
	p.get(t, section, "username", b.username, {}, 256);
	p.get_path(t, section, "password_file", b.password_file, true);
	name_path(cfg, t, "password_file", section, b.password_file, NamedPath::Kind::PrivateFile);
	if (!b.password_file.empty() && b.username.empty())
		p.error(t.get("password_file")->source(),
			section + ".password_file: needs a username (the broker logs in as someone)");
	p.get(t, section, "hit_topic", b.hit_topic, {}, 256);
	if (const toml::node *n = t.get("hit_topic"); n && !is_publish_topic(b.hit_topic))
		p.error(n->source(), section + ".hit_topic: 1..256 bytes, no wildcards (+ #), no "
					       "control characters, not starting with $");
	// Absent: the default topic; "": no status messages (and no last will).
	b.status_topic = "lethe/" + cfg.device.id + "/status";
	p.get(t, section, "status_topic", b.status_topic, {}, 256);
	b.status_topic_configured = t.contains("status_topic");
	if (const toml::node *n = t.get("status_topic");
	    n && !b.status_topic.empty() && !is_publish_topic(b.status_topic))
		p.error(n->source(), section + ".status_topic: \"\" (no status) or 1..256 bytes, no "
					       "wildcards (+ #), no control characters, not "
					       "starting with $");
	if (const toml::table *tls = p.table(t, "tls", section + ".tls")) {
		p.check_keys(*tls, "[broker.tls]", {"ca_file", "cert_file", "key_file"});
		Tls x;
		p.get_path(*tls, section + ".tls", "ca_file", x.ca_file, true);
		p.get_path(*tls, section + ".tls", "cert_file", x.cert_file, true);
		p.get_path(*tls, section + ".tls", "key_file", x.key_file, true);
		name_path(cfg, *tls, "ca_file", section + ".tls", x.ca_file, NamedPath::Kind::File);
		name_path(cfg, *tls, "cert_file", section + ".tls", x.cert_file, NamedPath::Kind::File);
		name_path(cfg, *tls, "key_file", section + ".tls", x.key_file, NamedPath::Kind::File);
		if (x.ca_file.empty())
			p.error(tls->source(), section + ".tls.ca_file: required (the broker is always verified)");
		if (x.cert_file.empty() != x.key_file.empty())
			p.error(tls->source(), section + ".tls: cert_file and key_file go together");
		b.tls = x;
	}
	for (const auto &other : cfg.brokers)
		if (other.name == b.name && !b.name.empty())
			p.error(t.source(), section + ".name: '" + b.name + "' is used twice");
	cfg.brokers.push_back(std::move(b));
}

template<typename Fn>
void parse_array_of_tables(Parser &p, const toml::table &root, std::string_view key,
			   std::size_t max, Fn &&fn)
{
	const toml::node *n = root.get(key);
	if (!n)
		return;
	const toml::array *a = n->as_array();
	if (!a || !a->is_array_of_tables()) {
		p.error(n->source(), std::string(key) + ": must be an array of tables ([[" +
					     std::string(key) + "]])");
		return;
	}
	if (a->size() > max) {
		p.error(n->source(), std::string(key) + ": at most " + std::to_string(max) + " entries");
		return;
	}
	for (std::size_t i = 0; i < a->size(); ++i)
		fn(*(*a)[i].as_table(), i);
}

} // namespace

bool valid_purpose_code(std::string_view code)
{
	return !code.empty() && code.size() <= 32 &&
	       std::all_of(code.begin(), code.end(), [](char c) {
		       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
		              c == '-';
	       });
}

Result<Config> parse(std::string_view text, std::string_view source, const ParseOptions &options)
{
	for (const auto &name : options.only)
		if (std::find(kTables.begin(), kTables.end(), name) == kTables.end())
			return make_error(-EINVAL,
			                  "config::parse: no table '" + name + "' to read");
	// A partial read (a CLI tool's) checks the tables it reads and requires nothing.
	const bool whole = options.only.empty();
	const auto wanted = [&](std::string_view name) {
		return whole || std::find(options.only.begin(), options.only.end(), name) !=
		                    options.only.end();
	};
	Parser p(source);
	toml::table root;
	try {
		root = toml::parse(text, source);
	} catch (const toml::parse_error &e) {
		std::ostringstream s;
		s << source << ":" << e.source().begin.line << ": " << e.description();
		return make_error(-EINVAL, s.str());
	}

	Config cfg;
	cfg.path = std::string(source);
	if (whole)
		p.check_keys(root, "the top level", kTables);

	if (const toml::table *t =
	        wanted("device") ? p.table(root, "device", "[device]") : nullptr) {
		p.check_keys(*t, "[device]",
			     {"id", "location", "state_dir", "trust_dir", "runtime_dir", "key_mode"});
		p.get(*t, "device", "id", cfg.device.id, {}, 64);
		p.get(*t, "device", "location", cfg.device.location, {}, 128);
		p.get_path(*t, "device", "state_dir", cfg.device.state_dir, true);
		p.get_path(*t, "device", "trust_dir", cfg.device.trust_dir, true);
		name_path(cfg, *t, "trust_dir", "device", cfg.device.trust_dir, NamedPath::Kind::Directory);
		p.get_path(*t, "device", "runtime_dir", cfg.device.runtime_dir, true);
		p.get(*t, "device", "key_mode", cfg.device.key_mode, {"file", "ram"});
		if ((whole || t->get("id")) && !valid_id(cfg.device.id))
			p.error(t->get("id") ? t->get("id")->source() : t->source(),
				"device.id: required, 1..64 characters of A-Z a-z 0-9 . _ -");
	} else if (whole) {
		p.error("[device] with id = \"...\" is required");
	}

	if (const toml::table *t = wanted("log") ? p.table(root, "log", "[log]") : nullptr) {
		p.check_keys(*t, "[log]", {"levels"});
		p.get(*t, "log", "levels", cfg.log.levels, {}, 512);
		// Validate the spec without changing the process's levels.
		std::string spec = cfg.log.levels;
		bool ok = !spec.empty();
		std::stringstream ss(spec);
		std::string item;
		while (ok && std::getline(ss, item, ',')) {
			const auto colon = item.find(':');
			if (colon == std::string::npos) {
				ok = false;
				break;
			}
			const std::string cat = item.substr(0, colon), sev = item.substr(colon + 1);
			static const std::set<std::string> sevs = {"Debug", "Info", "Warning", "Error", "Fatal"};
			bool cat_ok = cat == "*";
			for (int c = 0; c < static_cast<int>(log::Category::Count); ++c)
				cat_ok = cat_ok || log::category_name(static_cast<log::Category>(c)) == cat;
			ok = cat_ok && sevs.count(sev);
		}
		if (!ok && t->get("levels"))
			p.error(t->get("levels")->source(),
				"log.levels: 'Category:Severity,...' with Category * or one of Capture, "
				"Detect, Ocr, Track, Hotlist, Publish, Retention, Policy, Audit, Store, "
				"Config, Daemon, Cli and Severity Debug|Info|Warning|Error|Fatal");
	}

	if (const toml::table *t =
	        wanted("pipeline") ? p.table(root, "pipeline", "[pipeline]") : nullptr) {
		p.check_keys(*t, "[pipeline]", {"workers", "frame_queue", "event_queue"});
		p.get(*t, "pipeline", "workers", cfg.pipeline.workers, 1, 64);
		p.get(*t, "pipeline", "frame_queue", cfg.pipeline.frame_queue, 1, 256);
		p.get(*t, "pipeline", "event_queue", cfg.pipeline.event_queue, 16, 65536);
	}

	if (const toml::table *t =
	        wanted("reader") ? p.table(root, "reader", "[reader]") : nullptr) {
		p.check_keys(*t, "[reader]",
			     {"region", "top", "min_confidence", "models_dir", "detector", "ocr_model",
			      "verify_model", "calibration"});
		p.get(*t, "reader", "region", cfg.reader.region, {"us", "eu", "br"});
		p.get(*t, "reader", "detector", cfg.reader.detector, {"classical", "dnn", "both"});
		p.get(*t, "reader", "top", cfg.reader.top, 1, 10);
		p.get(*t, "reader", "min_confidence", cfg.reader.min_confidence, 0.0, 1.0);
		p.get_path(*t, "reader", "models_dir", cfg.reader.models_dir, true);
		name_path(cfg, *t, "models_dir", "reader", cfg.reader.models_dir, NamedPath::Kind::Directory);
		if (const toml::node *n = t->get("ocr_model"))
			cfg.reader_line = static_cast<unsigned>(n->source().begin.line);
		else
			cfg.reader_line = static_cast<unsigned>(t->source().begin.line);
		p.get(*t, "reader", "ocr_model", cfg.reader.ocr_model, {}, 1024);
		if (const toml::node *n = t->get("ocr_model");
		    n && cfg.reader.ocr_model.find('/') != std::string::npos && cfg.reader.ocr_model.front() != '/')
			p.error(n->source(), "reader.ocr_model: a path must be absolute");
		p.get(*t, "reader", "verify_model", cfg.reader.verify_model, {}, 1024);
		if (const toml::node *n = t->get("verify_model");
		    n && cfg.reader.verify_model.find('/') != std::string::npos && cfg.reader.verify_model.front() != '/')
			p.error(n->source(), "reader.verify_model: a path must be absolute");
		p.get(*t, "reader", "calibration", cfg.reader.calibration, {}, 1024);
		if (const toml::node *n = t->get("calibration");
		    n && n->is_string() && cfg.reader.calibration != "none" &&
		    (cfg.reader.calibration.empty() || cfg.reader.calibration.front() != '/'))
			p.error(n->source(), "reader.calibration: \"none\" or an absolute path to a "
					     "calibration TSV");
	}

	if (const toml::table *t =
	        wanted("tracker") ? p.table(root, "tracker", "[tracker]") : nullptr) {
		p.check_keys(*t, "[tracker]",
			     {"iou_min", "max_shift", "timeout_ms", "max_missed_frames", "min_frames",
			      "max_track_ms"});
		auto &tr = cfg.tracker;
		p.get(*t, "tracker", "iou_min", tr.iou_min, 0.0, 1.0);
		p.get(*t, "tracker", "max_shift", tr.max_shift, 0.0, 20.0);
		p.get(*t, "tracker", "timeout_ms", tr.timeout_ms, 10, 60000);
		p.get(*t, "tracker", "max_missed_frames", tr.max_missed_frames, 1, 1000);
		p.get(*t, "tracker", "min_frames", tr.min_frames, 1, 100);
		p.get(*t, "tracker", "max_track_ms", tr.max_track_ms, 1000, 600000);
	}

	if (wanted("camera"))
		parse_array_of_tables(
		    p, root, "camera", 16,
		    [&](const toml::table &t, std::size_t i) { parse_camera(p, t, i, cfg); });
	if (wanted("broker"))
		parse_array_of_tables(
		    p, root, "broker", 8,
		    [&](const toml::table &t, std::size_t i) { parse_broker(p, t, i, cfg); });

	if (const toml::table *t = wanted("roles") ? p.table(root, "roles", "[roles]") : nullptr) {
		p.check_keys(*t, "[roles]", {"technician", "privacy_officer", "investigator",
					      "organisation", "purpose_codes"});
		p.get(*t, "roles", "organisation", cfg.roles.organisation, {}, 128);
		p.get(*t, "roles", "purpose_codes", cfg.roles.purpose_codes, 64, 32,
		      valid_purpose_code, "a valid code (letters, digits, . _ : -; at most 32)");
		p.get(*t, "roles", "technician", cfg.roles.technician, 32, kMaxGroupName);
		p.get(*t, "roles", "privacy_officer", cfg.roles.privacy_officer, 32, kMaxGroupName);
		p.get(*t, "roles", "investigator", cfg.roles.investigator, 32, kMaxGroupName);
	}

	if (p.failed())
		return make_error(-EINVAL, p.all_errors());
	return cfg;
}

Result<Config> load(const std::filesystem::path &path, const ParseOptions &options)
{
	std::error_code ec;
	if (std::filesystem::is_directory(path, ec))
		return make_error(-EISDIR, path.string() +
						   ": is a directory, not a configuration file (give the "
						   ".toml file, e.g. " + kDefaultPath + ")");
	std::ifstream in(path, std::ios::binary);
	if (!in)
		return make_error(-ENOENT, path.string() + ": cannot open");
	std::ostringstream ss;
	ss << in.rdbuf();
	const std::string text = ss.str();
	if (text.size() > (1u << 20))
		return make_error(-EFBIG, path.string() + ": larger than 1 MiB");
	return parse(text, path.string(), options);
}

namespace {

/// What is wrong with a named path, or "" if nothing.
std::string path_problem(const NamedPath &n)
{
	namespace fs = std::filesystem;
	std::error_code ec;
	switch (n.kind) {
	case NamedPath::Kind::PrivateFile:
		if (auto s = fsutil::check_private_file(n.path); !s)
			return s.error().message;
		[[fallthrough]];
	case NamedPath::Kind::File:
		if (!fs::exists(n.path, ec))
			return n.path + ": no such file";
		if (!readable_file(n.path))
			return n.path + ": not a regular file this user can read";
		return {};
	case NamedPath::Kind::Directory:
		if (!fs::is_directory(n.path, ec))
			return n.path + ": no such directory";
		if (::access(n.path.c_str(), R_OK | X_OK) != 0)
			return n.path + ": this user cannot list it (" + std::strerror(errno) + ")";
		return {};
	case NamedPath::Kind::Exists:
		if (!fs::exists(n.path, ec))
			return n.path + ": does not exist";
		return {};
	}
	return {};
}

} // namespace

Status check_files(const Config &config)
{
	Parser p(config.path);
	const auto at = [&](unsigned line, const std::string &message) {
		if (line == 0) {
			p.error(message);
			return;
		}
		toml::source_region where;
		where.begin.line = line;
		p.error(where, message);
	};
	for (const auto &n : config.paths)
		if (const std::string why = path_problem(n); !why.empty())
			at(n.line, n.key + ": " + why);

	// The reader's models as the pipeline finds them (ocr::apply_model_settings).
	auto region = ocr::parse_region(config.reader.region);
	if (region) {
		ocr::ReaderOptions ro;
		ro.region = *region;
		auto st = ocr::apply_model_settings(ro, {.ocr_model = config.reader.ocr_model,
							 .verify_model = config.reader.verify_model,
							 .calibration = config.reader.calibration,
							 .models_dir = config.reader.models_dir,
							 .tessdata = {}});
		if (!st)
			at(config.reader_line, "reader: " + st.error().message);
		else if (auto m = ocr::find_tesseract_model(ro.recognizer_options); !m)
			at(config.reader_line, "reader.ocr_model: " + m.error().message);
		else if (!ro.verifier.empty())
			if (auto v = ocr::find_tesseract_model(ro.verifier_options); !v)
				at(config.reader_line, "reader.verify_model: " + v.error().message);
	}
	if (p.failed())
		return make_error(-EINVAL, p.all_errors());
	return {};
}

} // namespace lethe::config
