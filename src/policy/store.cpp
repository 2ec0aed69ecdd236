// SPDX-License-Identifier: GPL-3.0-or-later
// Policy store: verify-then-install with rollback memory, re-verification, strictest-wins compose.
#include "lethe/policy/store.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <set>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lethe/common/atomic_file.h"
#include "lethe/common/crypto.h"
#include "lethe/common/log.h"
#include "lethe/common/unique_fd.h"
#include "lethe/common/version_marks.h"
#include "lethe/policy/parse.h"

namespace lethe::policy {

namespace {

constexpr std::string_view kBundleExt = ".bundle";
constexpr std::string_view kVersionsFile = "versions";
constexpr std::string_view kClockFile = "clock"; ///< milliseconds since the epoch, decimal
constexpr std::size_t kMaxBundle = 1024 * 1024;

/// flock() on STATE/policies/.lock for the lifetime of the object.
class DirLock
{
public:
	explicit DirLock(const std::filesystem::path &dir)
		: fd_(::open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			     0600))
	{
		if (fd_.isValid() && ::flock(fd_.get(), LOCK_EX) != 0)
			fd_.reset();
	}
	[[nodiscard]] bool ok() const { return fd_.isValid(); }

private:
	UniqueFD fd_; ///< closing it releases the flock
};

template<typename T, typename F>
std::vector<T> intersect(const std::vector<T> &a, const std::vector<T> &b, F same)
{
	std::vector<T> out;
	for (const auto &x : a)
		if (std::any_of(b.begin(), b.end(), [&](const T &y) { return same(x, y); }))
			out.push_back(x);
	return out;
}

std::string join(const std::vector<std::string> &parts, std::string_view sep)
{
	std::string out;
	for (const auto &p : parts) {
		if (!out.empty())
			out += sep;
		out += p;
	}
	return out;
}

} // namespace

Policy compose(const std::vector<Policy> &input)
{
	if (input.empty())
		return strictest();
	std::vector<Policy> ps = input;
	std::sort(ps.begin(), ps.end(),
		  [](const Policy &a, const Policy &b) { return a.id < b.id; });
	if (ps.size() == 1) {
		Policy p = ps.front();
		if (p.sources.empty())
			p.sources.push_back({p.id, p.version, p.hash});
		return p;
	}

	Policy out = ps.front();
	std::vector<std::string> ids, issuers, jurisdictions, bases, hashes, keys;
	out.sources.clear();
	out.version = 0;
	for (const auto &p : ps) {
		ids.push_back(p.id);
		issuers.push_back(p.issuer);
		jurisdictions.push_back(p.jurisdiction);
		if (!p.legal_basis.empty())
			bases.push_back(p.legal_basis);
		hashes.push_back(p.hash);
		if (std::find(keys.begin(), keys.end(), p.key_id) == keys.end())
			keys.push_back(p.key_id);
		out.sources.push_back({p.id, p.version, p.hash});
		out.version += p.version;

		out.not_before = std::max(out.not_before, p.not_before);
		out.not_after = std::min(out.not_after, p.not_after);

		auto &r = out.retention;
		r.nonhit_digest = std::min(r.nonhit_digest, p.retention.nonhit_digest);
		r.hit_record = std::min(r.hit_record, p.retention.hit_record);
		r.hit_image = std::min(r.hit_image, p.retention.hit_image);
		r.outbox = std::min(r.outbox, p.retention.outbox);
		r.audit_log = std::min(r.audit_log, p.retention.audit_log);
		r.audit_log_minimum = std::max(r.audit_log_minimum, p.retention.audit_log_minimum);
		r.key_rotation = std::min(r.key_rotation, p.retention.key_rotation);

		auto &h = out.hotlist;
		h.max_age = std::min(h.max_age, p.hotlist.max_age);
		h.publish_stale = h.publish_stale && p.hotlist.publish_stale;
		h.categories = intersect(h.categories, p.hotlist.categories,
					 [](const auto &a, const auto &b) { return a == b; });
		h.match_confusions = h.match_confusions && p.hotlist.match_confusions;
		h.max_edit_distance = std::min(h.max_edit_distance, p.hotlist.max_edit_distance);

		out.retro_hit_queries = out.retro_hit_queries && p.retro_hit_queries;
		out.public_agencies_only = out.public_agencies_only || p.public_agencies_only;
	}
	// An audit trail is never kept shorter than the longest minimum any policy demands.
	out.retention.audit_log = std::max(out.retention.audit_log, out.retention.audit_log_minimum);
	out.retention.hit_image = std::min(out.retention.hit_image, out.retention.hit_record);

	// Recipients: only those every policy allows (same name and broker), topics intersected.
	std::vector<Recipient> recipients;
	for (const auto &r : ps.front().recipients) {
		Recipient c = r;
		std::vector<std::string> purposes{r.purpose};
		bool everywhere = true;
		for (std::size_t i = 1; i < ps.size() && everywhere; ++i) {
			const auto it = std::find_if(
				ps[i].recipients.begin(), ps[i].recipients.end(),
				[&](const Recipient &o) { return o.name == r.name && o.broker == r.broker; });
			if (it == ps[i].recipients.end()) {
				everywhere = false;
				break;
			}
			c.topics = intersect(c.topics, it->topics,
					     [](const auto &a, const auto &b) { return a == b; });
			c.public_agency = c.public_agency && it->public_agency;
			if (std::find(purposes.begin(), purposes.end(), it->purpose) == purposes.end())
				purposes.push_back(it->purpose);
		}
		if (!everywhere || c.topics.empty())
			continue;
		if (out.public_agencies_only && !c.public_agency)
			continue;
		c.purpose = join(purposes, " / ");
		recipients.push_back(std::move(c));
	}
	out.recipients = std::move(recipients);

	out.id = join(ids, "+");
	out.issuer = join(issuers, " + ");
	out.jurisdiction = join(jurisdictions, " + ");
	out.legal_basis = join(bases, "\n\n");
	out.key_id = join(keys, ",");
	out.hash = crypto::to_hex(crypto::sha256(join(hashes, "\n")));
	return out;
}

Outcome<Policy> check_policy_bundle(std::string_view bundle, const std::vector<TrustedKey> &trusted,
				    TimePoint now, std::string_view source)
{
	auto v = verify_bundle(bundle, trusted, "policy", now);
	if (!v)
		return v.refusal();
	auto p = parse_policy(v->payload, source);
	if (!p)
		return refuse(Reason::InvalidPayload, p.error().message);
	if (now < p->not_before)
		return refuse(Reason::NotYetValid, "policy " + p->id + " v" +
							   std::to_string(p->version) +
							   " is not valid before " +
							   format_utc(p->not_before));
	if (now >= p->not_after)
		return refuse(Reason::Expired, "policy " + p->id + " v" + std::to_string(p->version) +
						       " expired at " + format_utc(p->not_after));
	p->hash = v->bundle_hash;
	p->key_id = v->key_id;
	p->sources = {{p->id, p->version, p->hash}};
	return std::move(*p);
}

Result<std::unique_ptr<PolicyStore>> PolicyStore::create(const std::filesystem::path &state_dir)
{
	const auto dir = state_dir / "policies";
	std::error_code ec;
	std::filesystem::create_directories(state_dir, ec);
	if (ec)
		return make_error(-ec.value(), "cannot create " + state_dir.string() + ": " +
						      ec.message());
	if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
		return make_error(-errno, "cannot create " + dir.string() + ": " +
						  std::strerror(errno));
	if (!std::filesystem::is_directory(dir, ec))
		return make_error(-ENOTDIR, dir.string() + " is not a directory");
	return std::unique_ptr<PolicyStore>(new PolicyStore(dir));
}

std::uint64_t PolicyStore::highest_version(std::string_view id) const
{
	std::uint64_t best = 0;
	if (!valid_policy_name(id))
		return 0;
	if (const auto marks = read_version_marks(dir_ / kVersionsFile);
	    marks.count(std::string(id)) != 0)
		best = marks.at(std::string(id));
	// A bundle written just before a crash, before the versions file caught up, still counts.
	// Its payload is read without verifying: this can only raise the bar, never lower it.
	auto text = fsutil::read_file(dir_ / (std::string(id) + std::string(kBundleExt)), kMaxBundle);
	if (text) {
		const auto start = text->find("\n\n");
		const auto sig = text->rfind("\nsignature: ");
		if (start != std::string::npos && sig != std::string::npos && sig >= start + 2) {
			auto p = parse_policy(std::string_view(*text).substr(start + 2, sig - start - 2),
					      "installed");
			if (p && p->id == id)
				best = std::max(best, p->version);
		}
	}
	return best;
}

TimePoint PolicyStore::time_floor() const
{
	auto text = fsutil::read_file(dir_ / kClockFile, 64);
	std::int64_t ms = 0;
	if (!text ||
	    std::from_chars(text->data(), text->data() + text->size(), ms).ec != std::errc{} || ms < 0)
		return TimePoint{};
	return TimePoint{std::chrono::milliseconds{ms}};
}

Status PolicyStore::raise_time_floor(TimePoint t)
{
	if (t <= time_floor())
		return {};
	const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
	return fsutil::write_atomic(dir_ / kClockFile, std::to_string(ms.count()) + "\n", 0644);
}

Outcome<Policy> PolicyStore::install(std::string_view bundle, const std::filesystem::path &trust_dir,
				     TimePoint now, std::string_view source)
{
	// A clock set back must not revive a bundle that expired after the last install.
	now = std::max(now, time_floor());
	auto keys = load_trust_dir(trust_dir);
	if (!keys)
		return keys.refusal();
	auto p = check_policy_bundle(bundle, *keys, now, source);
	if (!p)
		return p.refusal();

	DirLock lock(dir_);
	if (!lock.ok())
		return refuse(Reason::Io, "cannot lock " + (dir_ / ".lock").string() + ": " +
						  std::strerror(errno));
	const std::uint64_t installed = highest_version(p->id);
	if (p->version <= installed)
		return refuse(Reason::Rollback, "policy " + p->id + " v" +
							std::to_string(p->version) +
							" is not newer than v" + std::to_string(installed) +
							", the highest version ever installed");

	const auto file = dir_ / (p->id + std::string(kBundleExt));
	if (auto st = fsutil::write_atomic(file, bundle, 0644); !st)
		return refuse(Reason::Io, st.error().message);

	if (auto st = raise_version_mark(dir_ / kVersionsFile, p->id, p->version, 0644); !st)
		return refuse(Reason::Io, st.error().message);
	if (auto st = raise_time_floor(now); !st)
		return refuse(Reason::Io, st.error().message);

	LOG(Policy, Info) << "installed policy " << p->id << " v" << p->version << " (bundle "
			  << p->hash.substr(0, 16) << ", key " << p->key_id.substr(0, 16) << ")";
	return p;
}

Status PolicyStore::remove(std::string_view id)
{
	if (!valid_policy_name(id))
		return make_error(-EINVAL, "invalid policy id");
	DirLock lock(dir_);
	if (!lock.ok())
		return make_error(-errno, "cannot lock " + (dir_ / ".lock").string());
	// Remember the version before the file goes (it may predate the versions file).
	const auto highest = highest_version(id);
	if (auto st = raise_version_mark(dir_ / kVersionsFile, std::string(id), highest, 0644); !st)
		return st;

	const auto file = dir_ / (std::string(id) + std::string(kBundleExt));
	if (::unlink(file.c_str()) != 0)
		return make_error(-errno, "cannot remove " + file.string() + ": " +
						  std::strerror(errno));
	auto st = fsutil::fsync_dir(dir_);
	if (st) {
		LOG(Policy, Info) << "removed policy " << id;
	}
	return st;
}

std::vector<InstalledPolicy> PolicyStore::list(const std::filesystem::path &trust_dir,
					       TimePoint now) const
{
	now = std::max(now, time_floor());
	std::vector<InstalledPolicy> out;
	std::error_code ec;
	std::vector<std::filesystem::path> files;
	for (const auto &e : std::filesystem::directory_iterator(dir_, ec))
		if (e.path().extension() == kBundleExt)
			files.push_back(e.path());
	std::sort(files.begin(), files.end());
	auto keys = load_trust_dir(trust_dir);
	std::map<std::string, std::uint64_t> highest;
	for (const auto &[i, v] : read_version_marks(dir_ / kVersionsFile))
		highest[i] = std::max(highest[i], v);

	for (const auto &f : files) {
		InstalledPolicy ip;
		ip.file = f;
		ip.id = f.stem().string();
		auto text = fsutil::read_file(f, kMaxBundle);
		if (!text) {
			ip.problem = refuse(Reason::Io, text.error().message);
			out.push_back(std::move(ip));
			continue;
		}
		ip.hash = crypto::to_hex(crypto::sha256(*text));
		if (!keys) {
			ip.problem = keys.refusal();
			out.push_back(std::move(ip));
			continue;
		}
		// Verify signature and fields; an expired or not-yet-valid policy is installed but
		// not in force.
		auto v = verify_bundle(*text, *keys, "policy", now);
		if (!v) {
			ip.problem = v.refusal();
			out.push_back(std::move(ip));
			continue;
		}
		auto p = parse_policy(v->payload, f.filename().string());
		if (!p) {
			ip.problem = refuse(Reason::InvalidPayload, p.error().message);
			out.push_back(std::move(ip));
			continue;
		}
		p->hash = v->bundle_hash;
		p->key_id = v->key_id;
		p->sources = {{p->id, p->version, p->hash}};
		ip.version = p->version;
		if (p->id != ip.id)
			ip.problem = refuse(Reason::Malformed, f.filename().string() +
								       " holds policy '" + p->id + "'");
		else if (p->version < highest[ip.id])
			ip.problem = refuse(Reason::Rollback,
					    f.filename().string() + " holds v" +
						    std::to_string(p->version) + " but v" +
						    std::to_string(highest[ip.id]) +
						    " was installed (file replaced by an older one)");
		ip.in_force = !ip.problem && p->not_before <= now && now < p->not_after;
		ip.policy = std::move(*p);
		out.push_back(std::move(ip));
	}
	return out;
}

EffectivePolicy PolicyStore::effective(const std::filesystem::path &trust_dir, TimePoint now) const
{
	EffectivePolicy e;
	e.installed = list(trust_dir, now);
	std::vector<Policy> in_force;
	for (const auto &ip : e.installed) {
		if (ip.problem) {
			e.fallback = true;
			e.why = "installed policy " + ip.file.filename().string() + " " +
				ip.problem->describe();
			LOG(Policy, Error) << e.why << "; running under the strictest policy";
			e.policy = strictest();
			return e;
		}
		if (ip.in_force)
			in_force.push_back(*ip.policy);
	}
	if (in_force.empty()) {
		e.fallback = true;
		e.why = e.installed.empty() ? "no policy installed"
					    : "no installed policy is in force (expired or not yet valid)";
		e.policy = strictest();
		return e;
	}
	e.policy = compose(in_force);
	return e;
}

EffectivePolicy load_effective(const std::filesystem::path &state_dir,
			       const std::filesystem::path &trust_dir, TimePoint now)
{
	std::error_code ec;
	if (!std::filesystem::is_directory(state_dir / "policies", ec)) {
		EffectivePolicy e;
		e.policy = strictest();
		e.fallback = true;
		e.why = "no policy installed";
		return e;
	}
	auto store = PolicyStore::create(state_dir);
	if (!store) {
		EffectivePolicy e;
		e.policy = strictest();
		e.fallback = true;
		e.why = store.error().message;
		return e;
	}
	return (*store)->effective(trust_dir, now);
}

} // namespace lethe::policy
