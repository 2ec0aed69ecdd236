// SPDX-License-Identifier: GPL-3.0-or-later
// Policy TOML parser: every key known, every value typed and range-checked, errors with positions.
#include "lethe/policy/parse.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <set>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "lethe/common/mqtt_topic.h"
#include "lethe/policy/bundle.h"
#include "lethe/policy/jurisdiction.h"

namespace lethe::policy {

namespace {

constexpr std::size_t kMaxCategories = 256;
constexpr std::size_t kMaxRecipients = 64;
constexpr std::size_t kMaxTopics = 64;

} // namespace

bool valid_policy_name(std::string_view s)
{
	if (s.empty() || s.size() > 64)
		return false;
	const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
	if (!alnum(s[0]))
		return false;
	return std::all_of(s.begin(), s.end(),
			   [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

namespace {

bool valid_name(std::string_view s) { return valid_policy_name(s); }

bool printable(std::string_view s, bool allow_newlines)
{
	return std::all_of(s.begin(), s.end(), [&](char c) {
		const auto u = static_cast<unsigned char>(c);
		if (c == '\n' || c == '\t')
			return allow_newlines;
		return u >= 0x20 && u != 0x7f;
	});
}

bool valid_broker(std::string_view s)
{
	const auto colon = s.rfind(':');
	if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size())
		return false;
	auto host = s.substr(0, colon);
	const auto port = s.substr(colon + 1);
	unsigned p = 0;
	const auto r = std::from_chars(port.data(), port.data() + port.size(), p);
	if (r.ec != std::errc{} || r.ptr != port.data() + port.size() || p == 0 || p > 65535 ||
	    port[0] == '0')
		return false;
	if (host.front() == '[') { // [IPv6]
		if (host.back() != ']' || host.size() < 3)
			return false;
		host = host.substr(1, host.size() - 2);
		return std::all_of(host.begin(), host.end(), [](char c) {
			return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
		});
	}
	if (host.size() > 253)
		return false;
	return std::all_of(host.begin(), host.end(), [](char c) {
		return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
	});
}

/// Collects errors "SOURCE:LINE:COL: FIELD: message".
class Checker
{
public:
	explicit Checker(std::string_view source) : source_(source) {}

	void error(const toml::source_region &where, const std::string &field, const std::string &what)
	{
		std::ostringstream os;
		os << source_ << ':' << where.begin.line << ':' << where.begin.column << ": " << field
		   << ": " << what;
		errors_.push_back(os.str());
	}

	/// Reject keys of `table` not in `known`.
	void only(const toml::table &table, const std::string &prefix,
		  std::initializer_list<std::string_view> known)
	{
		for (auto &&[key, node] : table) {
			(void)node;
			if (std::find(known.begin(), known.end(), key.str()) == known.end())
				error(key.source(), prefix + std::string(key.str()), "unknown key");
		}
	}

	/// The node for a required key, or nullptr after recording "missing".
	const toml::node *need(const toml::table &table, const std::string &prefix,
			       std::string_view key)
	{
		const toml::node *n = table.get(key);
		if (!n)
			error(table.source(), prefix + std::string(key), "missing (required)");
		return n;
	}

	void string(const toml::table &t, const std::string &pre, std::string_view key,
		    std::string &out, std::size_t max_len, bool is_name, bool multiline = false,
		    bool required = true)
	{
		const toml::node *n = required ? need(t, pre, key) : t.get(key);
		if (!n)
			return;
		const auto field = pre + std::string(key);
		const auto *v = n->as_string();
		if (!v)
			return error(n->source(), field, "expected a string");
		const std::string &s = v->get();
		if (s.empty() && required)
			return error(n->source(), field, "must not be empty");
		if (s.size() > max_len)
			return error(n->source(), field,
				     "longer than " + std::to_string(max_len) + " bytes");
		if (is_name && !valid_name(s))
			return error(n->source(), field,
				     "must be 1-64 of [a-z0-9._-], starting with a letter or digit");
		if (!printable(s, multiline))
			return error(n->source(), field, "contains control characters");
		out = s;
	}

	void boolean(const toml::table &t, const std::string &pre, std::string_view key, bool &out,
		     bool required = true)
	{
		const toml::node *n = required ? need(t, pre, key) : t.get(key);
		if (!n)
			return;
		const auto *v = n->as_boolean();
		if (!v)
			return error(n->source(), pre + std::string(key), "expected true or false");
		out = v->get();
	}

	void duration(const toml::table &t, const std::string &pre, std::string_view key,
		      Seconds &out, Seconds min, Seconds max)
	{
		const toml::node *n = need(t, pre, key);
		if (!n)
			return;
		const auto field = pre + std::string(key);
		Seconds d{0};
		if (const auto *i = n->as_integer()) {
			if (i->get() < 0)
				return error(n->source(), field, "must not be negative");
			if (i->get() > max.count())
				return error(n->source(), field,
					     "longer than the limit " + format_duration(max));
			d = Seconds{i->get()};
		} else if (const auto *s = n->as_string()) {
			auto parsed = parse_duration(s->get());
			if (!parsed)
				return error(n->source(), field, parsed.error().message);
			d = *parsed;
		} else {
			return error(n->source(), field,
				     "expected a duration such as \"21d\" or \"3min\" (or integer seconds)");
		}
		if (d < min)
			return error(n->source(), field, "shorter than the minimum " + format_duration(min));
		if (d > max)
			return error(n->source(), field, "longer than the limit " + format_duration(max));
		out = d;
	}

	void time(const toml::table &t, std::string_view key, TimePoint &out, bool &have)
	{
		const toml::node *n = need(t, "", key);
		if (!n)
			return;
		const auto field = std::string(key);
		const auto *v = n->as_date_time();
		if (!v)
			return error(n->source(), field,
				     "expected an RFC 3339 date-time with offset, e.g. "
				     "2026-01-01T00:00:00Z");
		const toml::date_time &dt = v->get();
		if (!dt.offset)
			return error(n->source(), field,
				     "needs a time zone offset (Z or +hh:mm): a local time is ambiguous");
		using namespace std::chrono;
		if (dt.date.year < 1970 || dt.date.year > 2200)
			return error(n->source(), field, "year outside 1970..2200");
		const year_month_day ymd{year{dt.date.year}, month{dt.date.month}, day{dt.date.day}};
		out = TimePoint{sys_days{ymd} + hours{dt.time.hour} + minutes{dt.time.minute} +
				seconds{dt.time.second} - minutes{dt.offset->minutes}};
		have = true;
	}

	[[nodiscard]] bool ok() const { return errors_.empty(); }
	[[nodiscard]] std::string joined() const
	{
		std::string s;
		for (const auto &e : errors_)
			s += (s.empty() ? "" : "\n") + e;
		return s;
	}

private:
	std::string source_;
	std::vector<std::string> errors_;
};

const toml::table *subtable(Checker &c, const toml::table &root, std::string_view key,
			    bool required)
{
	const toml::node *n = required ? c.need(root, "", key) : root.get(key);
	if (!n)
		return nullptr;
	const auto *t = n->as_table();
	if (!t)
		c.error(n->source(), std::string(key), "expected a table [" + std::string(key) + "]");
	return t;
}

void parse_retention(Checker &c, const toml::table &root, Retention &r)
{
	const auto *t = subtable(c, root, "retention", true);
	if (!t)
		return;
	const std::string pre = "retention.";
	c.only(*t, pre,
	       {"nonhit_digest", "hit_record", "hit_image", "outbox", "audit_log",
		"audit_log_minimum", "key_rotation"});
	const Seconds zero{0};
	c.duration(*t, pre, "nonhit_digest", r.nonhit_digest, zero, kMaxRetention);
	c.duration(*t, pre, "hit_record", r.hit_record, zero, kMaxRetention);
	c.duration(*t, pre, "hit_image", r.hit_image, zero, kMaxRetention);
	c.duration(*t, pre, "outbox", r.outbox, zero, kMaxRetention);
	c.duration(*t, pre, "audit_log", r.audit_log, zero, kMaxRetention);
	c.duration(*t, pre, "audit_log_minimum", r.audit_log_minimum, zero, kMaxRetention);
	c.duration(*t, pre, "key_rotation", r.key_rotation, kMinKeyRotation, kMaxKeyRotation);
	if (const auto *n = t->get("hit_image"); n && r.hit_image > r.hit_record)
		c.error(n->source(), "retention.hit_image",
			"longer than retention.hit_record (an image cannot outlive its record)");
	if (const auto *n = t->get("audit_log"); n && r.audit_log < r.audit_log_minimum)
		c.error(n->source(), "retention.audit_log",
			"shorter than retention.audit_log_minimum");
}

/// A policy may not keep non-hits longer than its jurisdiction's law allows (jurisdiction.h):
/// refused at sign and install alike, since both parse the policy here.
void check_statutory_cap(Checker &c, const toml::table &root, const Policy &p)
{
	const StatutoryCap *cap = statutory_cap(p.jurisdiction);
	if (cap == nullptr || p.retention.nonhit_digest <= cap->nonhit_digest_max)
		return;
	const toml::node *n = root.at_path("retention.nonhit_digest").node();
	c.error(n ? n->source() : root.source(), "retention.nonhit_digest",
		format_duration(p.retention.nonhit_digest) + " is longer than " +
			std::string(cap->code) + " law allows for non-hits (at most " +
			format_duration(cap->nonhit_digest_max) + ": " + std::string(cap->citation) +
			")");
}

void parse_hotlist(Checker &c, const toml::table &root, HotlistRules &h)
{
	const auto *t = subtable(c, root, "hotlist", true);
	if (!t)
		return;
	const std::string pre = "hotlist.";
	c.only(*t, pre,
	       {"max_age", "publish_stale", "categories", "match_confusions", "max_edit_distance"});
	c.duration(*t, pre, "max_age", h.max_age, Seconds{0}, kMaxHotlistAge);
	c.boolean(*t, pre, "publish_stale", h.publish_stale);
	c.boolean(*t, pre, "match_confusions", h.match_confusions);
	if (const auto *n = c.need(*t, pre, "max_edit_distance")) {
		const auto *i = n->as_integer();
		if (!i || i->get() < 0 || i->get() > 1)
			c.error(n->source(), "hotlist.max_edit_distance", "expected 0 or 1");
		else
			h.max_edit_distance = static_cast<int>(i->get());
	}
	h.categories.clear();
	if (const auto *n = c.need(*t, pre, "categories")) {
		const auto *a = n->as_array();
		if (!a)
			return c.error(n->source(), "hotlist.categories", "expected an array of strings");
		if (a->size() > kMaxCategories)
			return c.error(n->source(), "hotlist.categories",
				       "more than " + std::to_string(kMaxCategories) + " entries");
		std::set<std::string> seen;
		for (std::size_t i = 0; i < a->size(); ++i) {
			const auto &e = *a->get(i);
			const auto field = "hotlist.categories[" + std::to_string(i) + "]";
			const auto *s = e.as_string();
			if (!s || !valid_name(s->get())) {
				c.error(e.source(), field,
					"expected a category name: 1-64 of [a-z0-9._-]");
				continue;
			}
			if (!seen.insert(s->get()).second) {
				c.error(e.source(), field, "duplicate category '" + s->get() + "'");
				continue;
			}
			h.categories.push_back(s->get());
		}
	}
}

void parse_recipients(Checker &c, const toml::table &root, Policy &p)
{
	p.recipients.clear();
	const toml::node *n = root.get("recipients");
	if (!n)
		return;
	const auto *a = n->as_array();
	if (a && a->empty())
		return; // recipients = []: nothing is published
	if (!a || !a->is_array_of_tables())
		return c.error(n->source(), "recipients",
			       "expected an array of tables ([[recipients]] sections)");
	if (a->size() > kMaxRecipients)
		return c.error(n->source(), "recipients",
			       "more than " + std::to_string(kMaxRecipients) + " recipients");
	std::set<std::string> names;
	for (std::size_t i = 0; i < a->size(); ++i) {
		const auto &t = *a->get(i)->as_table();
		const auto pre = "recipients[" + std::to_string(i) + "].";
		c.only(t, pre, {"name", "broker", "topics", "purpose", "public_agency"});
		Recipient r;
		c.string(t, pre, "name", r.name, 64, true);
		if (!r.name.empty() && !names.insert(r.name).second)
			c.error(t.get("name")->source(), pre + "name",
				"duplicate recipient name '" + r.name + "'");
		c.string(t, pre, "broker", r.broker, 300, false);
		if (const auto *b = t.get("broker"); b && !r.broker.empty() && !valid_broker(r.broker))
			c.error(b->source(), pre + "broker",
				"expected host:port (port 1-65535, IPv6 as [addr]:port)");
		c.string(t, pre, "purpose", r.purpose, 500, false);
		c.boolean(t, pre, "public_agency", r.public_agency);
		if (const auto *pa = t.get("public_agency");
		    pa && pa->is_boolean() && p.public_agencies_only && !r.public_agency)
			c.error(pa->source(), pre + "public_agency",
				"must be true: public_agencies_only is set");
		if (const auto *tn = c.need(t, pre, "topics")) {
			const auto *ta = tn->as_array();
			if (!ta || ta->empty() || ta->size() > kMaxTopics) {
				c.error(tn->source(), pre + "topics",
					"expected 1-" + std::to_string(kMaxTopics) + " topic strings");
			} else {
				std::set<std::string> seen;
				for (std::size_t j = 0; j < ta->size(); ++j) {
					const auto &e = *ta->get(j);
					const auto field = pre + "topics[" + std::to_string(j) + "]";
					const auto *s = e.as_string();
					if (!s || !is_publish_topic(s->get()))
						c.error(e.source(), field,
							"expected an exact MQTT topic (1-256 bytes, no "
							"wildcards + #, not starting with $)");
					else if (!seen.insert(s->get()).second)
						c.error(e.source(), field, "duplicate topic");
					else
						r.topics.push_back(s->get());
				}
			}
		}
		p.recipients.push_back(std::move(r));
	}
}

} // namespace

namespace {

/// Duration units, longest spelling first where one is a prefix of another. "m" is not one:
/// minutes or months? A policy misread by a factor of 43200 is worse than a refusal.
struct DurationUnit {
	std::string_view name;
	long long seconds;
};
constexpr DurationUnit kDurationUnits[] = {
	{"y", 365LL * 86400}, {"w", 7LL * 86400}, {"d", 86400}, {"h", 3600}, {"min", 60}, {"s", 1}};

} // namespace

Result<Seconds> parse_duration(std::string_view text)
{
	if (text == "0")
		return Seconds{0};
	if (text.empty())
		return make_error(-EINVAL, "empty duration");
	const auto bad = [&] {
		return make_error(-EINVAL, "expected a duration such as \"0\", \"90s\", \"3min\", "
					   "\"21d\", \"1h30min\" (units s min h d w y, each at most once)");
	};
	long long total = 0;
	std::size_t i = 0;
	std::vector<std::string_view> seen;
	while (i < text.size()) {
		std::size_t j = i;
		while (j < text.size() && text[j] >= '0' && text[j] <= '9')
			++j;
		if (j == i || j == text.size() || j - i > 12)
			return bad();
		long long n = 0;
		std::from_chars(text.data() + i, text.data() + j, n);
		std::size_t k = j;
		while (k < text.size() && text[k] >= 'a' && text[k] <= 'z')
			++k;
		const std::string_view name = text.substr(j, k - j);
		if (name == "m") {
			const std::string count(text.substr(i, j - i));
			return make_error(-EINVAL, "ambiguous unit \"m\": write \"" + count +
							   "min\" for minutes or \"" +
							   std::to_string(n * 30) + "d\" for about " +
							   (n == 1 ? std::string("one month") : count + " months"));
		}
		const auto unit = std::find_if(std::begin(kDurationUnits), std::end(kDurationUnits),
					       [&](const DurationUnit &u) { return u.name == name; });
		if (unit == std::end(kDurationUnits) ||
		    std::find(seen.begin(), seen.end(), name) != seen.end())
			return bad();
		seen.push_back(name);
		if (n > kMaxRetention.count() * 100 / unit->seconds)
			return make_error(-ERANGE, "duration too long");
		total += n * unit->seconds;
		if (total > kMaxRetention.count() * 100)
			return make_error(-ERANGE, "duration too long");
		i = k;
	}
	return Seconds{total};
}

std::string format_duration(Seconds s)
{
	long long v = s.count();
	if (v == 0)
		return "0s";
	std::string out;
	for (const auto &u : kDurationUnits) {
		if (u.name == "w")
			continue; // "21d" reads better than "3w"
		if (v >= u.seconds) {
			out += std::to_string(v / u.seconds);
			out += u.name;
			v %= u.seconds;
		}
	}
	return out;
}

Result<Policy> parse_policy(std::string_view text, std::string_view source)
{
	toml::table root;
	try {
		// toml++ as packaged by Debian is built with exceptions; this is the only catch,
		// converting its parse error (with position) into a Result.
		root = toml::parse(text, source);
	} catch (const toml::parse_error &e) {
		std::ostringstream os;
		os << source << ':' << e.source().begin.line << ':' << e.source().begin.column
		   << ": TOML syntax: " << e.description();
		return make_error(-EINVAL, os.str());
	}

	Checker c(source);
	Policy p;
	c.only(root, "",
	       {"id", "version", "issuer", "jurisdiction", "legal_basis", "not_before", "not_after",
		"retro_hit_queries", "public_agencies_only", "retention", "hotlist", "recipients"});
	c.string(root, "", "id", p.id, 64, true);
	if (const auto *n = c.need(root, "", "version")) {
		const auto *i = n->as_integer();
		if (!i)
			c.error(n->source(), "version", "expected an integer");
		else if (i->get() < 1 || static_cast<std::uint64_t>(i->get()) > kMaxVersion)
			c.error(n->source(), "version", "must be 1..2^53-1");
		else
			p.version = static_cast<std::uint64_t>(i->get());
	}
	c.string(root, "", "issuer", p.issuer, 200, false);
	c.string(root, "", "jurisdiction", p.jurisdiction, 100, false);
	c.string(root, "", "legal_basis", p.legal_basis, 4000, false, true, false);
	bool have_nb = false, have_na = false;
	c.time(root, "not_before", p.not_before, have_nb);
	c.time(root, "not_after", p.not_after, have_na);
	if (have_nb && have_na) {
		const auto *n = root.get("not_after");
		if (p.not_after <= p.not_before)
			c.error(n->source(), "not_after", "must be later than not_before");
		else if (p.not_after - p.not_before > kMaxValidity)
			c.error(n->source(), "not_after",
				"more than 10 years after not_before");
	}
	c.boolean(root, "", "retro_hit_queries", p.retro_hit_queries);
	c.boolean(root, "", "public_agencies_only", p.public_agencies_only, false);
	parse_retention(c, root, p.retention);
	check_statutory_cap(c, root, p);
	parse_hotlist(c, root, p.hotlist);
	parse_recipients(c, root, p);
	if (!c.ok())
		return make_error(-EINVAL, c.joined());
	return p;
}

nlohmann::json to_json(const Policy &p)
{
	using nlohmann::json;
	auto dur = [](Seconds s) { return s.count(); };
	json recipients = json::array();
	for (const auto &r : p.recipients)
		recipients.push_back({{"name", r.name},
				      {"broker", r.broker},
				      {"topics", r.topics},
				      {"purpose", r.purpose},
				      {"public_agency", r.public_agency}});
	json sources = json::array();
	for (const auto &s : p.sources)
		sources.push_back({{"id", s.id}, {"version", s.version}, {"hash", s.hash}});
	return json{
		{"id", p.id},
		{"version", p.version},
		{"issuer", p.issuer},
		{"jurisdiction", p.jurisdiction},
		{"legal_basis", p.legal_basis},
		{"not_before", format_utc(p.not_before)},
		{"not_after", format_utc(p.not_after)},
		{"retro_hit_queries", p.retro_hit_queries},
		{"public_agencies_only", p.public_agencies_only},
		{"retention_seconds",
		 {{"nonhit_digest", dur(p.retention.nonhit_digest)},
		  {"hit_record", dur(p.retention.hit_record)},
		  {"hit_image", dur(p.retention.hit_image)},
		  {"outbox", dur(p.retention.outbox)},
		  {"audit_log", dur(p.retention.audit_log)},
		  {"audit_log_minimum", dur(p.retention.audit_log_minimum)},
		  {"key_rotation", dur(p.retention.key_rotation)}}},
		{"hotlist",
		 {{"max_age_seconds", dur(p.hotlist.max_age)},
		  {"publish_stale", p.hotlist.publish_stale},
		  {"categories", p.hotlist.categories},
		  {"match_confusions", p.hotlist.match_confusions},
		  {"max_edit_distance", p.hotlist.max_edit_distance}}},
		{"recipients", recipients},
		{"hash", p.hash},
		{"key_id", p.key_id},
		{"sources", sources},
	};
}

} // namespace lethe::policy
