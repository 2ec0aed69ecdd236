// SPDX-License-Identifier: GPL-3.0-or-later
// Digest-only hot-list matcher: keyed HMAC digests of normalised/canonical forms and deletions.
//
// HMAC-SHA256 is computed here from precomputed inner/outer SHA-256 states (RFC 2104) with
// OpenSSL's low-level SHA-256 (deprecated in 3.0, still shipped and SHA-NI/ARMv8-accelerated):
// EVP_MAC costs ~1.5 us per call in provider dispatch and context copies, the precomputed
// states ~0.2 us; a lookup needs up to ~10 digests. hotlist_test checks the result equals
// crypto::hmac_sha256.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>
#include <openssl/sha.h>

#include "lethe/common/log.h"
#include "lethe/hotlist/hotlist.h"

namespace lethe::hotlist {

namespace {

constexpr char kTagExact = 'E';
constexpr char kTagCanon = 'C';
constexpr char kTagDelExact = 'e';
constexpr char kTagDelCanon = 'c';
constexpr std::string_view kMagic = "LETHEHL1";
constexpr std::string_view kAad = "lethe-hotlist-v1";

/// All distinct strings obtained by deleting one character.
std::vector<std::string> deletions(std::string_view s)
{
	std::vector<std::string> out;
	for (std::size_t i = 0; i < s.size(); ++i) {
		// Deleting either of two equal neighbours gives the same string.
		if (i > 0 && s[i] == s[i - 1])
			continue;
		std::string d;
		d.reserve(s.size() - 1);
		d.append(s.substr(0, i));
		d.append(s.substr(i + 1));
		out.push_back(std::move(d));
	}
	return out;
}

template<typename F>
void probe(const Matcher::Table &t, std::uint64_t key, F &&f)
{
	if (t.keys.empty())
		return;
	for (std::uint64_t i = key & t.mask;; i = (i + 1) & t.mask) {
		const std::uint64_t k = t.keys[i];
		if (k == 0)
			return;
		if (k == key)
			f(t.values[i]);
	}
}

void put_u32(crypto::Bytes &b, std::uint32_t v)
{
	for (int i = 0; i < 4; ++i)
		b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void put_u64(crypto::Bytes &b, std::uint64_t v)
{
	for (int i = 0; i < 8; ++i)
		b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

bool get_u32(const crypto::SecretBytes &b, std::size_t &pos, std::uint32_t &v)
{
	if (pos + 4 > b.size())
		return false;
	v = 0;
	for (int i = 0; i < 4; ++i)
		v |= static_cast<std::uint32_t>(b[pos + static_cast<std::size_t>(i)]) << (8 * i);
	pos += 4;
	return true;
}

bool get_u64(const crypto::SecretBytes &b, std::size_t &pos, std::uint64_t &v)
{
	if (pos + 8 > b.size())
		return false;
	v = 0;
	for (int i = 0; i < 8; ++i)
		v |= static_cast<std::uint64_t>(b[pos + static_cast<std::size_t>(i)]) << (8 * i);
	pos += 8;
	return true;
}

std::vector<std::pair<std::uint64_t, std::uint32_t>> items(const Matcher::Table &t)
{
	std::vector<std::pair<std::uint64_t, std::uint32_t>> out;
	for (std::size_t i = 0; i < t.keys.size(); ++i)
		if (t.keys[i])
			out.emplace_back(t.keys[i], t.values[i]);
	return out;
}

std::int64_t to_unix(TimePoint t)
{
	return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

TimePoint from_unix(std::int64_t s)
{
	return TimePoint(std::chrono::seconds(s));
}

} // namespace

std::string_view match_type_name(MatchType t)
{
	switch (t) {
	case MatchType::Exact:
		return "exact";
	case MatchType::Confusion:
		return "confusion";
	case MatchType::MissingChar:
		return "missing_char";
	case MatchType::ExtraChar:
		return "extra_char";
	}
	return "unknown";
}

void Matcher::Table::build(std::vector<std::pair<std::uint64_t, std::uint32_t>> in)
{
	std::size_t cap = 16;
	while (cap < in.size() * 2)
		cap <<= 1;
	keys.assign(cap, 0);
	values.assign(cap, 0);
	mask = cap - 1;
	for (const auto &[k, v] : in) {
		std::uint64_t i = k & mask;
		while (keys[i] != 0)
			i = (i + 1) & mask;
		keys[i] = k;
		values[i] = v;
	}
}

struct Matcher::HmacState {
	SHA256_CTX inner;
	SHA256_CTX outer;
};

Matcher::Matcher() = default;

Matcher::~Matcher()
{
	if (hmac_)
		crypto::wipe(hmac_.get(), sizeof(HmacState));
}

Status Matcher::init_key(const crypto::SecretBytes &list_key)
{
	if (list_key.size() != 32)
		return make_error(-EINVAL, "hot-list key must be 32 bytes");
	hmac_ = std::make_unique<HmacState>();
	unsigned char pad[64];
	for (int round = 0; round < 2; ++round) {
		const unsigned char x = round == 0 ? 0x36 : 0x5c;
		for (std::size_t i = 0; i < sizeof(pad); ++i)
			pad[i] = static_cast<unsigned char>((i < list_key.size() ? list_key[i] : 0) ^ x);
		SHA256_CTX &c = round == 0 ? hmac_->inner : hmac_->outer;
		SHA256_Init(&c);
		SHA256_Update(&c, pad, sizeof(pad));
	}
	crypto::wipe(pad, sizeof(pad));
	// Derived keys: domain-separated HMACs of constants.
	const std::string_view fk = "lethe hotlist file key v1";
	const auto file_key = crypto::hmac_sha256(list_key, fk.data(), fk.size());
	file_key_.assign(file_key.begin(), file_key.end());
	const std::string_view ki = "lethe hotlist key id v1";
	const auto id = crypto::hmac_sha256(list_key, ki.data(), ki.size());
	key_id_ = crypto::to_hex(id.data(), 8);
	return {};
}

std::uint64_t Matcher::digest(char tag, std::string_view text) const
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	const unsigned char sep[2] = {static_cast<unsigned char>(tag), 0};
	SHA256_CTX c = hmac_->inner;
	SHA256_Update(&c, sep, sizeof(sep));
	SHA256_Update(&c, text.data(), text.size());
	SHA256_Final(h, &c);
	c = hmac_->outer;
	SHA256_Update(&c, h, sizeof(h));
	SHA256_Final(h, &c);
	crypto::wipe(&c, sizeof(c));
	std::uint64_t d = 0;
	std::memcpy(&d, h, sizeof(d));
	crypto::wipe(h, sizeof(h));
	return d ? d : 1; // 0 marks an empty slot
}

std::uint64_t Matcher::digest_for_test(char tag, std::string_view text) const
{
	return digest(tag, text);
}

Result<std::unique_ptr<Matcher>> Matcher::compile(const ListInfo &info,
						  const std::vector<Entry> &entries,
						  const crypto::SecretBytes &list_key)
{
	std::unique_ptr<Matcher> m(new Matcher());
	if (auto s = m->init_key(list_key); !s)
		return s.error();
	if (entries.size() > 0xffffffffu)
		return make_error(-E2BIG, "hot list too large");
	m->info_ = info;
	std::vector<std::pair<std::uint64_t, std::uint32_t>> e, c, de, dc;
	for (std::size_t i = 0; i < entries.size(); ++i) {
		const auto &en = entries[i];
		const auto idx = static_cast<std::uint32_t>(i);
		std::string norm = normalise(en.plate);
		if (norm.empty())
			return make_error(-EINVAL, "entry " + std::to_string(i + 1) + ": bad plate");
		std::string canon = confusion_canonical(norm);
		e.emplace_back(m->digest(kTagExact, norm), idx);
		c.emplace_back(m->digest(kTagCanon, canon), idx);
		if (norm.size() > kMinEditLength) {
			for (auto &d : deletions(norm)) {
				de.emplace_back(m->digest(kTagDelExact, d), idx);
				crypto::wipe(d);
			}
			for (auto &d : deletions(canon)) {
				dc.emplace_back(m->digest(kTagDelCanon, d), idx);
				crypto::wipe(d);
			}
		}
		crypto::wipe(norm);
		crypto::wipe(canon);
		m->entries_.push_back(EntryInfo{en.region, en.list_id, en.category, en.reason,
						en.agency_ref, en.entered, en.expires});
	}
	m->exact_.build(std::move(e));
	m->canon_.build(std::move(c));
	m->del_exact_.build(std::move(de));
	m->del_canon_.build(std::move(dc));
	return m;
}

Result<crypto::Bytes> Matcher::save() const
{
	nlohmann::json j;
	j["id"] = info_.id;
	j["version"] = info_.version;
	j["generated"] = to_unix(info_.generated);
	j["key_id"] = key_id_;
	auto &arr = j["entries"] = nlohmann::json::array();
	for (const auto &en : entries_) {
		nlohmann::json x = {{"region", en.region},   {"list_id", en.list_id},
				    {"category", en.category}, {"reason", en.reason},
				    {"agency_ref", en.agency_ref}, {"entered", to_unix(en.entered)}};
		if (en.expires)
			x["expires"] = to_unix(*en.expires);
		arr.push_back(std::move(x));
	}
	const std::string header = j.dump();
	crypto::Bytes plain(kMagic.begin(), kMagic.end());
	put_u32(plain, static_cast<std::uint32_t>(header.size()));
	plain.insert(plain.end(), header.begin(), header.end());
	for (const Table *t : {&exact_, &canon_, &del_exact_, &del_canon_}) {
		const auto it = items(*t);
		put_u32(plain, static_cast<std::uint32_t>(it.size()));
		for (const auto &[k, v] : it) {
			put_u64(plain, k);
			put_u32(plain, v);
		}
	}
	auto sealed = crypto::seal(file_key_, plain.data(), plain.size(), kAad);
	if (!sealed)
		return sealed.error();
	crypto::Bytes out(kMagic.begin(), kMagic.end());
	out.insert(out.end(), key_id_.begin(), key_id_.end());
	out.insert(out.end(), sealed->begin(), sealed->end());
	return out;
}

Result<std::unique_ptr<Matcher>> Matcher::load(const crypto::Bytes &file,
					       const crypto::SecretBytes &list_key)
{
	std::unique_ptr<Matcher> m(new Matcher());
	if (auto s = m->init_key(list_key); !s)
		return s.error();
	const std::size_t prefix = kMagic.size() + m->key_id_.size();
	if (file.size() < prefix ||
	    std::string_view(reinterpret_cast<const char *>(file.data()), kMagic.size()) != kMagic)
		return make_error(-EINVAL, "not a compiled Lethe hot list");
	const std::string file_key_id(file.begin() + static_cast<std::ptrdiff_t>(kMagic.size()),
				      file.begin() + static_cast<std::ptrdiff_t>(prefix));
	if (file_key_id != m->key_id_)
		return make_error(-EKEYREJECTED, "hot list was compiled for another list key (" +
							 file_key_id + ", device has " + m->key_id_ + ")");
	crypto::Bytes sealed(file.begin() + static_cast<std::ptrdiff_t>(prefix), file.end());
	auto plain = crypto::open(m->file_key_, sealed, kAad);
	if (!plain)
		return make_error(-EBADMSG, "compiled hot list is corrupt or was modified");
	const auto &p = *plain;
	std::size_t pos = kMagic.size();
	std::uint32_t hlen = 0;
	if (!get_u32(p, pos, hlen) || pos + hlen > p.size())
		return make_error(-EBADMSG, "compiled hot list: truncated header");
	try {
		const auto j = nlohmann::json::parse(p.begin() + static_cast<std::ptrdiff_t>(pos),
						     p.begin() + static_cast<std::ptrdiff_t>(pos + hlen));
		m->info_.id = j.at("id").get<std::string>();
		m->info_.version = j.at("version").get<std::uint64_t>();
		m->info_.generated = from_unix(j.at("generated").get<std::int64_t>());
		for (const auto &x : j.at("entries")) {
			EntryInfo en;
			en.region = x.at("region").get<std::string>();
			en.list_id = x.at("list_id").get<std::string>();
			en.category = x.at("category").get<std::string>();
			en.reason = x.at("reason").get<std::string>();
			en.agency_ref = x.at("agency_ref").get<std::string>();
			en.entered = from_unix(x.at("entered").get<std::int64_t>());
			if (x.contains("expires"))
				en.expires = from_unix(x.at("expires").get<std::int64_t>());
			m->entries_.push_back(std::move(en));
		}
	} catch (const std::exception &e) {
		return make_error(-EBADMSG, std::string("compiled hot list: ") + e.what());
	}
	pos += hlen;
	for (Table *t : {&m->exact_, &m->canon_, &m->del_exact_, &m->del_canon_}) {
		std::uint32_t n = 0;
		if (!get_u32(p, pos, n) || pos + std::size_t(n) * 12 > p.size())
			return make_error(-EBADMSG, "compiled hot list: truncated table");
		std::vector<std::pair<std::uint64_t, std::uint32_t>> it(n);
		for (auto &[k, v] : it) {
			if (!get_u64(p, pos, k) || !get_u32(p, pos, v) || v >= m->entries_.size())
				return make_error(-EBADMSG, "compiled hot list: bad table");
		}
		t->build(std::move(it));
	}
	return m;
}

std::chrono::seconds Matcher::age(TimePoint now) const
{
	const auto a = std::chrono::duration_cast<std::chrono::seconds>(now - info_.generated);
	return a.count() < 0 ? std::chrono::seconds(0) : a;
}

bool Matcher::stale(const policy::HotlistRules &rules, TimePoint now) const
{
	return age(now) > rules.max_age;
}

std::vector<Hit> Matcher::match(std::string_view read_text, const policy::HotlistRules &rules,
				TimePoint now) const
{
	std::vector<Hit> hits;
	std::string norm = normalise(read_text);
	if (norm.empty())
		return hits;
	std::string canon = confusion_canonical(norm);

	// (entry, type) candidates; few in practice.
	std::vector<std::pair<std::uint32_t, MatchType>> found;
	auto add = [&](MatchType type) {
		return [&found, type](std::uint32_t idx) { found.emplace_back(idx, type); };
	};
	{
		probe(exact_, digest(kTagExact, norm), add(MatchType::Exact));
		if (rules.match_confusions)
			probe(canon_, digest(kTagCanon, canon), add(MatchType::Confusion));
		if (rules.max_edit_distance >= 1) {
			const std::string &base = rules.match_confusions ? canon : norm;
			const Table &full = rules.match_confusions ? canon_ : exact_;
			const Table &del = rules.match_confusions ? del_canon_ : del_exact_;
			const char full_tag = rules.match_confusions ? kTagCanon : kTagExact;
			const char del_tag = rules.match_confusions ? kTagDelCanon : kTagDelExact;
			// The read lacks a character: it equals a deletion of the entry.
			if (base.size() >= kMinEditLength)
				probe(del, digest(del_tag, base), add(MatchType::MissingChar));
			// The read has one more: one of its deletions equals the entry.
			if (base.size() > kMinEditLength) {
				for (auto &d : deletions(base)) {
					probe(full, digest(full_tag, d), add(MatchType::ExtraChar));
					crypto::wipe(d);
				}
			}
		}
	}
	crypto::wipe(norm);
	crypto::wipe(canon);

	const bool is_stale = stale(rules, now);
	std::stable_sort(found.begin(), found.end(),
			 [](const auto &a, const auto &b) { return a.second < b.second; });
	std::vector<std::uint32_t> seen;
	for (const auto &[idx, type] : found) {
		if (std::find(seen.begin(), seen.end(), idx) != seen.end())
			continue;
		seen.push_back(idx);
		const EntryInfo &en = entries_[idx];
		if (en.expires && *en.expires <= now)
			continue;
		if (std::find(rules.categories.begin(), rules.categories.end(), en.category) ==
		    rules.categories.end())
			continue;
		Hit h;
		h.type = type;
		h.stale = is_stale;
		h.publishable = !is_stale || rules.publish_stale;
		h.entry = en;
		hits.push_back(std::move(h));
	}
	return hits;
}

} // namespace lethe::hotlist
