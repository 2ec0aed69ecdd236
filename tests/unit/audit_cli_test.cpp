// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe audit|query|hits` end to end: roles from the caller's groups, refusals recorded,
// tampering found by `audit verify`, exports altered after signing refused.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "lethe/audit/signed_document.h"
#include "support/temp_dir.h"

namespace lethe::test {
namespace {

std::string my_group()
{
	struct group *gr = ::getgrgid(::getgid());
	return gr ? gr->gr_name : "root";
}

class AuditCli : public ::testing::Test
{
protected:
	void SetUp() override
	{
		for (const char *role : {"technician", "privacy_officer", "investigator"}) {
			const auto path = dir_ / (std::string(role) + ".toml");
			// Map the test user's own group to one role at a time.
			std::string toml = "[roles]\ntechnician = [\"nobody-group-x\"]\n"
					   "privacy_officer = [\"nobody-group-x\"]\n"
					   "investigator = [\"nobody-group-x\"]\n"
					   "organisation = \"Test County\"\n";
			toml.replace(toml.find(std::string(role) + " = [\"nobody-group-x\"]"),
				     std::string(role).size() + 21,
				     std::string(role) + " = [\"" + my_group() + "\"]");
			write_file(path, toml);
			::chmod(path.c_str(), 0600);
		}
	}

	CommandResult lethe(const std::string &role, const std::string &args)
	{
		return run_command(std::string(LETHE_CLI_PATH) + " " + args + " --state-dir " +
					   state().string() + " --config " +
					   (dir_ / (role + ".toml")).string(),
				   true);
	}

	std::filesystem::path state() const { return dir_.path() / "state"; }
	std::string log_text() const { return read_file(state() / "audit" / "audit.log"); }

	TempDir dir_;
};

TEST_F(AuditCli, ExportVerifiesOffDeviceAndAlteredExportsFail)
{
	auto e = lethe("privacy_officer", "audit export --since 1d --out " +
						 (dir_ / "first.json").string());
	ASSERT_EQ(e.status, 0) << e.output;
	auto v = lethe("privacy_officer", "audit verify");
	ASSERT_EQ(v.status, 0) << v.output;
	// A second export now holds the first export's and the verification's entries.
	const auto exp = dir_ / "export.json";
	e = lethe("privacy_officer", "audit export --since 1d --recipient state-auditor --out " +
					     exp.string());
	ASSERT_EQ(e.status, 0) << e.output;
	const std::string pub = (state() / "device" / "device.pub").string();
	auto ok = run_command(std::string(LETHE_CLI_PATH) + " audit verify-export --trust-device " +
				      pub + " " + exp.string(),
			      true);
	ASSERT_EQ(ok.status, 0) << ok.output;
	EXPECT_NE(ok.output.find("signature OK"), std::string::npos);

	const std::string original = read_file(exp);
	ASSERT_NE(original.find("audit.verify"), std::string::npos);
	auto check = [&](const std::string &altered, const std::string &what) {
		const auto f = dir_ / "altered.json";
		write_file(f, altered);
		auto r = run_command(std::string(LETHE_CLI_PATH) +
					     " audit verify-export --trust-device " + pub + " " +
					     f.string(),
				     true);
		EXPECT_EQ(r.status, 1) << what << ": " << r.output;
		EXPECT_NE(r.output.find("FAILED"), std::string::npos) << what;
	};
	auto replaced = [&](const std::string &from, const std::string &to) {
		std::string s = original;
		const auto at = s.find(from);
		EXPECT_NE(at, std::string::npos) << from;
		if (at != std::string::npos)
			s.replace(at, from.size(), to);
		return s;
	};
	check(replaced("audit.verify", "audit.vorify"), "an action renamed");
	check(replaced("\\\"outcome\\\":\\\"success\\\"", "\\\"outcome\\\":\\\"refused\\\""),
	      "an outcome changed");
	check(replaced("\"since\": \"", "\"since\": \"1"), "the range changed");
	check(original.substr(0, original.size() / 2), "truncated");
	// Byte flips all over the export (in-process: hundreds of runs of the binary would be
	// slow under ASan), including the embedded public key and the whitespace between tokens.
	auto pub_pem = read_file(pub);
	ASSERT_TRUE(audit::verify_export(original, pub_pem));
	std::size_t undetected = 0;
	for (std::size_t i = 0; i < original.size(); i += 3) {
		std::string s = original;
		s[i] = static_cast<char>(s[i] ^ (i % 2 ? 0x01 : 0x20));
		auto r = audit::verify_export(s, pub_pem);
		if (r && r->chain.ok()) {
			++undetected;
			ADD_FAILURE() << "flip at byte " << i << " ('" << original[i] << "')";
		}
	}
	EXPECT_EQ(undetected, 0u);
	// Another device's key does not vouch for this export.
	TempDir other;
	auto e2 = run_command(std::string(LETHE_CLI_PATH) + " audit export --since 1d --out " +
				      (other / "x.json").string() + " --state-dir " +
				      (other / "state").string() + " --config " +
				      (dir_ / "privacy_officer.toml").string(),
			      true);
	ASSERT_EQ(e2.status, 0) << e2.output;
	auto foreign = run_command(std::string(LETHE_CLI_PATH) +
					   " audit verify-export --trust-device " +
					   (other / "state" / "device" / "device.pub").string() + " " +
					   exp.string(),
				   true);
	EXPECT_EQ(foreign.status, 1) << foreign.output;
}

// `audit export` ignored the configuration's trust_dir: the installed policy looked
// untrusted, a spurious "strictest policy" error was printed and the export was recorded
// under the wrong policy.
TEST_F(AuditCli, ExportAndVerifyUseTheConfigsTrustDir)
{
	const std::string cli = std::string("env -u LETHE_TRUST_DIR ") + LETHE_CLI_PATH;
	const auto trust = dir_ / "trust";
	std::filesystem::create_directories(trust);
	auto r = run_command(cli + " policy keygen --out " + (dir_ / "officer").string(), true);
	ASSERT_EQ(r.status, 0) << r.output;
	std::filesystem::copy_file(dir_ / "officer.pub", trust / "officer.pub");
	const auto bundle = dir_ / "maine.bundle";
	r = run_command(cli + " policy sign --key " + (dir_ / "officer.key").string() + " --out " +
				bundle.string() + " " + LETHE_SOURCE_DIR + "/config/policies/maine.toml",
			true);
	ASSERT_EQ(r.status, 0) << r.output;
	r = run_command(cli + " policy install --trust " + trust.string() + " --state-dir " +
				state().string() + " " + bundle.string(),
			true);
	ASSERT_EQ(r.status, 0) << r.output;
	const auto shown = nlohmann::json::parse(
		run_command(cli + " policy show --json --trust " + trust.string() + " --state-dir " +
			    state().string())
			.output,
		nullptr, false);
	const std::string hash = shown["effective"].value("hash", "");
	ASSERT_EQ(hash.size(), 64u) << shown.dump();

	// The privacy officer's configuration names the trust directory, as lethed's does.
	const auto config = dir_ / "device.toml";
	write_file(config, "[device]\ntrust_dir = \"" + trust.string() + "\"\n" +
				   read_file(dir_ / "privacy_officer.toml"));
	const std::vector<std::pair<std::string, std::string>> commands = {
		{"audit export --since 1d --out " + (dir_ / "trusted.json").string(), "audit.export"},
		{"audit verify", "audit.verify"}};
	for (const auto &[command, action] : commands) {
		r = run_command(cli + " " + command + " --state-dir " + state().string() +
					" --config " + config.string(),
				true);
		ASSERT_EQ(r.status, 0) << command << ": " << r.output;
		EXPECT_EQ(r.output.find("strictest"), std::string::npos) << command << ": " << r.output;
		// The command's entry (seals may follow it) names the installed policy.
		nlohmann::json entry;
		std::istringstream lines(log_text());
		for (std::string line; std::getline(lines, line);) {
			auto j = nlohmann::json::parse(line, nullptr, false);
			if (!j.is_discarded() && j.value("action", "") == action)
				entry = j;
		}
		EXPECT_EQ(entry.value("policy", ""), hash) << command << ": " << entry.dump();
	}
}

TEST_F(AuditCli, VerifyFindsTamperingAndSaysWhere)
{
	for (int i = 0; i < 3; ++i)
		ASSERT_EQ(lethe("privacy_officer", "audit export --since 1d --out " +
							   (dir_ / "e.json").string())
				  .status,
			  0);
	std::string text = log_text();
	const auto at = text.find("\"results\":", text.find("\"results\":") + 1);
	ASSERT_NE(at, std::string::npos) << text;
	const std::size_t line = 1 + static_cast<std::size_t>(
					     std::count(text.begin(), text.begin() + at, '\n'));
	text[at + 10] = text[at + 10] == '7' ? '8' : '7';
	write_file(state() / "audit" / "audit.log", text);
	auto v = lethe("privacy_officer", "audit verify");
	EXPECT_EQ(v.status, 1) << v.output;
	EXPECT_NE(v.output.find("line " + std::to_string(line) + ", record #"), std::string::npos)
		<< v.output;
	EXPECT_NE(v.output.find("does not match its hash"), std::string::npos) << v.output;
	auto j = lethe("privacy_officer", "audit verify --json");
	EXPECT_EQ(j.status, 1);
	EXPECT_NE(j.output.find("\"ok\": false"), std::string::npos) << j.output;
}

TEST_F(AuditCli, RoleByCommandMatrixIsEnforcedAndRefusalsRecorded)
{
	const std::string out = " --out " + (dir_ / "m.json").string();
	struct Row {
		std::string role, args;
		int status; // 0 granted, 1 refused
		std::string action;
	};
	const std::vector<Row> rows = {
		{"technician", "audit export --since 1d" + out, 1, "audit.export"},
		{"technician", "audit verify", 1, "audit.verify"},
		{"technician", "query --plate AB12CDE --purpose investigation --case C1", 1, "query"},
		{"technician", "hits list --purpose investigation --case C1", 1, "hits.list"},
		{"investigator", "audit export --since 1d" + out, 1, "audit.export"},
		{"investigator", "audit verify", 1, "audit.verify"},
		{"investigator", "hits list --purpose investigation --case C1", 0, "hits.list"},
		{"privacy_officer", "query --plate AB12CDE --purpose investigation --case C1", 1,
		 "query"},
		{"privacy_officer", "hits list --purpose investigation --case C1", 1, "hits.list"},
		{"privacy_officer", "audit export --since 1d" + out, 0, "audit.export"},
		{"privacy_officer", "audit verify", 0, "audit.verify"},
	};
	std::size_t refused = 0;
	for (const auto &row : rows) {
		auto r = lethe(row.role, row.args);
		EXPECT_EQ(r.status, row.status) << row.role << ": " << row.args << "\n" << r.output;
		if (row.status == 1) {
			++refused;
			EXPECT_NE(r.output.find("refused"), std::string::npos) << r.output;
		}
	}
	// Each refusal is in the log, with the role and the action.
	std::size_t logged = 0;
	const std::string text = log_text();
	std::size_t pos = 0;
	while ((pos = text.find("\"outcome\":\"refused\"", pos)) != std::string::npos) {
		++logged;
		++pos;
	}
	EXPECT_EQ(logged, refused) << text;
	for (const auto &row : rows) {
		if (row.status == 1) {
			EXPECT_NE(text.find("\"action\":\"" + row.action + "\""), std::string::npos);
		}
	}
	EXPECT_NE(text.find("\"role\":\"technician\""), std::string::npos);
	EXPECT_EQ(lethe("privacy_officer", "audit verify").status, 0);
}

TEST_F(AuditCli, QueryWithoutPurposeOrCaseIsRefusedRecordedAndNeverLogsThePlate)
{
	const std::string plate = "ZQ97XKW";
	struct Row {
		std::string args, reason;
	};
	const std::vector<Row> rows = {
		{"query --plate " + plate + " --case C-7", "purpose code is required"},
		{"query --plate " + plate + " --purpose investigation", "case number is required"},
		{"query --plate " + plate, "purpose code is required"},
		{"query --plate " + plate + " --purpose investigation --case C-7",
		 "does not allow retro-hit queries"},
		{"hits list --case C-7", "purpose code is required"},
	};
	for (const auto &row : rows) {
		auto r = lethe("investigator", row.args);
		EXPECT_EQ(r.status, 1) << row.args << "\n" << r.output;
		EXPECT_NE(r.output.find(row.reason), std::string::npos) << r.output;
	}
	const std::string text = log_text();
	for (const auto &row : rows)
		EXPECT_NE(text.find(row.reason), std::string::npos) << row.reason;
	// The plate was never a hit: only its keyed digest is in the log, and the same plate
	// always gives the same digest.
	EXPECT_EQ(text.find(plate), std::string::npos);
	EXPECT_EQ(text.find("ZQ97"), std::string::npos);
	std::size_t digests = 0, pos = 0;
	std::string first;
	while ((pos = text.find("\"type\":\"digest\",\"value\":\"", pos)) != std::string::npos) {
		pos += 26;
		const std::string d = text.substr(pos, 64);
		if (first.empty())
			first = d;
		EXPECT_EQ(d, first);
		++digests;
	}
	EXPECT_EQ(digests, 4u);
	// Nothing else under the state directory holds it either.
	for (const auto &f : std::filesystem::recursive_directory_iterator(state())) {
		if (f.is_regular_file()) {
			EXPECT_EQ(read_file(f.path()).find(plate), std::string::npos) << f.path();
		}
	}
	EXPECT_EQ(lethe("privacy_officer", "audit verify").status, 0);
}

TEST_F(AuditCli, UsageAndMissingState)
{
	auto r = lethe("privacy_officer", "audit");
	EXPECT_EQ(r.status, 2) << r.output;
	auto v = lethe("privacy_officer", "audit verify");
	EXPECT_EQ(v.status, 1);
	EXPECT_NE(v.output.find("no audit log"), std::string::npos) << v.output;
	auto t = lethe("privacy_officer", "audit export --since yesterday --out /dev/null");
	EXPECT_EQ(t.status, 2) << t.output;
	auto h = run_command(std::string(LETHE_CLI_PATH) + " audit --help", true);
	EXPECT_EQ(h.status, 0);
	EXPECT_NE(h.output.find("verify-export"), std::string::npos);
}

} // namespace
} // namespace lethe::test

namespace lethe::test {
namespace {

TEST(SignedReport, SignedByTheDeviceAndAlterationsFail)
{
	TempDir dir;
	auto id = audit::DeviceIdentity::load_or_create(dir.path());
	ASSERT_TRUE(id);
	nlohmann::json report = {{"counts", {{"nonhit_digest", 12}, {"hit_record", 1}}},
				 {"longest_nonhit_lifetime_s", 180},
				 {"policies", {{{"id", "nh"}, {"version", 3}}}}};
	auto signed_text = audit::sign_report(**id, report);
	ASSERT_TRUE(signed_text);
	auto back = audit::verify_report(*signed_text, (*id)->public_pem());
	ASSERT_TRUE(back) << back.error().message;
	EXPECT_EQ(*back, report);

	std::string altered = *signed_text;
	altered.replace(altered.find("180"), 3, "179");
	EXPECT_FALSE(audit::verify_report(altered, (*id)->public_pem()));
	// A signed export is not a signed report (domain separation), nor the other way round.
	EXPECT_FALSE(audit::verify_export(*signed_text, (*id)->public_pem()));
	// Another device's key.
	TempDir other;
	auto id2 = audit::DeviceIdentity::load_or_create(other.path());
	EXPECT_FALSE(audit::verify_report(*signed_text, (*id2)->public_pem()));

	// The CLI check.
	const auto f = dir / "report.json";
	write_file(f, *signed_text);
	const std::string pub = audit::DeviceIdentity::pub_path(dir.path()).string();
	auto ok = run_command(std::string(LETHE_CLI_PATH) + " audit verify-report --trust-device " +
				      pub + " " + f.string(),
			      true);
	EXPECT_EQ(ok.status, 0) << ok.output;
	write_file(f, altered);
	auto bad = run_command(std::string(LETHE_CLI_PATH) +
				       " audit verify-report --trust-device " + pub + " " + f.string(),
			       true);
	EXPECT_EQ(bad.status, 1) << bad.output;
}

} // namespace
} // namespace lethe::test
