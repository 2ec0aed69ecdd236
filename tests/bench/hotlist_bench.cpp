// SPDX-License-Identifier: GPL-3.0-or-later
// Hot-list matcher throughput: 100 000-entry list, lookups per second on one core.
//
// Usage: hotlist_bench [ENTRIES] [LOOKUPS]   (defaults 100000 and 1000000)
// Builds a random list, compiles it (keyed digests), then times lookups of a mix of reads:
// 90 % plates not on the list, 10 % on it (exact, confusion, missing/extra character), under
// the most expensive rules (confusions on, one missing/extra character).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <time.h>

#include "lethe/hotlist/hotlist.h"

using namespace lethe;
using Clock = std::chrono::steady_clock;

int main(int argc, char **argv)
{
	const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
	const std::size_t lookups = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000000;
	std::mt19937_64 rng(42);
	const char *alphabet = "ABCDEFGHJKLMNPRTUVWXY0123456789";
	auto plate = [&] {
		std::string p;
		const std::size_t len = 5 + rng() % 3;
		for (std::size_t i = 0; i < len; ++i)
			p += alphabet[rng() % 31];
		return p;
	};
	std::vector<hotlist::Entry> entries(n);
	for (auto &e : entries) {
		e.plate = plate();
		e.region = "CA";
		e.list_id = "bench";
		e.category = "stolen";
		e.reason = "bench";
		e.agency_ref = "X";
	}
	auto key = crypto::random_bytes(32);
	const auto t0 = Clock::now();
	auto m = hotlist::Matcher::compile({"bench", 1, std::chrono::system_clock::now()}, entries,
					   *key);
	const auto t1 = Clock::now();
	if (!m) {
		std::fprintf(stderr, "compile: %s\n", m.error().message.c_str());
		return 1;
	}
	auto saved = (*m)->save();
	policy::HotlistRules rules;
	rules.categories = {"stolen"};
	rules.match_confusions = true;
	rules.max_edit_distance = 1;

	std::vector<std::string> reads;
	reads.reserve(10000);
	for (std::size_t i = 0; i < 10000; ++i) {
		if (i % 10 != 0) {
			reads.push_back(plate());
			continue;
		}
		std::string p = entries[rng() % n].plate;
		switch ((i / 10) % 4) {
		case 1:
			for (char &c : p)
				c = c == '0' ? 'O' : c == '1' ? 'I' : c;
			break;
		case 2:
			p.erase(p.size() / 2, 1);
			break;
		case 3:
			p.insert(p.size() / 2, "7");
			break;
		default:
			break;
		}
		reads.push_back(p);
	}
	std::size_t hits = 0;
	const auto now = std::chrono::system_clock::now();
	auto cpu = [] {
		timespec ts{};
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
	};
	const double c2 = cpu();
	const auto t2 = Clock::now();
	for (std::size_t i = 0; i < lookups; ++i)
		hits += (*m)->match(reads[i % reads.size()], rules, now).empty() ? 0 : 1;
	const auto t3 = Clock::now();
	const double cpu_secs = cpu() - c2;
	const double secs = std::chrono::duration<double>(t3 - t2).count();
	std::printf("entries: %zu, compile: %.2f s, compiled file: %.1f MiB\n", n,
		    std::chrono::duration<double>(t1 - t0).count(),
		    saved ? static_cast<double>(saved->size()) / (1024.0 * 1024.0) : 0.0);
	std::printf("lookups: %zu in %.3f s = %.0f lookups/s (one thread), %.2f us/lookup, "
		    "hit reads: %zu\n",
		    lookups, secs, static_cast<double>(lookups) / secs, secs * 1e6 / static_cast<double>(lookups),
		    hits);
	std::printf("thread CPU time: %.3f s = %.0f lookups per CPU-second\n", cpu_secs,
		    static_cast<double>(lookups) / cpu_secs);
	return 0;
}
