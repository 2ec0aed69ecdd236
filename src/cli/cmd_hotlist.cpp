// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe hotlist sign|verify|install|show`: signed hot-list bundles and the device's lists.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/local_access.h"
#include "lethe/common/atomic_file.h"
#include "lethe/common/crypto.h"
#include "lethe/hotlist/store.h"
#include "lethe/policy/bundle.h"
#include "lethe/policy/store.h"
#include "lethe/retention/report.h"

namespace lethe::cli {
namespace {

namespace fs = std::filesystem;
using namespace lethe::hotlist;

constexpr std::size_t kMaxCsvFile = 48u * 1024u * 1024u;
constexpr std::size_t kMaxBundle = 64u * 1024u * 1024u;

int sign(const std::string &key_file, const std::string &out, const std::string &csv_file,
	 const std::string &id, std::uint64_t version, const std::string &generated)
{
	struct stat sb {};
	if (::stat(key_file.c_str(), &sb) == 0 && (sb.st_mode & 077) != 0)
		std::fprintf(stderr, "lethe hotlist sign: warning: %s is readable by others\n",
			     key_file.c_str());
	ListInfo info{id, version, std::chrono::system_clock::now()};
	if (!generated.empty()) {
		auto g = lethe::parse_utc(generated, lethe::UtcForm::DateOrDateTime);
		if (!g) {
			std::fprintf(stderr, "lethe hotlist sign: --generated: %s\n",
				     g.error().message.c_str());
			return kExitUsage;
		}
		info.generated = *g;
		// Devices refuse a list extracted "in the future" (hotlist/store.h): say so here.
		if (info.generated > std::chrono::system_clock::now() + policy::kClockSkew) {
			std::fprintf(stderr,
				     "lethe hotlist sign: --generated %s is in the future; devices "
				     "refuse such a list\n",
				     generated.c_str());
			return kExitUsage;
		}
	}
	auto csv = fsutil::read_file(csv_file, kMaxCsvFile);
	if (!csv) {
		std::fprintf(stderr, "lethe hotlist sign: %s\n", csv.error().message.c_str());
		return kExitFailure;
	}
	// Never sign a list a device would refuse for its syntax; errors name the officer's own
	// file and its lines (FILE:LINE), not the bundle payload's.
	if (auto entries = parse_csv_syntax(*csv, csv_file); !entries) {
		crypto::wipe(*csv);
		std::fprintf(stderr, "lethe hotlist sign: not a valid hot list:\n%s\n",
			     entries.error().message.c_str());
		return kExitFailure;
	} else {
		for (auto &e : *entries)
			crypto::wipe(e.plate);
	}
	auto payload = make_payload(info, *csv);
	crypto::wipe(*csv);
	if (!payload) {
		std::fprintf(stderr, "lethe hotlist sign: %s\n", payload.error().message.c_str());
		return kExitFailure;
	}
	// The payload as a device reads it (header lines included) must parse as well.
	auto parsed = parse_payload(*payload, nullptr);
	if (!parsed) {
		crypto::wipe(*payload);
		std::fprintf(stderr, "lethe hotlist sign: %s: bundle payload: %s\n", csv_file.c_str(),
			     parsed.error().message.c_str());
		return kExitFailure;
	}
	auto key = fsutil::read_file(key_file, 64 * 1024);
	if (!key) {
		crypto::wipe(*payload);
		std::fprintf(stderr, "lethe hotlist sign: %s\n", key.error().message.c_str());
		return kExitFailure;
	}
	auto bundle = policy::sign_bundle(kBundleKind, *payload, *key);
	crypto::wipe(*key);
	crypto::wipe(*payload);
	if (!bundle) {
		std::fprintf(stderr, "lethe hotlist sign: %s\n", bundle.error().message.c_str());
		return kExitFailure;
	}
	if (auto st = fsutil::write_atomic(out, *bundle, 0600); !st) {
		std::fprintf(stderr, "lethe hotlist sign: %s\n", st.error().message.c_str());
		return kExitFailure;
	}
	std::printf("signed hot list %s v%llu (%zu entries, generated %s) -> %s (bundle sha256 "
		    "%s)\n",
		    info.id.c_str(), static_cast<unsigned long long>(info.version),
		    parsed->entries.size(), format_utc(info.generated).c_str(), out.c_str(),
		    crypto::to_hex(crypto::sha256(*bundle)).c_str());
	return kExitOk;
}

/// Read and verify a bundle; prints the refusal and returns nullopt on failure.
std::optional<policy::VerifiedBundle> verified(const char *cmd, const std::string &trust,
					       const std::string &file)
{
	auto text = fsutil::read_file(file, kMaxBundle);
	if (!text) {
		std::fprintf(stderr, "lethe hotlist %s: refused (io): %s\n", cmd,
			     text.error().message.c_str());
		return std::nullopt;
	}
	auto v = policy::verify_bundle(*text, trust, kBundleKind, std::chrono::system_clock::now());
	if (!v) {
		std::fprintf(stderr, "lethe hotlist %s: %s: %s (nothing changed)\n", cmd, file.c_str(),
			     v.refusal().describe().c_str());
		return std::nullopt;
	}
	return std::move(v).value();
}

int verify(const std::string &trust, const std::string &file)
{
	auto v = verified("verify", trust, file);
	if (!v)
		return kExitFailure;
	auto parsed = parse_payload(v->payload, nullptr);
	crypto::wipe(v->payload);
	if (!parsed) {
		std::fprintf(stderr, "lethe hotlist verify: %s: refused (invalid-payload): %s\n",
			     file.c_str(), parsed.error().message.c_str());
		return kExitFailure;
	}
	std::printf("valid: hot list %s v%llu, %zu entries, generated %s, signed by %s (key id "
		    "%s)\n",
		    parsed->info.id.c_str(), static_cast<unsigned long long>(parsed->info.version),
		    parsed->entries.size(), format_utc(parsed->info.generated).c_str(),
		    v->key_file.filename().c_str(), v->key_id.c_str());
	return kExitOk;
}

int install(const std::string &trust, const std::string &state, const std::string &config,
	    const std::string &file)
{
	// On the device's state directory only a privacy officer installs hot lists.
	const auto target = audit::AuditTarget::object(fs::path(file).filename().string());
	if (!authorize_local_change(state, config, trust, audit::Action::HotlistInstall, target,
				    "hotlist install"))
		return kExitFailure;
	auto v = verified("install", trust, file);
	if (!v) {
		record_local(state, "hotlist.install", target, audit::Outcome::Refused,
			     "bundle refused (unreadable, bad signature or untrusted key)", {}, config);
		return kExitFailure;
	}
	const auto now = retention::trusted_now(state);
	const auto eff = policy::load_effective(state, trust, now);
	if (eff.fallback)
		std::fprintf(stderr, "lethe hotlist install: no valid policy (%s): the strictest "
				     "policy allows no hot-list category\n",
			     eff.why.c_str());
	auto store = HotlistStore::open(state);
	if (!store) {
		std::fprintf(stderr, "lethe hotlist install: %s\n", store.error().message.c_str());
		return kExitFailure;
	}
	auto il = (*store)->install(v->payload, v->bundle_hash, eff.policy.hotlist, now);
	crypto::wipe(v->payload);
	if (!il) {
		const char *why = il.error().code == -ESTALE  ? "rollback"
				  : il.error().code == -EPERM ? "category-not-allowed"
							      : "invalid-payload";
		std::fprintf(stderr, "lethe hotlist install: %s: refused (%s): %s (nothing changed)\n",
			     file.c_str(), why, il.error().message.c_str());
		record_local(state, "hotlist.install", target, audit::Outcome::Refused,
			     std::string("refused (") + why + ")", eff.policy.hash, config);
		return kExitFailure;
	}
	record_local(state, "hotlist.install",
		     audit::AuditTarget::object(il->info.id + " v" +
						std::to_string(il->info.version)),
		     audit::Outcome::Success, {}, eff.policy.hash, config);
	std::printf("installed hot list %s v%llu: %zu entries, compiled to keyed digests (list key "
		    "%s); the plaintext list is not kept\n",
		    il->info.id.c_str(), static_cast<unsigned long long>(il->info.version),
		    il->entries, il->key_id.c_str());
	return kExitOk;
}

int show(const std::string &trust, const std::string &state, bool json)
{
	const auto now = retention::trusted_now(state);
	const auto eff = policy::load_effective(state, trust, now);
	std::vector<InstalledList> lists;
	if (fs::exists(fs::path(state) / "hotlists")) {
		auto store = HotlistStore::open(state);
		if (!store) {
			std::fprintf(stderr, "lethe hotlist show: %s\n", store.error().message.c_str());
			return kExitFailure;
		}
		lists = (*store)->list();
	}
	const auto &rules = eff.policy.hotlist;
	auto age_of = [&](const InstalledList &l) {
		return std::chrono::duration_cast<std::chrono::seconds>(now - l.info.generated).count();
	};
	if (json) {
		nlohmann::json arr = nlohmann::json::array();
		for (const auto &l : lists) {
			nlohmann::json cats = nlohmann::json::object();
			for (const auto &[c, n] : l.categories)
				cats[c] = {{"entries", n},
					   {"allowed", std::find(rules.categories.begin(),
								 rules.categories.end(),
								 c) != rules.categories.end()}};
			arr.push_back({{"id", l.info.id},
				       {"version", l.info.version},
				       {"generated", format_utc(l.info.generated)},
				       {"age_s", age_of(l)},
				       {"stale", age_of(l) > rules.max_age.count()},
				       {"entries", l.entries},
				       {"categories", cats},
				       {"bundle_hash", l.bundle_hash},
				       {"key_id", l.key_id},
				       {"installed_at", format_utc(l.installed_at)}});
		}
		const nlohmann::json out{{"now", format_utc(now)},
					 {"max_age_s", rules.max_age.count()},
					 {"publish_stale", rules.publish_stale},
					 {"match_confusions", rules.match_confusions},
					 {"max_edit_distance", rules.max_edit_distance},
					 {"policy_fallback", eff.fallback},
					 {"lists", arr}};
		std::printf("%s\n", out.dump(2).c_str());
		return kExitOk;
	}
	std::printf("Hot-list rules (%s): max age %llds, stale hits %s, confusions %s, edit "
		    "distance %d\n",
		    eff.fallback ? "built-in strictest" : "effective policy",
		    static_cast<long long>(rules.max_age.count()),
		    rules.publish_stale ? "published" : "not published",
		    rules.match_confusions ? "yes" : "no", rules.max_edit_distance);
	std::printf("Installed hot lists (%s):\n", (fs::path(state) / "hotlists").c_str());
	if (lists.empty())
		std::printf("  none\n");
	for (const auto &l : lists) {
		const auto age = age_of(l);
		std::printf("  %-24s v%-6llu %7zu entries  generated %s (age %llds)%s\n",
			    l.info.id.c_str(), static_cast<unsigned long long>(l.info.version),
			    l.entries, format_utc(l.info.generated).c_str(),
			    static_cast<long long>(age),
			    age > rules.max_age.count() ? "  STALE" : "");
		for (const auto &[c, n] : l.categories) {
			const bool ok = std::find(rules.categories.begin(), rules.categories.end(), c) !=
					rules.categories.end();
			std::printf("      %-20s %7zu%s\n", c.c_str(), n,
				    ok ? "" : "  (not allowed by the policy: never matched)");
		}
	}
	return kExitOk;
}

int run_hotlist(int argc, char **argv)
{
	CLI::App app{"Signed hot lists: signing, verification, installation as keyed digests "
		     "(docs/hotlist.md)",
		     "lethe hotlist"};
	app.require_subcommand(1);
	std::string trust = default_trust_dir();
	std::string state = default_state_dir();
	std::string config = default_config_path();

	std::string key, out, csv, id, generated;
	std::uint64_t version = 0;
	auto *sg = app.add_subcommand("sign", "Validate a hot-list CSV and sign it into a bundle");
	sg->add_option("--key", key, "Signer's private key (PREFIX.key from lethe policy keygen)")
		->required();
	sg->add_option("--out", out, "Bundle to write")->required();
	sg->add_option("--id", id, "List id, [a-z0-9._-]{1,64}")->required();
	sg->add_option("--version", version, "List version, > the installed one")->required();
	sg->add_option("--generated", generated,
		       "When the source extracted the list (UTC, YYYY-MM-DDTHH:MM:SSZ; default now)");
	sg->add_option("CSV", csv, "Hot list: " + std::string(kCsvHeader))->required();

	std::string bundle;
	auto *vf = app.add_subcommand("verify", "Check a bundle: signature by a trusted key and "
						"every record. Exit 0 only if valid");
	vf->add_option("--trust", trust, "Directory of trusted .pub files (env LETHE_TRUST_DIR)")
		->capture_default_str();
	vf->add_option("BUNDLE", bundle, "Signed hot-list bundle")->required();

	auto *in = app.add_subcommand("install", "Verify a bundle, check it against the policy and "
						 "install it as keyed digests (refused: nothing "
						 "changes)");
	in->add_option("--trust", trust, "Directory of trusted .pub files (env LETHE_TRUST_DIR)")
		->capture_default_str();
	in->add_option("--state-dir", state, "Device state directory (env LETHE_STATE_DIR)")
		->capture_default_str();
	in->add_option("--config", config, "Configuration naming the device's state directory and "
					   "[roles] (env LETHE_CONFIG)")
		->capture_default_str();
	in->add_option("BUNDLE", bundle, "Signed hot-list bundle")->required();

	bool json = false;
	auto *sh = app.add_subcommand("show", "Installed hot lists, their age and categories");
	sh->add_flag("--json", json, "Machine-readable output");
	sh->add_option("--trust", trust, "Directory of trusted .pub files (env LETHE_TRUST_DIR)")
		->capture_default_str();
	sh->add_option("--state-dir", state, "Device state directory (env LETHE_STATE_DIR)")
		->capture_default_str();

	if (const auto exit_code = parse_arguments(app, argc, argv))
		return *exit_code;
	if (sg->parsed())
		return sign(key, out, csv, id, version, generated);
	if (vf->parsed())
		return verify(trust, bundle);
	if (in->parsed())
		return install(trust, state, config, bundle);
	if (sh->parsed())
		return show(trust, state, json);
	return kExitUsage;
}

} // namespace

LETHE_COMMAND("hotlist", "Signed hot lists: sign, verify, install, show", run_hotlist);

} // namespace lethe::cli
