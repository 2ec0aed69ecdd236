// SPDX-License-Identifier: GPL-3.0-or-later
// Roles: the full role x action matrix, purpose/case rules, refusals recorded, peer credentials.
#include <gtest/gtest.h>

#include <grp.h>
#include <set>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lethe/audit/audit_log.h"
#include "lethe/audit/roles.h"
#include "lethe/config/config.h"
#include "support/temp_dir.h"

namespace lethe::audit {
namespace {

using test::read_file;
using test::TempDir;
using test::write_file;

/// The permission matrix as the issue states it, written out independently of roles.cpp.
bool expected(Role role, const std::string &action)
{
	static const std::set<std::pair<Role, std::string>> allowed = {
		{Role::Technician, "status"},
		{Role::Technician, "config.show"},
		{Role::Technician, "config.change"},
		{Role::Technician, "camera.list"},
		{Role::Technician, "camera.snapshot"},
		{Role::Technician, "selftest"},
		{Role::PrivacyOfficer, "policy.show"},
		{Role::PrivacyOfficer, "policy.install"},
		{Role::PrivacyOfficer, "hotlist.show"},
		{Role::PrivacyOfficer, "hotlist.install"},
		{Role::PrivacyOfficer, "audit.verify"},
		{Role::PrivacyOfficer, "audit.export"},
		{Role::PrivacyOfficer, "retention.report"},
		{Role::PrivacyOfficer, "keys.destroy"},
		{Role::Investigator, "hits.list"},
		{Role::Investigator, "hits.crop"},
		{Role::Investigator, "query"},
		{Role::Investigator, "policy.show"},
		{Role::System, "publish"},
		{Role::System, "purge"},
		{Role::System, "status"},
		{Role::System, "selftest"},
		{Role::System, "policy.show"},
		{Role::System, "policy.install"},
		{Role::System, "hotlist.install"},
		{Role::System, "retention.report"},
		{Role::System, "audit.verify"},
	};
	return allowed.count({role, action}) > 0;
}

std::vector<std::string> lines_of(const std::string &text)
{
	std::vector<std::string> out;
	std::size_t pos = 0;
	while (pos < text.size()) {
		const std::size_t nl = text.find('\n', pos);
		out.push_back(text.substr(pos, nl - pos));
		pos = nl + 1;
	}
	return out;
}

class RolesTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		AuditLogOptions opts;
		opts.state_dir = dir_.path();
		auto log = AuditLog::open(opts);
		ASSERT_TRUE(log);
		log_ = std::move(log.value());
		policy_ = policy::strictest();
		policy_.id = "test";
		policy_.hash = std::string(64, 'e');
		policy_.retro_hit_queries = true;
	}

	std::vector<std::string> refusals()
	{
		std::vector<std::string> out;
		for (const auto &l : lines_of(read_file(AuditLog::log_path(dir_.path()))))
			if (l.find("\"outcome\":\"refused\"") != std::string::npos)
				out.push_back(l);
		return out;
	}

	Principal principal(Role role)
	{
		Principal p;
		p.uid = 1000;
		p.user = "user-" + std::string(role_name(role));
		if (role != Role::None)
			p.roles.insert(role);
		p.organisation = "Example PD";
		return p;
	}

	TempDir dir_;
	std::unique_ptr<AuditLog> log_;
	policy::Policy policy_;
};

TEST_F(RolesTest, MatrixMatchesTheSpecification)
{
	ASSERT_EQ(all_actions().size(), static_cast<std::size_t>(Action::Count));
	for (Role r : all_roles())
		for (Action a : all_actions())
			EXPECT_EQ(authorize(r, a), expected(r, std::string(action_name(a))))
				<< role_name(r) << " x " << action_name(a);
	// Names round-trip (the control socket carries them).
	for (Action a : all_actions())
		EXPECT_EQ(action_from_name(action_name(a)), a);
	for (Role r : all_roles())
		EXPECT_EQ(role_from_name(role_name(r)), r);
	EXPECT_FALSE(action_from_name("rm -rf"));
}

TEST_F(RolesTest, AuthorizerEnforcesTheFullMatrixAndRecordsEveryRefusal)
{
	Authorizer authz(RoleMap{}, *log_);
	std::size_t refused = 0;
	for (Role r : all_roles()) {
		for (Action a : all_actions()) {
			AccessRequest req;
			req.action = a;
			req.purpose = "investigation";
			req.case_number = "2026-0042";
			auto decision = authz.authorize(principal(r), req, policy_);
			const bool want = expected(r, std::string(action_name(a)));
			EXPECT_EQ(decision.ok(), want) << role_name(r) << " x " << action_name(a);
			if (decision) {
				EXPECT_EQ(*decision, r);
			} else {
				EXPECT_EQ(decision.error().code, -EACCES);
				++refused;
			}
		}
	}
	auto lines = refusals();
	ASSERT_EQ(lines.size(), refused);
	// Each refusal names the actor, role and action.
	std::size_t i = 0;
	for (Role r : all_roles())
		for (Action a : all_actions()) {
			if (expected(r, std::string(action_name(a))))
				continue;
			const auto &l = lines[i++];
			EXPECT_NE(l.find("\"actor\":\"user-" + std::string(role_name(r)) + "\""),
				  std::string::npos)
				<< l;
			EXPECT_NE(l.find("\"action\":\"" + std::string(action_name(a)) + "\""),
				  std::string::npos)
				<< l;
			EXPECT_NE(l.find("\"org\":\"Example PD\""), std::string::npos) << l;
		}
	EXPECT_TRUE(log_->verify().ok());
}

TEST_F(RolesTest, QueriesNeedPurposeCaseAndPolicyAndRefusalsAreRecorded)
{
	Authorizer authz(RoleMap{}, *log_);
	const Principal inv = principal(Role::Investigator);
	struct Case {
		Action action;
		std::string purpose, case_number;
		bool retro;
		std::string reason;
	};
	const std::vector<Case> cases = {
		{Action::RetroHitQuery, "", "2026-1", true, "purpose code is required"},
		{Action::RetroHitQuery, "investigation", "", true, "case number is required"},
		{Action::RetroHitQuery, "", "", true, "purpose code is required"},
		{Action::RetroHitQuery, "bad purpose!", "2026-1", true, "malformed purpose"},
		{Action::RetroHitQuery, "investigation", "x\ny", true, "malformed case"},
		{Action::RetroHitQuery, "investigation", "2026-1", false, "does not allow retro-hit"},
		{Action::HitsList, "", "2026-1", true, "purpose code is required"},
		{Action::HitsList, "investigation", "", true, "case number is required"},
		{Action::HitsCrop, "", "2026-1", true, "purpose code is required"},
		{Action::HitsCrop, "investigation", "", true, "case number is required"},
	};
	for (const auto &c : cases) {
		AccessRequest req;
		req.action = c.action;
		req.purpose = c.purpose;
		req.case_number = c.case_number;
		req.target = AuditTarget::digest(std::string(64, '7'));
		policy_.retro_hit_queries = c.retro;
		auto d = authz.authorize(inv, req, policy_);
		ASSERT_FALSE(d) << c.reason;
		EXPECT_NE(d.error().message.find(c.reason), std::string::npos) << d.error().message;
	}
	auto lines = refusals();
	ASSERT_EQ(lines.size(), cases.size());
	for (std::size_t i = 0; i < cases.size(); ++i) {
		EXPECT_NE(lines[i].find(cases[i].reason), std::string::npos) << lines[i];
		EXPECT_NE(lines[i].find("\"role\":\"investigator\""), std::string::npos);
		EXPECT_NE(lines[i].find("\"type\":\"digest\""), std::string::npos);
	}
	// Malformed values never reach the log.
	const std::string text = read_file(AuditLog::log_path(dir_.path()));
	EXPECT_EQ(text.find("bad purpose!"), std::string::npos);

	// With everything in order the query is granted, and recording it works.
	policy_.retro_hit_queries = true;
	AccessRequest ok;
	ok.action = Action::RetroHitQuery;
	ok.purpose = "investigation";
	ok.case_number = "2026-1";
	auto d = authz.authorize(inv, ok, policy_);
	ASSERT_TRUE(d);
	ASSERT_TRUE(authz.record(inv, *d, ok, policy_, Outcome::Success, 3));
	EXPECT_EQ(refusals().size(), cases.size());
	EXPECT_NE(read_file(AuditLog::log_path(dir_.path())).find("\"results\":3"),
		  std::string::npos);
}

TEST_F(RolesTest, PurposeCodesAllowList)
{
	RoleMap map;
	map.purpose_codes = {"stolen-vehicle"};
	Authorizer authz(map, *log_);
	AccessRequest req;
	req.action = Action::HitsList;
	req.case_number = "C-1";
	req.purpose = "curiosity";
	EXPECT_FALSE(authz.authorize(principal(Role::Investigator), req, policy_));
	req.purpose = "stolen-vehicle";
	EXPECT_TRUE(authz.authorize(principal(Role::Investigator), req, policy_));
}

TEST_F(RolesTest, PeerCredentialsMapGroupsToRoles)
{
	int sv[2];
	ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct group *gr = ::getgrgid(::getgid());
	ASSERT_NE(gr, nullptr);
	const std::string my_group = gr->gr_name;

	RoleMap none;
	none.technician = {"no-such-group-xyz"};
	none.privacy_officer = {};
	none.investigator = {};
	auto p0 = peer_principal(sv[0], none);
	ASSERT_TRUE(p0) << p0.error().message;
	EXPECT_EQ(p0->uid, ::getuid());
	EXPECT_EQ(p0->pid, ::getpid());
	EXPECT_TRUE(p0->roles.empty());

	RoleMap map;
	map.investigator = {my_group};
	map.organisation = "County";
	auto p = peer_principal(sv[0], map);
	ASSERT_TRUE(p);
	EXPECT_NE(std::find(p->groups.begin(), p->groups.end(), my_group), p->groups.end());
	EXPECT_EQ(p->roles, std::set<Role>{Role::Investigator});
	EXPECT_EQ(p->organisation, "County");
	EXPECT_FALSE(p->user.empty());

	// Through the Authorizer: the investigator may query but not export the audit log.
	Authorizer authz(map, *log_);
	auto who = authz.identify_peer(sv[1]);
	ASSERT_TRUE(who);
	AccessRequest exp;
	exp.action = Action::AuditExport;
	EXPECT_FALSE(authz.authorize(*who, exp, policy_));
	EXPECT_EQ(refusals().size(), 1u);
	EXPECT_NE(refusals()[0].find("\"actor\":\"" + who->user + "\""), std::string::npos);
	::close(sv[0]);
	::close(sv[1]);

	// Not a socket: an error, not a principal.
	EXPECT_FALSE(peer_principal(-1, map));
}

// A RoleMap is built from lethed's parsed configuration only (config::parse, the same rules
// for lethed and the CLI): RoleMap::from_config.
TEST(RoleMap, BuiltFromTheParsedConfiguration)
{
	auto cfg = config::parse("[device]\nid = \"a\"\n[roles]\ntechnician = [\"tech\", \"ops\"]\n"
	                         "investigator = [\"cid\"]\norganisation = \"County\"\n",
	                         "lethed.toml");
	ASSERT_TRUE(cfg) << cfg.error().message;
	const RoleMap m = RoleMap::from_config(cfg->roles);
	EXPECT_EQ(m.technician, (std::vector<std::string>{"tech", "ops"}));
	EXPECT_EQ(m.investigator, std::vector<std::string>{"cid"});
	EXPECT_EQ(m.privacy_officer, std::vector<std::string>{"lethe-privacy"}); // default
	EXPECT_EQ(m.organisation, "County");
	EXPECT_EQ(m.roles_for({"ops", "cid"}),
	          (std::set<Role>{Role::Technician, Role::Investigator}));
	EXPECT_TRUE(m.roles_for({"wheel"}).empty());

	// RoleMap's defaults are the configuration's.
	const RoleMap d = RoleMap::from_config(config::Roles{});
	const RoleMap plain;
	EXPECT_EQ(plain.technician, d.technician);
	EXPECT_EQ(plain.privacy_officer, d.privacy_officer);
	EXPECT_EQ(plain.investigator, d.investigator);
	EXPECT_EQ(plain.organisation, d.organisation);
	EXPECT_EQ(plain.purpose_codes, d.purpose_codes);
}

// RoleMap::load (the CLI's) reads [roles] by config's rules: the same FILE:LINE errors lethed
// gives, other tables not read.
TEST(RoleMap, LoadReadsRolesByTheConfigurationRules)
{
	TempDir dir;
	const auto path = dir / "lethed.toml";
	const auto load_text = [&](const std::string &text) {
		write_file(path, text);
		::chmod(path.c_str(), 0600);
		return RoleMap::load(path);
	};
	// Only [roles]: fine (no [device] required); other tables are lethed's business.
	auto m = load_text("[camera]\nx = 1\n[roles]\ninvestigator = [\"cid\"]\n");
	ASSERT_TRUE(m) << m.error().message;
	EXPECT_EQ(m->investigator, std::vector<std::string>{"cid"});

	// Each refused with config's FILE:LINE error; config's length caps hold for the CLI too
	// (RoleMap::parse, gone, had none).
	const std::vector<std::pair<std::string, std::string>> refused = {
	    {"[roles]\n\nsuperuser = [\"root\"]\n", ":3: unknown key 'superuser' in [roles]"},
	    {"[roles]\ntechnician = \"tech\"\n", ":2: roles.technician: must be an array"},
	    {"[roles]\npurpose_codes = [\"ok\",\n \"no spaces\"]\n",
	     ":3: roles.purpose_codes[1]: 'no spaces' is not a valid code"},
	    {"[roles]\ninvestigator = [\"\"]\n", ":2: roles.investigator[0]: must not be empty"},
	    {"[roles]\norganisation = \"" + std::string(129, 'x') + "\"\n",
	     ":2: roles.organisation: longer than 128 characters"},
	};
	for (const auto &[text, error] : refused) {
		auto bad = load_text(text);
		ASSERT_FALSE(bad) << text;
		EXPECT_NE(bad.error().message.find(path.string() + error), std::string::npos)
		    << bad.error().message;
	}
	EXPECT_FALSE(load_text("[roles\n"));
}

TEST(RoleMap, LoadRefusesAFileOthersCanWrite)
{
	TempDir dir;
	const auto path = dir / "lethed.toml";
	write_file(path, "[roles]\ninvestigator = [\"x\"]\n");
	::chmod(path.c_str(), 0644);
	auto ok = RoleMap::load(path);
	ASSERT_TRUE(ok) << ok.error().message;
	EXPECT_EQ(ok->investigator, std::vector<std::string>{"x"});
	::chmod(path.c_str(), 0666);
	EXPECT_FALSE(RoleMap::load(path));
	::chmod(path.c_str(), 0620);
	EXPECT_FALSE(RoleMap::load(path));
	// Missing: the defaults.
	auto def = RoleMap::load(dir / "absent.toml");
	ASSERT_TRUE(def);
	EXPECT_EQ(def->technician, std::vector<std::string>{"lethe-tech"});
}

} // namespace
} // namespace lethe::audit
