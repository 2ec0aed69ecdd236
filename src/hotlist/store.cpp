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

namespace lethe::hotlist {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagicLine = "# lethe-hotlist v1";

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

Status write_atomic(const fs::path &path, const void *data, std::size_t size)
{
	const fs::path tmp = path.string() + ".tmp";
	const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return make_error(-errno, "cannot write " + tmp.string());
	const bool ok = ::write(fd, data, size) == static_cast<ssize_t>(size) && ::fsync(fd) == 0;
	::close(fd);
	if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
		::unlink(tmp.c_str());
		return make_error(-EIO, "cannot write " + path.string());
	}
	const int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		::fsync(dfd);
		::close(dfd);
	}
	return {};
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
		if (auto st = write_atomic(key, s->key_.data(), s->key_.size()); !st)
			return st.error();
	}
	return s;
}

Result<InstalledList> HotlistStore::install(std::string_view payload,
					    const std::string &bundle_hash,
					    const policy::HotlistRules &rules, TimePoint now)
{
	auto parsed = parse_payload(payload, &rules);
	if (!parsed)
		return parsed.error();
	for (const auto &old : list()) {
		if (old.info.id == parsed->info.id && parsed->info.version <= old.info.version)
			return make_error(-ESTALE, "version " + std::to_string(parsed->info.version) +
							   " of list '" + old.info.id +
							   "' is not above the installed " +
							   std::to_string(old.info.version));
	}
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
	if (auto s = write_atomic(dir_ / (il.info.id + ".lhl"), bytes->data(), bytes->size()); !s)
		return s.error();
	if (auto s = write_atomic(dir_ / (il.info.id + ".json"), meta.data(), meta.size()); !s)
		return s.error();
	return il;
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
