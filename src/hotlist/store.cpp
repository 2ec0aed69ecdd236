// SPDX-License-Identifier: GPL-3.0-or-later
// Hot-list payloads (header + CSV) and the device's store of compiled, digest-only lists.
#include "lethe/hotlist/store.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "lethe/common/atomic_file.h"
#include "lethe/common/log.h"
#include "lethe/common/version_marks.h"
#include "lethe/policy/bundle.h"

namespace lethe::hotlist {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagicLine = "# lethe-hotlist v1";
/// STATE/hotlists/versions: "ID VERSION" per line, the highest version ever installed.
constexpr std::string_view kVersionsFile = "versions";

bool valid_id(std::string_view id)
{
	if (id.empty() || id.size() > 64)
		return false;
	for (char c : id)
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	return id[0] != '.';
}

std::string slurp(const fs::path &p)
{
	std::ifstream in(p, std::ios::binary);
	std::ostringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

} // namespace

Result<std::string> make_payload(const ListInfo &info, std::string_view csv)
{
	if (!valid_id(info.id))
		return make_error(-EINVAL, "list id '" + info.id + "': want 1-64 of [a-z0-9._-]");
	if (info.version == 0)
		return make_error(-EINVAL, "list version must be >= 1");
	std::string p(kMagicLine);
	p += "\n# id: " + info.id + "\n# version: " + std::to_string(info.version) +
	     "\n# generated: " + format_utc(info.generated) + "\n";
	p += csv;
	if (!p.empty() && p.back() != '\n')
		p += '\n';
	return p;
}

Result<ParsedList> parse_payload(std::string_view payload, const policy::HotlistRules *rules)
{
	ParsedList out;
	std::size_t pos = 0;
	auto next_line = [&](std::string &line) {
		const std::size_t eol = payload.find('\n', pos);
		if (eol == std::string_view::npos)
			return false;
		line = std::string(payload.substr(pos, eol - pos));
		pos = eol + 1;
		return true;
	};
	std::string line;
	if (!next_line(line) || line != kMagicLine)
		return make_error(-EINVAL, "line 1: want '" + std::string(kMagicLine) + "'");
	auto field = [&](int n, const std::string &name, std::string &value) -> Status {
		const std::string prefix = "# " + name + ": ";
		if (!next_line(line) || line.rfind(prefix, 0) != 0)
			return make_error(-EINVAL, "line " + std::to_string(n) + ": want '" + prefix +
							   "...'");
		value = line.substr(prefix.size());
		return {};
	};
	std::string id, version, generated;
	if (auto s = field(2, "id", id); !s)
		return s.error();
	if (auto s = field(3, "version", version); !s)
		return s.error();
	if (auto s = field(4, "generated", generated); !s)
		return s.error();
	if (!valid_id(id))
		return make_error(-EINVAL, "line 2: id '" + id + "': want 1-64 of [a-z0-9._-]");
	out.info.id = id;
	try {
		std::size_t used = 0;
		out.info.version = std::stoull(version, &used);
		if (used != version.size() || out.info.version == 0 || version[0] == '-')
			throw std::invalid_argument("version");
	} catch (const std::exception &) {
		return make_error(-EINVAL, "line 3: version '" + version + "': want an integer >= 1");
	}
	auto g = parse_utc(generated);
	if (!g)
		return make_error(-EINVAL, "line 4: generated: " + g.error().message);
	out.info.generated = *g;
	// CSV errors name the lines of the CSV the officer signed ("CSV line 4: ..."), not of the
	// payload, whose four header lines that CSV never had.
	const std::string_view csv = payload.substr(pos);
	auto entries = rules ? parse_csv(csv, *rules) : parse_csv_syntax(csv);
	if (!entries) {
		const bool category = entries.error().message.find("not allowed") != std::string::npos;
		return make_error(category ? -EPERM : -EINVAL, "CSV " + entries.error().message);
	}
	out.entries = std::move(entries).value();
	return out;
}

Result<std::unique_ptr<HotlistStore>> HotlistStore::open(const fs::path &state_dir)
{
	std::unique_ptr<HotlistStore> s(new HotlistStore());
	s->dir_ = state_dir / "hotlists";
	std::error_code ec;
	fs::create_directories(s->dir_, ec);
	if (ec)
		return make_error(-EIO, "cannot create " + s->dir_.string() + ": " + ec.message());
	::chmod(s->dir_.c_str(), 0700);
	const fs::path key = s->dir_ / "list.key";
	if (fs::exists(key, ec)) {
		const std::string k = slurp(key);
		if (k.size() != 32)
			return make_error(-EINVAL, key.string() + ": want 32 bytes");
		s->key_.assign(k.begin(), k.end());
		std::string wipe_me = k;
		crypto::wipe(wipe_me);
	} else {
		auto r = crypto::random_bytes(32);
		if (!r)
			return r.error();
		s->key_ = std::move(r).value();
		// A new store's rollback memory starts empty and from now on must exist: written
		// before the key, so that a crash between the two cannot leave a key without it.
		// Not where lists are left over (a deleted key): recover_versions() judges those.
		if (!fs::exists(s->dir_ / kVersionsFile, ec) && s->sealed_lists().empty())
			if (auto st = fsutil::write_atomic(s->dir_ / kVersionsFile, "", 0600); !st)
				return st.error();
		const std::string_view raw(reinterpret_cast<const char *>(s->key_.data()),
					   s->key_.size());
		if (auto st = fsutil::write_atomic(key, raw, 0600); !st)
			return st.error();
	}
	s->recover_versions();
	return s;
}

Result<InstalledList> HotlistStore::install(std::string_view payload,
					    const std::string &bundle_hash,
					    const policy::HotlistRules &rules, TimePoint now)
{
	auto parsed = parse_payload(payload, &rules);
	if (!parsed)
		return parsed.error();
	if (parsed->info.generated > now + policy::kClockSkew)
		return make_error(-EINVAL, "line 4: generated " + format_utc(parsed->info.generated) +
						   " is in the future (now " + format_utc(now) + ", allowed skew " +
						   std::to_string(policy::kClockSkew.count()) +
						   " s): a list cannot be extracted before it is signed");
	if (versions_lost_)
		return make_error(-ESTALE, (dir_ / kVersionsFile).string() +
						   " (the hot-list rollback memory) is missing while the store "
						   "holds a list key: refusing every install, since any old list "
						   "would pass; restore the file from a backup (docs/hotlist.md)");
	const std::uint64_t highest = highest_version(parsed->info.id);
	if (parsed->info.version <= highest)
		return make_error(-ESTALE, "version " + std::to_string(parsed->info.version) +
						   " of list '" + parsed->info.id +
						   "' is not above " + std::to_string(highest) +
						   ", the highest version ever installed");
	auto m = Matcher::compile(parsed->info, parsed->entries, key_);
	if (!m)
		return m.error();
	auto bytes = (*m)->save();
	if (!bytes)
		return bytes.error();
	InstalledList il;
	il.info = parsed->info;
	il.entries = parsed->entries.size();
	il.bundle_hash = bundle_hash;
	il.key_id = (*m)->key_id();
	il.installed_at = now;
	std::map<std::string, std::size_t> cats;
	for (const auto &e : parsed->entries)
		++cats[e.category];
	il.categories.assign(cats.begin(), cats.end());
	nlohmann::json j = {{"id", il.info.id},
			    {"version", il.info.version},
			    {"generated", format_utc(il.info.generated)},
			    {"entries", il.entries},
			    {"bundle_hash", il.bundle_hash},
			    {"key_id", il.key_id},
			    {"installed_at", format_utc(now)},
			    {"categories", cats}};
	const std::string meta = j.dump(2) + "\n";
	const std::string_view compiled(reinterpret_cast<const char *>(bytes->data()), bytes->size());
	// The sealed list first: it carries its version, so a crash before the versions file
	// is written still remembers it (highest_version reads both).
	if (auto s = fsutil::write_atomic(dir_ / (il.info.id + ".lhl"), compiled, 0600); !s)
		return s.error();
	if (auto s = fsutil::write_atomic(dir_ / (il.info.id + ".json"), meta, 0600); !s)
		return s.error();
	if (auto s = raise_version_mark(dir_ / kVersionsFile, il.info.id, il.info.version, 0600); !s)
		return s.error();
	return il;
}

std::uint64_t HotlistStore::highest_version(const std::string &id) const
{
	std::uint64_t best = 0;
	if (auto v = read_version_marks(dir_ / kVersionsFile); v.count(id) != 0)
		best = v.at(id);
	// The sealed list (authentic: only this store's key opens it) and the metadata: a crash
	// between writes, or a versions file replaced by an older copy, can only raise the bar.
	if (auto m = load(id))
		best = std::max(best, (*m)->info().version);
	for (const auto &il : list())
		if (il.info.id == id)
			best = std::max(best, il.info.version);
	return best;
}

std::vector<std::string> HotlistStore::sealed_lists() const
{
	std::vector<std::string> ids;
	std::error_code ec;
	for (const auto &f : fs::directory_iterator(dir_, ec))
		if (f.path().extension() == ".lhl")
			ids.push_back(f.path().stem().string());
	return ids;
}

void HotlistStore::recover_versions()
{
	std::error_code ec;
	if (fs::exists(dir_ / kVersionsFile, ec))
		return;
	// A store written before the versions file existed, or one whose versions file was
	// deleted: the sealed lists still know their versions.
	const auto ids = sealed_lists();
	const auto lost = [this](const std::string &why) {
		// The key says lists were installed here, yet nothing tells which versions: a v1
		// must not pass for new. install() refuses until the file is restored.
		versions_lost_ = true;
		LOG(Hotlist, Error) << (dir_ / kVersionsFile).string() << " is missing and " << why
				    << ": hot-list installs are refused until it is restored";
	};
	if (ids.empty()) {
		lost("no sealed list remains to rebuild it from");
		return;
	}
	for (const auto &id : ids) {
		auto m = load(id);
		if (!m) {
			lost(id + ".lhl does not open with the list key (" + m.error().message + ")");
			return;
		}
		// Read-only callers (`lethe hotlist list` as a technician) cannot write it; the
		// sealed lists still count in highest_version(), so only the rebuild waits.
		if (auto st = raise_version_mark(dir_ / kVersionsFile, id, (*m)->info().version, 0600); !st) {
			LOG(Hotlist, Warning) << "cannot rebuild the hot-list versions file: "
					      << st.error().message;
			return;
		}
	}
	LOG(Hotlist, Warning) << "rebuilt " << (dir_ / kVersionsFile).string() << " from "
			      << ids.size() << " sealed list(s)";
	return;
}

std::vector<InstalledList> HotlistStore::list() const
{
	std::vector<InstalledList> out;
	std::error_code ec;
	for (const auto &f : fs::directory_iterator(dir_, ec)) {
		if (f.path().extension() != ".json")
			continue;
		try {
			const auto j = nlohmann::json::parse(slurp(f.path()));
			InstalledList il;
			il.info.id = j.at("id").get<std::string>();
			il.info.version = j.at("version").get<std::uint64_t>();
			auto g = parse_utc(j.at("generated").get<std::string>());
			auto at = parse_utc(j.at("installed_at").get<std::string>());
			if (!g || !at)
				continue;
			il.info.generated = *g;
			il.installed_at = *at;
			il.entries = j.at("entries").get<std::size_t>();
			il.bundle_hash = j.at("bundle_hash").get<std::string>();
			il.key_id = j.at("key_id").get<std::string>();
			for (const auto &[k, v] : j.at("categories").items())
				il.categories.emplace_back(k, v.get<std::size_t>());
			out.push_back(std::move(il));
		} catch (const std::exception &) {
			continue;
		}
	}
	std::sort(out.begin(), out.end(),
		  [](const auto &a, const auto &b) { return a.info.id < b.info.id; });
	return out;
}

Result<std::unique_ptr<Matcher>> HotlistStore::load(const std::string &id) const
{
	if (!valid_id(id))
		return make_error(-EINVAL, "bad list id '" + id + "'");
	const fs::path p = dir_ / (id + ".lhl");
	std::error_code ec;
	if (!fs::exists(p, ec))
		return make_error(-ENOENT, "no hot list '" + id + "' installed");
	const std::string raw = slurp(p);
	return Matcher::load(crypto::Bytes(raw.begin(), raw.end()), key_);
}

Result<std::vector<std::unique_ptr<Matcher>>> HotlistStore::load_all() const
{
	std::vector<std::unique_ptr<Matcher>> out;
	for (const auto &il : list()) {
		auto m = load(il.info.id);
		if (!m)
			return make_error(m.error().code, il.info.id + ": " + m.error().message);
		out.push_back(std::move(m).value());
	}
	return out;
}

} // namespace lethe::hotlist
