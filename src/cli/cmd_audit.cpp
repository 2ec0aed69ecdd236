// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe audit verify|export|verify-export`: check the audit chain, export it signed, check
// an export off the device.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/local_access.h"
#include "lethe/audit/signed_document.h"
#include "lethe/common/atomic_file.h"
#include "lethe/common/unique_fd.h"

namespace lethe::cli {
namespace {

using nlohmann::json;

std::string where(const audit::Problem &p)
{
	std::string w;
	if (p.line)
		w += "line " + std::to_string(p.line);
	if (p.seq)
		w += std::string(w.empty() ? "" : ", ") + "record #" + std::to_string(*p.seq);
	if (!p.time.empty())
		w += std::string(w.empty() ? "" : ", ") + p.time;
	return w.empty() ? "log" : w;
}

json report_json(const audit::VerifyReport &r)
{
	json j;
	j["ok"] = r.ok();
	j["records"] = r.records;
	j["entries"] = r.entries;
	j["seals"] = r.seals;
	j["unsealed"] = r.unsealed;
	j["purged"] = r.purged;
	j["key_id"] = r.key_id;
	if (r.first_seq)
		j["first_seq"] = *r.first_seq;
	if (r.last_seq)
		j["last_seq"] = *r.last_seq;
	if (r.last_sealed_seq)
		j["last_sealed_seq"] = *r.last_sealed_seq;
	j["problems"] = json::array();
	for (const auto &p : r.problems) {
		json pj = {{"message", p.message}};
		if (p.line)
			pj["line"] = p.line;
		if (p.seq)
			pj["seq"] = *p.seq;
		if (!p.time.empty())
			pj["time"] = p.time;
		j["problems"].push_back(pj);
	}
	return j;
}

void print_report(const audit::VerifyReport &r, bool as_json, const char *what)
{
	if (as_json) {
		std::printf("%s\n", report_json(r).dump(2).c_str());
		return;
	}
	for (const auto &p : r.problems)
		std::printf("%s: %s\n", where(p).c_str(), p.message.c_str());
	if (r.ok())
		std::printf("%s OK: %llu records (%llu entries, %llu seals), %llu unsealed, "
			    "%llu purged before the anchor; device key %s\n",
			    what, static_cast<unsigned long long>(r.records),
			    static_cast<unsigned long long>(r.entries),
			    static_cast<unsigned long long>(r.seals),
			    static_cast<unsigned long long>(r.unsealed),
			    static_cast<unsigned long long>(r.purged), r.key_id.c_str());
	else
		std::printf("%s FAILED: %zu problem(s)\n", what, r.problems.size());
}

Result<std::string> read_text(const std::string &path)
{
	std::FILE *f = std::fopen(path.c_str(), "rb");
	if (!f)
		return make_error(-errno, path + ": " + std::strerror(errno));
	std::string out;
	char buf[65536];
	std::size_t n = 0;
	while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
		out.append(buf, n);
	const bool err = std::ferror(f);
	std::fclose(f);
	if (err)
		return make_error(-EIO, path + ": read error");
	return out;
}

int run_verify(const std::string &state_dir, const std::string &config,
	       const std::string &trust_device, bool as_json)
{
	const std::filesystem::path state(state_dir);
	if (!std::filesystem::exists(audit::AuditLog::log_path(state)) &&
	    !std::filesystem::exists(audit::AuditLog::head_path(state)) &&
	    !std::filesystem::exists(audit::DeviceIdentity::key_path(state))) {
		std::fprintf(stderr, "lethe audit verify: no audit log under %s\n",
			     state_dir.c_str());
		return kExitFailure;
	}
	if (std::filesystem::exists(audit::AuditLog::head_path(state)) &&
	    !std::filesystem::exists(audit::AuditLog::log_path(state))) {
		std::printf("log: the audit log is missing but a sealed head exists (log "
			    "deleted)\naudit log FAILED: 1 problem(s)\n");
		return kExitFailure;
	}
	auto access = LocalAccess::open(state, config, trust_dir_of(config));
	if (!access) {
		std::fprintf(stderr, "lethe audit verify: %s\n", access.error().message.c_str());
		return kExitFailure;
	}
	audit::AccessRequest req;
	req.action = audit::Action::AuditVerify;
	audit::Role role{};
	if (!(*access)->check(req, &role))
		return kExitFailure;

	audit::VerifyReport report;
	if (!trust_device.empty()) {
		auto pub = read_text(trust_device);
		if (!pub) {
			std::fprintf(stderr, "lethe audit verify: %s\n", pub.error().message.c_str());
			return kExitUsage;
		}
		auto text = read_text(audit::AuditLog::log_path(state).string());
		report = audit::verify_log_text(text ? *text : std::string(), *pub,
						audit::AuditLog::verify_options(state));
	} else {
		report = (*access)->log->verify();
	}
	print_report(report, as_json, "audit log");
	auto st = (*access)->authorizer->record(
		(*access)->who, role, req, (*access)->policy,
		report.ok() ? audit::Outcome::Success : audit::Outcome::Failed,
		static_cast<std::int64_t>(report.problems.size()), nullptr,
		report.ok() ? std::string() : "verification found problems");
	if (!st)
		std::fprintf(stderr, "lethe audit verify: could not record the check: %s\n",
			     st.error().message.c_str());
	return report.ok() ? kExitOk : kExitFailure;
}

int run_export(const std::string &state_dir, const std::string &config, const std::string &since,
	       const std::string &until, const std::string &out, const std::string &recipient)
{
	const auto now = audit::Clock::now();
	auto t0 = audit::parse_time(since, now);
	auto t1 = until.empty() ? Result<audit::TimePoint>(now) : audit::parse_time(until, now);
	if (!t0 || !t1) {
		std::fprintf(stderr, "lethe audit export: %s\n",
			     (!t0 ? t0.error() : t1.error()).message.c_str());
		return kExitUsage;
	}
	auto access = LocalAccess::open(state_dir, config, trust_dir_of(config));
	if (!access) {
		std::fprintf(stderr, "lethe audit export: %s\n", access.error().message.c_str());
		return kExitFailure;
	}
	audit::AccessRequest req;
	req.action = audit::Action::AuditExport;
	req.target = audit::AuditTarget::object(std::filesystem::path(out).filename().string());
	req.recipient = recipient;
	audit::Role role{};
	if (!(*access)->check(req, &role))
		return kExitFailure;

	auto doc = audit::make_export(*(*access)->log, *t0, *t1);
	Status written;
	std::size_t count = 0;
	if (doc) {
		count = static_cast<std::size_t>(json::parse(*doc)["count"].get<std::size_t>());
		const UniqueFD fd(
			::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
		if (!fd.isValid()) {
			written = make_error(-errno, out + ": " + std::strerror(errno));
		} else {
			written = fsutil::write_all(fd.get(), *doc, out);
			if (written && ::fsync(fd.get()) != 0)
				written = make_error(-errno, out + ": fsync failed");
		}
	} else {
		written = doc.error();
	}
	auto st = (*access)->authorizer->record(
		(*access)->who, role, req, (*access)->policy,
		written ? audit::Outcome::Success : audit::Outcome::Failed,
		static_cast<std::int64_t>(count), nullptr,
		written ? std::string() : written.error().message);
	if (!written) {
		std::fprintf(stderr, "lethe audit export: %s\n", written.error().message.c_str());
		return kExitFailure;
	}
	if (!st) {
		std::fprintf(stderr, "lethe audit export: could not record the export: %s\n",
			     st.error().message.c_str());
		return kExitFailure;
	}
	std::printf("exported %zu records to %s (signed by device key %s)\n", count, out.c_str(),
		    (*access)->log->identity().key_id().c_str());
	return kExitOk;
}

int run_verify_export(const std::string &trust_device, const std::string &file, bool as_json)
{
	auto pub = read_text(trust_device);
	if (!pub) {
		std::fprintf(stderr, "lethe audit verify-export: %s\n",
			     pub.error().message.c_str());
		return kExitUsage;
	}
	auto text = read_text(file);
	if (!text) {
		std::fprintf(stderr, "lethe audit verify-export: %s\n",
			     text.error().message.c_str());
		return kExitFailure;
	}
	auto check = audit::verify_export(*text, *pub);
	if (!check) {
		if (as_json)
			std::printf("%s\n", json({{"ok", false}, {"error", check.error().message}})
						    .dump(2)
						    .c_str());
		else
			std::printf("export FAILED: %s\n", check.error().message.c_str());
		return kExitFailure;
	}
	if (as_json) {
		json j = report_json(check->chain);
		j["since"] = check->since;
		j["until"] = check->until;
		j["generated"] = check->generated;
		std::printf("%s\n", j.dump(2).c_str());
	} else {
		std::printf("signature OK (device key %s); export of %s .. %s made %s\n",
			    check->key_id.c_str(), check->since.c_str(), check->until.c_str(),
			    check->generated.c_str());
		print_report(check->chain, false, "export");
	}
	return check->chain.ok() ? kExitOk : kExitFailure;
}

int run_verify_report(const std::string &trust_device, const std::string &file)
{
	auto pub = read_text(trust_device);
	if (!pub) {
		std::fprintf(stderr, "lethe audit verify-report: %s\n",
			     pub.error().message.c_str());
		return kExitUsage;
	}
	auto text = read_text(file);
	if (!text) {
		std::fprintf(stderr, "lethe audit verify-report: %s\n",
			     text.error().message.c_str());
		return kExitFailure;
	}
	auto report = audit::verify_report(*text, *pub);
	if (!report) {
		std::printf("report FAILED: %s\n", report.error().message.c_str());
		return kExitFailure;
	}
	std::printf("report signature OK (device key %s)\n",
		    crypto::ed25519_key_id(*pub).value().c_str());
	return kExitOk;
}

int run_audit(int argc, char **argv)
{
	CLI::App app{"Check and export the tamper-evident audit log", "lethe audit"};
	app.require_subcommand(1);
	std::string state_dir = default_state_dir();
	std::string config = default_config_path();
	std::string trust_device, since, until, out, recipient, file;
	bool as_json = false;

	auto *verify = app.add_subcommand(
		"verify", "Check the hash chain, seals, purge anchor and head; say where it breaks");
	verify->add_option("--state-dir", state_dir, "Device state directory")
		->envname("LETHE_STATE_DIR");
	verify->add_option("--config", config, "Configuration with the [roles] table and the "
					       "[device] trust_dir of the policy in force")
		->envname("LETHE_CONFIG");
	verify->add_option("--trust-device", trust_device,
			   "Check seals against this device public key instead of device.pub");
	verify->add_flag("--json", as_json, "Machine-readable output");

	auto *exp = app.add_subcommand("export", "Write a device-signed export of a time range");
	exp->add_option("--state-dir", state_dir, "Device state directory")
		->envname("LETHE_STATE_DIR");
	exp->add_option("--config", config, "Configuration with the [roles] table and the "
					    "[device] trust_dir of the policy in force")
		->envname("LETHE_CONFIG");
	exp->add_option("--since", since, "Start (2026-11-26T00:00:00Z, 2026-11-26, @UNIX, 7d)")
		->required();
	exp->add_option("--until", until, "End (default: now)");
	exp->add_option("--out", out, "Export file to write")->required();
	exp->add_option("--recipient", recipient, "Who the export is for (recorded)");

	auto *vexp = app.add_subcommand("verify-export",
					"Check an export off the device against its public key");
	vexp->add_option("--trust-device", trust_device, "The device's device.pub")->required();
	vexp->add_option("FILE", file, "Export file")->required();
	vexp->add_flag("--json", as_json, "Machine-readable output");

	auto *vrep = app.add_subcommand(
		"verify-report", "Check a signed retention report (`lethe retention report --signed`)");
	vrep->add_option("--trust-device", trust_device, "The device's device.pub")->required();
	vrep->add_option("FILE", file, "Signed report")->required();

	if (const auto exit_code = parse_arguments(app, argc, argv))
		return *exit_code;
	if (*verify)
		return run_verify(state_dir, config, trust_device, as_json);
	if (*exp)
		return run_export(state_dir, config, since, until, out, recipient);
	if (*vrep)
		return run_verify_report(trust_device, file);
	return run_verify_export(trust_device, file, as_json);
}

} // namespace

LETHE_COMMAND("audit", "Verify and export the tamper-evident audit log", run_audit);

} // namespace lethe::cli
