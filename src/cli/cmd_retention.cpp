// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe retention report`: what is kept, what was purged, longest non-hit life, policies.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/local_access.h"
#include "lethe/audit/signed_document.h"
#include "lethe/policy/store.h"
#include "lethe/retention/report.h"

namespace lethe::cli {
namespace {

retention::PolicyRef to_ref(const policy::InstalledPolicy &p)
{
	retention::PolicyRef r;
	r.id = p.id;
	r.version = p.version;
	r.hash = p.hash;
	r.in_force = p.in_force;
	if (p.problem)
		r.problem = p.problem->message;
	else if (!p.in_force)
		r.problem = "outside its validity window";
	return r;
}

/// Attach the installed policies (id, version, hash) from the policy store.
void add_policies(retention::Report &report, const std::string &state_dir,
		  const std::string &trust_dir)
{
	const auto eff = policy::load_effective(state_dir, trust_dir);
	for (const auto &p : eff.installed)
		report.installed.push_back(to_ref(p));
	retention::PolicyRef e;
	e.id = eff.policy.id;
	e.version = eff.policy.version;
	e.hash = eff.policy.hash;
	report.effective = e;
	report.effective_is_fallback = eff.fallback;
}

int run_report(const std::string &state_dir, const std::string &trust_dir, bool json,
	       bool sign)
{
	auto report = retention::build_report(state_dir, std::chrono::system_clock::now());
	if (!report) {
		std::fprintf(stderr, "lethe retention report: %s\n", report.error().message.c_str());
		return kExitFailure;
	}
	add_policies(*report, state_dir, trust_dir);
	if (sign) {
		// Speaking for the device: on its state directory only a privacy officer may.
		if (!authorize_local_change(state_dir, default_config_path(), trust_dir,
					    audit::Action::RetentionReport,
					    audit::AuditTarget::object("signed"), "retention report"))
			return kExitFailure;
		// The device signs the JSON report (docs/audit.md, "Signed documents"); check it off
		// the device with `lethe audit verify-report --trust-device device.pub FILE`.
		auto id = audit::DeviceIdentity::load_or_create(state_dir);
		if (!id) {
			std::fprintf(stderr, "lethe retention report: device key: %s\n",
				     id.error().message.c_str());
			return kExitFailure;
		}
		auto signed_doc = audit::sign_report(**id, retention::report_json(*report));
		if (!signed_doc) {
			std::fprintf(stderr, "lethe retention report: %s\n",
				     signed_doc.error().message.c_str());
			return kExitFailure;
		}
		std::fputs(signed_doc->c_str(), stdout);
		record_local(state_dir, "retention.report", audit::AuditTarget::object("signed"),
			     audit::Outcome::Success, {},
			     report->effective ? report->effective->hash : std::string());
		return kExitOk;
	}
	if (json)
		std::printf("%s\n", retention::report_json(*report).dump(2).c_str());
	else
		std::fputs(retention::report_text(*report).c_str(), stdout);
	return kExitOk;
}

int run_retention(int argc, char **argv)
{
	CLI::App app{"Retention: what the device keeps, for how long, and what it destroyed",
		     "lethe retention"};
	app.require_subcommand(1);
	std::string state_dir = default_state_dir();
	std::string trust_dir = default_trust_dir();
	bool json = false;
	bool sign = false;
	auto *report = app.add_subcommand(
		"report", "Counts kept and purged per class, longest non-hit lifetime, oldest "
			  "records, installed policies");
	report->add_flag("--json", json, "Machine-readable output (docs/retention.md)");
	report->add_flag("--signed", sign, "Sign the report with the device key (attestation)");
	report->add_option("--state-dir", state_dir, "Device state directory")
		->capture_default_str();
	report->add_option("--trust", trust_dir, "Trusted policy officers' keys")
		->capture_default_str();
	if (const auto exit_code = parse_arguments(app, argc, argv))
		return *exit_code;
	if (report->parsed())
		return run_report(state_dir, trust_dir, json, sign);
	return kExitUsage;
}

} // namespace

LETHE_COMMAND("retention", "Retention report (kept, purged, longest non-hit life)",
	      run_retention);

} // namespace lethe::cli
