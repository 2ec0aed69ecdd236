// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe policy keygen|sign|verify|install|show`: officer keys, signed policy bundles, the store.
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
#include "lethe/policy/bundle.h"
#include "lethe/policy/parse.h"
#include "lethe/policy/store.h"
#include "lethe/retention/report.h"

namespace lethe::cli {
namespace {

namespace fs = std::filesystem;
using namespace lethe::policy;

constexpr std::size_t kMaxBundleFile = 1024 * 1024;

void print_policy(const Policy &p)
{
	const auto &r = p.retention;
	std::printf("  id:                 %s\n", p.id.c_str());
	std::printf("  version:            %llu\n", static_cast<unsigned long long>(p.version));
	std::printf("  issuer:             %s\n", p.issuer.c_str());
	std::printf("  jurisdiction:       %s\n", p.jurisdiction.c_str());
	// Multi-line text (composed policies join theirs with a blank line): indented as one field.
	std::string basis = p.legal_basis.empty() ? "(none given)" : p.legal_basis;
	for (auto nl = basis.find('\n'); nl != std::string::npos; nl = basis.find('\n', nl + 1))
		basis.insert(nl + 1, 22, ' ');
	std::printf("  legal basis:        %s\n", basis.c_str());
	std::printf("  valid:              %s .. %s\n", format_utc(p.not_before).c_str(),
		    format_utc(p.not_after).c_str());
	if (!p.hash.empty())
		std::printf("  bundle sha256:      %s\n", p.hash.c_str());
	std::printf("  retention:          non-hit digest %s, hit record %s, hit image %s, "
		    "outbox %s\n",
		    format_duration(r.nonhit_digest).c_str(), format_duration(r.hit_record).c_str(),
		    format_duration(r.hit_image).c_str(), format_duration(r.outbox).c_str());
	std::printf("  audit log:          %s (minimum %s), key rotation %s\n",
		    format_duration(r.audit_log).c_str(), format_duration(r.audit_log_minimum).c_str(),
		    format_duration(r.key_rotation).c_str());
	std::string cats;
	for (const auto &c : p.hotlist.categories)
		cats += (cats.empty() ? "" : ", ") + c;
	std::printf("  hot lists:          max age %s, publish stale %s, categories [%s], "
		    "confusions %s, edit distance %d\n",
		    format_duration(p.hotlist.max_age).c_str(), p.hotlist.publish_stale ? "yes" : "no",
		    cats.c_str(), p.hotlist.match_confusions ? "yes" : "no",
		    p.hotlist.max_edit_distance);
	std::printf("  retro-hit queries:  %s\n", p.retro_hit_queries ? "allowed" : "refused");
	std::printf("  public agencies only: %s\n", p.public_agencies_only ? "yes" : "no");
	if (p.recipients.empty())
		std::printf("  recipients:         none (nothing is published)\n");
	for (const auto &rc : p.recipients) {
		std::string topics;
		for (const auto &t : rc.topics)
			topics += (topics.empty() ? "" : ", ") + t;
		std::printf("  recipient:          %s at %s topics [%s]%s — %s\n", rc.name.c_str(),
			    rc.broker.c_str(), topics.c_str(),
			    rc.public_agency ? "" : " (not a public agency)", rc.purpose.c_str());
	}
}

int keygen(const std::string &prefix)
{
	const fs::path key = prefix + ".key", pub = prefix + ".pub";
	std::error_code ec;
	for (const auto &p : {key, pub}) {
		if (fs::symlink_status(p, ec).type() != fs::file_type::not_found) {
			std::fprintf(stderr, "lethe policy keygen: %s exists; not overwriting it\n",
				     p.c_str());
			return kExitFailure;
		}
	}
	auto pair = crypto::ed25519_generate();
	if (!pair) {
		std::fprintf(stderr, "lethe policy keygen: %s\n", pair.error().message.c_str());
		return kExitFailure;
	}
	auto st = fsutil::write_exclusive(key, pair->private_pem, 0600);
	crypto::wipe(pair->private_pem);
	if (!st) {
		std::fprintf(stderr, "lethe policy keygen: %s\n", st.error().message.c_str());
		return kExitFailure;
	}
	st = fsutil::write_exclusive(pub, pair->public_pem, 0644);
	if (!st) {
		std::fprintf(stderr, "lethe policy keygen: %s\n", st.error().message.c_str());
		fs::remove(key, ec);
		return kExitFailure;
	}
	auto id = crypto::ed25519_key_id(pair->public_pem);
	std::printf("private key: %s (mode 0600; keep it offline)\n"
		    "public key:  %s (copy into the device's trust directory)\nkey id:      %s\n",
		    key.c_str(), pub.c_str(), id ? id->c_str() : "?");
	return kExitOk;
}

int sign(const std::string &key_file, const std::string &out, const std::string &policy_file)
{
	struct stat sb {};
	if (::stat(key_file.c_str(), &sb) == 0 && (sb.st_mode & 077) != 0)
		std::fprintf(stderr, "lethe policy sign: warning: %s is readable by others (mode %03o)\n",
			     key_file.c_str(), static_cast<unsigned>(sb.st_mode & 0777));
	auto key = fsutil::read_file(key_file, 64 * 1024);
	if (!key) {
		std::fprintf(stderr, "lethe policy sign: %s\n", key.error().message.c_str());
		return kExitFailure;
	}
	auto text = fsutil::read_file(policy_file, kMaxBundleFile);
	if (!text) {
		crypto::wipe(*key);
		std::fprintf(stderr, "lethe policy sign: %s\n", text.error().message.c_str());
		return kExitFailure;
	}
	// Never sign a policy the device would refuse.
	auto p = parse_policy(*text, policy_file);
	if (!p) {
		crypto::wipe(*key);
		std::fprintf(stderr, "lethe policy sign: %s is not a valid policy:\n%s\n",
			     policy_file.c_str(), p.error().message.c_str());
		return kExitFailure;
	}
	auto bundle = sign_bundle("policy", *text, *key);
	crypto::wipe(*key);
	if (!bundle) {
		std::fprintf(stderr, "lethe policy sign: %s\n", bundle.error().message.c_str());
		return kExitFailure;
	}
	if (auto st = fsutil::write_atomic(out, *bundle, 0644); !st) {
		std::fprintf(stderr, "lethe policy sign: %s\n", st.error().message.c_str());
		return kExitFailure;
	}
	const auto now = std::chrono::system_clock::now();
	if (now >= p->not_after)
		std::fprintf(stderr, "lethe policy sign: warning: the policy expired at %s\n",
			     format_utc(p->not_after).c_str());
	std::printf("signed policy %s v%llu -> %s (bundle sha256 %s)\n", p->id.c_str(),
		    static_cast<unsigned long long>(p->version), out.c_str(),
		    crypto::to_hex(crypto::sha256(*bundle)).c_str());
	return kExitOk;
}

int verify(const std::string &trust, const std::string &file)
{
	auto text = fsutil::read_file(file, kMaxBundleFile);
	if (!text) {
		std::fprintf(stderr, "lethe policy verify: refused (io): %s\n",
			     text.error().message.c_str());
		return kExitFailure;
	}
	auto keys = load_trust_dir(trust);
	if (!keys) {
		std::fprintf(stderr, "lethe policy verify: %s\n", keys.refusal().describe().c_str());
		return kExitFailure;
	}
	auto p = check_policy_bundle(*text, *keys, std::chrono::system_clock::now(),
				     fs::path(file).filename().string());
	if (!p) {
		std::fprintf(stderr, "lethe policy verify: %s: %s\n", file.c_str(),
			     p.refusal().describe().c_str());
		return kExitFailure;
	}
	std::string signer;
	for (const auto &k : *keys)
		if (k.key_id == p->key_id)
			signer = k.file.filename().string();
	std::printf("valid: policy %s v%llu signed by %s (key id %s)\n", p->id.c_str(),
		    static_cast<unsigned long long>(p->version), signer.c_str(), p->key_id.c_str());
	print_policy(*p);
	return kExitOk;
}

int install(const std::string &trust, const std::string &state, const std::string &config,
	    const std::string &file)
{
	// On the device's state directory only a privacy officer installs policies.
	const auto target = audit::AuditTarget::object(fs::path(file).filename().string());
	if (!authorize_local_change(state, config, trust, audit::Action::PolicyInstall, target,
				    "policy install"))
		return kExitFailure;
	auto text = fsutil::read_file(file, kMaxBundleFile);
	if (!text) {
		std::fprintf(stderr, "lethe policy install: refused (io): %s\n",
			     text.error().message.c_str());
		record_local(state, "policy.install", target, audit::Outcome::Refused,
			     "bundle unreadable", {}, config);
		return kExitFailure;
	}
	auto store = PolicyStore::create(state);
	if (!store) {
		std::fprintf(stderr, "lethe policy install: %s\n", store.error().message.c_str());
		return kExitFailure;
	}
	// Validity is judged on the retention ratchet too: a clock set back is not believed.
	auto p = (*store)->install(*text, trust, retention::trusted_now(state),
				   fs::path(file).filename().string());
	if (!p) {
		std::fprintf(stderr, "lethe policy install: %s: %s (nothing changed)\n", file.c_str(),
			     p.refusal().describe().c_str());
		record_local(state, "policy.install", target, audit::Outcome::Refused,
			     p.refusal().describe(), {}, config);
		return kExitFailure;
	}
	std::printf("installed policy %s v%llu (bundle sha256 %s)\n", p->id.c_str(),
		    static_cast<unsigned long long>(p->version), p->hash.c_str());
	record_local(state, "policy.install",
		     audit::AuditTarget::object(p->id + " v" + std::to_string(p->version)),
		     audit::Outcome::Success, {}, p->hash, config);
	return kExitOk;
}

int show(const std::string &trust, const std::string &state, bool json)
{
	const auto now = retention::trusted_now(state);
	const auto e = load_effective(state, trust, now);
	if (json) {
		nlohmann::json installed = nlohmann::json::array();
		for (const auto &ip : e.installed) {
			nlohmann::json j{{"id", ip.id},
					 {"version", ip.version},
					 {"hash", ip.hash},
					 {"file", ip.file.string()},
					 {"in_force", ip.in_force}};
			if (ip.policy) {
				j["not_before"] = format_utc(ip.policy->not_before);
				j["not_after"] = format_utc(ip.policy->not_after);
				j["key_id"] = ip.policy->key_id;
			}
			if (ip.problem)
				j["problem"] = {{"reason", reason_name(ip.problem->reason)},
						{"message", ip.problem->message}};
			installed.push_back(std::move(j));
		}
		const nlohmann::json out{{"now", format_utc(now)},
					 {"effective", to_json(e.policy)},
					 {"fallback", e.fallback},
					 {"why", e.why},
					 {"installed", installed}};
		std::printf("%s\n", out.dump(2).c_str());
		return kExitOk;
	}
	if (e.fallback)
		std::printf("Effective policy: built-in strictest (%s): nothing retained, nothing "
			    "published, no queries\n",
			    e.why.c_str());
	else
		std::printf("Effective policy (strictest of %zu in force):\n", e.policy.sources.size());
	print_policy(e.policy);
	std::printf("\nInstalled policies (%s):\n", (fs::path(state) / "policies").c_str());
	if (e.installed.empty())
		std::printf("  none\n");
	for (const auto &ip : e.installed) {
		std::string status = ip.in_force ? "in force" : "not in force";
		if (ip.problem)
			status = ip.problem->describe();
		else if (ip.policy && !ip.in_force)
			status = "not in force (valid " + format_utc(ip.policy->not_before) + " .. " +
				 format_utc(ip.policy->not_after) + ")";
		std::printf("  %-28s v%-6llu %s  %s\n", ip.id.c_str(),
			    static_cast<unsigned long long>(ip.version),
			    ip.hash.empty() ? "-" : ip.hash.substr(0, 16).c_str(), status.c_str());
	}
	return kExitOk;
}

int run_policy(int argc, char **argv)
{
	CLI::App app{"Signed retention/sharing policies: officer keys, signing, verification, "
		     "installation (docs/policy.md)",
		     "lethe policy"};
	app.require_subcommand(1);
	std::string trust = default_trust_dir();
	std::string state = default_state_dir();
	std::string config = default_config_path();

	std::string prefix;
	auto *kg = app.add_subcommand("keygen", "Create an officer key pair: PREFIX.key (0600) and "
						"PREFIX.pub (PEM, Ed25519)");
	kg->add_option("--out", prefix, "Path prefix of the key files")->required();

	std::string key, out, policy_file;
	auto *sg = app.add_subcommand("sign", "Validate a policy file and sign it into a bundle");
	sg->add_option("--key", key, "Officer private key (PREFIX.key)")->required();
	sg->add_option("--out", out, "Bundle to write")->required();
	sg->add_option("POLICY", policy_file, "Policy file (TOML)")->required();

	std::string bundle;
	auto *vf = app.add_subcommand("verify", "Check a bundle: signature by a trusted key, every "
						"field, validity now. Exit 0 only if valid");
	vf->add_option("--trust", trust, "Directory of trusted officers' .pub files (env "
					 "LETHE_TRUST_DIR)")->capture_default_str();
	vf->add_option("BUNDLE", bundle, "Signed policy bundle")->required();

	auto *in = app.add_subcommand("install", "Verify and install a bundle into the state "
						 "directory (refused: nothing changes)");
	in->add_option("--trust", trust, "Directory of trusted officers' .pub files (env "
					 "LETHE_TRUST_DIR)")->capture_default_str();
	in->add_option("--state-dir", state, "Device state directory (env LETHE_STATE_DIR)")->capture_default_str();
	in->add_option("--config", config, "Configuration naming the device's state directory and "
					   "[roles] (env LETHE_CONFIG)")->capture_default_str();
	in->add_option("BUNDLE", bundle, "Signed policy bundle")->required();

	bool json = false;
	auto *sh = app.add_subcommand("show", "Show the effective policy and the installed ones");
	sh->add_flag("--json", json, "Machine-readable output");
	sh->add_option("--trust", trust, "Directory of trusted officers' .pub files (env "
					 "LETHE_TRUST_DIR)")->capture_default_str();
	sh->add_option("--state-dir", state, "Device state directory (env LETHE_STATE_DIR)")->capture_default_str();

	if (const auto exit_code = parse_arguments(app, argc, argv))
		return *exit_code;
	if (kg->parsed())
		return keygen(prefix);
	if (sg->parsed())
		return sign(key, out, policy_file);
	if (vf->parsed())
		return verify(trust, bundle);
	if (in->parsed())
		return install(trust, state, config, bundle);
	if (sh->parsed())
		return show(trust, state, json);
	return kExitUsage;
}

} // namespace

LETHE_COMMAND("policy", "Signed retention policies: keygen, sign, verify, install, show",
	      run_policy);

} // namespace lethe::cli
