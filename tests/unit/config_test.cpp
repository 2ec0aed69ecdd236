// SPDX-License-Identifier: GPL-3.0-or-later
// Config parser: the shipped default parses; unknown keys and bad values name FILE:LINE.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lethe/config/config.h"
#include "support/temp_dir.h"

namespace {

using lethe::config::parse;

std::string errors_of(std::string_view text)
{
	auto r = parse(text, "t.toml");
	EXPECT_FALSE(r.ok()) << "expected errors for:\n" << text;
	return r.ok() ? std::string() : r.error().message;
}

TEST(Config, ShippedDefaultIsValid)
{
	auto r = lethe::config::load(std::string(LETHE_SOURCE_DIR) + "/config/lethed.toml");
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->device.id, "lethe-01");
	ASSERT_EQ(r->cameras.size(), 1u);
	EXPECT_EQ(r->cameras[0].source.kind, lethe::capture::SourceKind::Libcamera);
	EXPECT_EQ(r->cameras[0].source.width, 1920u);
	ASSERT_EQ(r->brokers.size(), 1u);
	EXPECT_EQ(r->brokers[0].port, 1883u);
	EXPECT_EQ(r->control_socket(), "/run/lethe/control.sock");
}

TEST(Config, TypedValues)
{
	auto r = parse(R"([device]
id = "pole-7"
state_dir = "/tmp/x"
key_mode = "ram"
[pipeline]
workers = 3
frame_queue = 9
[[camera]]
id = "north"
source = "replay"
uri = "/data/seq"
replay_fps = 12.5
loop = true
roi = [10, 20, 300, 400]
masks = [[0, 0, 5, 5], [1, 1, 2, 2]]
exposure_us = 2000
gain = 2
[[broker]]
name = "b"
port = 8883
hit_topic = "agency/hits"
[broker.tls]
ca_file = "/etc/ca.pem"
)",
		       "t.toml");
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->device.key_mode, "ram");
	EXPECT_EQ(r->pipeline.workers, 3u);
	EXPECT_EQ(r->pipeline.frame_queue, 9u);
	const auto &c = r->cameras.at(0);
	EXPECT_EQ(c.source.camera_id, "north");
	EXPECT_DOUBLE_EQ(c.source.replay_fps, 12.5);
	EXPECT_TRUE(c.source.loop);
	ASSERT_TRUE(c.roi);
	EXPECT_EQ(*c.roi, (lethe::config::Rect{10, 20, 300, 400}));
	EXPECT_EQ(c.masks.size(), 2u);
	EXPECT_EQ(c.source.exposure_us.value_or(0), 2000);
	EXPECT_FLOAT_EQ(c.source.gain.value_or(0), 2.0f);
	ASSERT_TRUE(r->brokers.at(0).tls);
	EXPECT_EQ(r->brokers[0].tls->ca_file, "/etc/ca.pem");
}

TEST(Config, UnknownKeyNamesFileLineAndAllowed)
{
	const auto e = errors_of("[device]\nid = \"a\"\n\n[pipeline]\nwrokers = 2\n");
	EXPECT_NE(e.find("t.toml:5: unknown key 'wrokers' in [pipeline]"), std::string::npos) << e;
	EXPECT_NE(e.find("allowed: workers, frame_queue, event_queue"), std::string::npos) << e;
}

TEST(Config, OutOfRangeNamesLineAndLimits)
{
	const auto e = errors_of("[device]\nid = \"a\"\n[pipeline]\nworkers = 0\n");
	EXPECT_NE(e.find("t.toml:4: pipeline.workers: must be an integer 1..64"), std::string::npos) << e;
	const auto e2 = errors_of("[device]\nid = \"a\"\n[reader]\nmin_confidence = 1.5\n");
	EXPECT_NE(e2.find("t.toml:4: reader.min_confidence: must be a number 0..1"), std::string::npos) << e2;
}

TEST(Config, WrongTypeAndBadChoice)
{
	const auto e = errors_of("[device]\nid = \"a\"\n[reader]\nregion = \"mars\"\ntop = \"3\"\n");
	EXPECT_NE(e.find("t.toml:4: reader.region: 'mars' is not allowed; one of us, eu, br"),
		  std::string::npos) << e;
	EXPECT_NE(e.find("t.toml:5: reader.top: must be an integer 1..10"), std::string::npos) << e;
	const auto e2 = errors_of("[device]\nid = \"a\"\n[reader]\ndetector = \"yolo\"\n");
	EXPECT_NE(e2.find("t.toml:4: reader.detector: 'yolo' is not allowed; one of classical, dnn, "
			  "both"),
		  std::string::npos)
		<< e2;
}

TEST(Config, OcrModel)
{
	auto r = parse("[device]\nid = \"a\"\n[reader]\nocr_model = \"lethe-plates\"\nverify_model = \"none\"\n",
		       "t.toml");
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->reader.ocr_model, "lethe-plates");
	EXPECT_EQ(r->reader.verify_model, "none");
	auto d = parse("[device]\nid = \"a\"\n", "t.toml");
	ASSERT_TRUE(d.ok());
	EXPECT_EQ(d->reader.ocr_model, "");    // the region's default (ocr::default_ocr_model)
	EXPECT_EQ(d->reader.verify_model, ""); // eng unless the OCR model is eng
	const auto e = errors_of("[device]\nid = \"a\"\n[reader]\nocr_model = \"models/x.traineddata\"\n");
	EXPECT_NE(e.find("t.toml:4: reader.ocr_model: a path must be absolute"), std::string::npos) << e;
	const auto v = errors_of("[device]\nid = \"a\"\n[reader]\nverify_model = \"x/eng.traineddata\"\n");
	EXPECT_NE(v.find("t.toml:4: reader.verify_model: a path must be absolute"), std::string::npos) << v;
}

TEST(Config, ReaderCalibration)
{
	auto none = parse("[device]\nid = \"a\"\n[reader]\ncalibration = \"none\"\n", "t.toml");
	ASSERT_TRUE(none.ok()) << none.error().message;
	EXPECT_EQ(none->reader.calibration, "none");
	auto path = parse("[device]\nid = \"a\"\n[reader]\ncalibration = \"/etc/lethe/cal.tsv\"\n",
			  "t.toml");
	ASSERT_TRUE(path.ok()) << path.error().message;
	EXPECT_EQ(path->reader.calibration, "/etc/lethe/cal.tsv");
	auto dflt = parse("[device]\nid = \"a\"\n", "t.toml");
	ASSERT_TRUE(dflt.ok());
	EXPECT_EQ(dflt->reader.calibration, "");
	const auto e = errors_of("[device]\nid = \"a\"\n[reader]\n\ncalibration = \"cal.tsv\"\n");
	EXPECT_NE(e.find("t.toml:5: reader.calibration: \"none\" or an absolute path"),
		  std::string::npos)
		<< e;
	const auto e2 = errors_of("[device]\nid = \"a\"\n[reader]\ncalibrate = \"none\"\n");
	EXPECT_NE(e2.find("t.toml:4: unknown key 'calibrate' in [reader]"), std::string::npos) << e2;
	EXPECT_NE(e2.find("calibration"), std::string::npos) << e2;
}

TEST(Config, StillsOnlyForReplay)
{
	auto ok = parse("[device]\nid = \"a\"\n[[camera]]\nid = \"c\"\nsource = \"replay\"\n"
			"uri = \"/photos\"\nstills = true\n",
			"t.toml");
	ASSERT_TRUE(ok.ok()) << ok.error().message;
	ASSERT_EQ(ok->cameras.size(), 1u);
	EXPECT_TRUE(ok->cameras[0].source.stills);
	const auto e = errors_of("[device]\nid = \"a\"\n[[camera]]\nid = \"c\"\nsource = \"v4l2\"\n"
				 "uri = \"/dev/video0\"\nstills = true\n");
	EXPECT_NE(e.find("t.toml:7: camera[0].stills: only for source = \"replay\""),
		  std::string::npos)
		<< e;
}

TEST(Config, EveryErrorIsReported)
{
	const auto e = errors_of(R"([device]
id = "bad id!"
[[camera]]
id = "c"
source = "stream"
roi = [1, 2, 3]
[[camera]]
id = "c"
source = "replay"
uri = "/x"
colour = "red"
[[broker]]
name = "b"
port = 70000
[broker.tls]
cert_file = "/c.pem"
)");
	EXPECT_NE(e.find("t.toml:2: device.id"), std::string::npos) << e;
	EXPECT_NE(e.find("camera[0].uri: required"), std::string::npos) << e;
	EXPECT_NE(e.find("t.toml:6: camera[0].roi: must be [x, y, width, height]"), std::string::npos) << e;
	EXPECT_NE(e.find("'c' is used twice"), std::string::npos) << e;
	EXPECT_NE(e.find("t.toml:11: unknown key 'colour' in [[camera]]"), std::string::npos) << e;
	EXPECT_NE(e.find("t.toml:14: broker[0].port: must be an integer 1..65535"), std::string::npos) << e;
	EXPECT_NE(e.find("tls.ca_file: required"), std::string::npos) << e;
	EXPECT_NE(e.find("cert_file and key_file go together"), std::string::npos) << e;
}

TEST(Config, MissingDeviceAndSyntaxError)
{
	EXPECT_NE(errors_of("[pipeline]\nworkers = 1\n").find("[device] with id"), std::string::npos);
	const auto e = errors_of("[device]\nid = \"a\"\n[pipeline\n");
	EXPECT_EQ(e.rfind("t.toml:3: ", 0), 0u) << e;
}

TEST(Config, RelativePathsAndWildcardTopicsRefused)
{
	const auto e = errors_of("[device]\nid = \"a\"\nstate_dir = \"var/lib\"\n[[broker]]\nname = \"b\"\n"
				 "hit_topic = \"lethe/#\"\n");
	EXPECT_NE(e.find("t.toml:3: device.state_dir: must be an absolute path"), std::string::npos) << e;
	EXPECT_NE(e.find("t.toml:6: broker[0].hit_topic: 1..256 bytes, no wildcards"), std::string::npos) << e;
	// The policy's topic rule (is_publish_topic) holds here too: no broker-reserved $ topic.
	const auto reserved = errors_of("[device]\nid = \"a\"\n[[broker]]\nname = \"b\"\n"
					"hit_topic = \"$SYS/hits\"\n");
	EXPECT_NE(reserved.find("t.toml:5: broker[0].hit_topic"), std::string::npos) << reserved;
}

TEST(Config, CliCheckReportsFileLineAndExitCodes)
{
	lethe::test::TempDir dir;
	std::filesystem::create_directories(dir / "trust");
	lethe::test::write_file(dir / "good.toml", "[device]\nid = \"a\"\ntrust_dir = \"" +
							   (dir / "trust").string() + "\"\n");
	lethe::test::write_file(dir / "bad.toml", "[device]\nid = \"a\"\n[tracker]\nmin_frames = 0\n");
	const std::string cli = LETHE_CLI_PATH;
	auto good = lethe::test::run_command(cli + " config check " + (dir / "good.toml").string(), true);
	EXPECT_EQ(good.status, 0) << good.output;
	auto bad = lethe::test::run_command(cli + " config check " + (dir / "bad.toml").string(), true);
	EXPECT_EQ(bad.status, 1) << bad.output;
	EXPECT_NE(bad.output.find((dir / "bad.toml").string() + ":4: tracker.min_frames"),
		  std::string::npos) << bad.output;
	auto json = lethe::test::run_command(cli + " config check --json " + (dir / "bad.toml").string());
	EXPECT_EQ(json.status, 1);
	EXPECT_NE(json.output.find("\"valid\":false"), std::string::npos) << json.output;
	auto missing = lethe::test::run_command(cli + " config check /nonexistent.toml", true);
	EXPECT_EQ(missing.status, 1);
	auto usage = lethe::test::run_command(cli + " config", true);
	EXPECT_EQ(usage.status, 2) << usage.output;
}

// Errors come in the order of the lines they name, whatever order the sections are checked in.
TEST(Config, ErrorsAreSortedByLine)
{
	const auto e = errors_of("[[broker]]\nname = \"b\"\nport = 0\n[device]\nid = \"bad id\"\n"
				 "[tracker]\nmin_frames = 0\n");
	const auto broker = e.find("t.toml:3: broker[0].port");
	const auto device = e.find("t.toml:5: device.id");
	const auto tracker = e.find("t.toml:7: tracker.min_frames");
	ASSERT_NE(broker, std::string::npos) << e;
	ASSERT_NE(device, std::string::npos) << e;
	ASSERT_NE(tracker, std::string::npos) << e;
	EXPECT_LT(broker, device) << e;
	EXPECT_LT(device, tracker) << e;
}

// docs/config.md: status_topic absent = lethe/<device id>/status; "" = no status messages.
TEST(Config, EmptyStatusTopicMeansNoStatus)
{
	auto r = parse("[device]\nid = \"pole-7\"\n[[broker]]\nname = \"a\"\n[[broker]]\nname = \"b\"\n"
		       "status_topic = \"\"\n",
		       "t.toml");
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->brokers[0].status_topic, "lethe/pole-7/status");
	EXPECT_EQ(r->brokers[1].status_topic, "");
	EXPECT_NE(errors_of("[device]\nid = \"a\"\n[[broker]]\nname = \"b\"\nstatus_topic = \"x/#\"\n")
			  .find("t.toml:5: broker[0].status_topic"),
		  std::string::npos);
}

TEST(Config, DirectoryIsNotAConfigFile)
{
	lethe::test::TempDir dir;
	auto r = lethe::config::load(dir.path());
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().message.find(dir.path().string() + ": is a directory, not a configuration file"),
		  std::string::npos)
		<< r.error().message;
	EXPECT_EQ(r.error().message.find("[device]"), std::string::npos) << r.error().message;
}

/// A config in dir naming the given files: trust dir, a replay folder, TLS and a password file.
std::string config_naming(const std::filesystem::path &dir, const std::string &reader,
			  const std::string &password_file)
{
	return "[device]\n"                                                     // 1
	       "id = \"a\"\n"                                                   // 2
	       "trust_dir = \"" + (dir / "trust").string() + "\"\n"             // 3
	       "[reader]\n"                                                     // 4
	       + (reader.empty() ? std::string("top = 3\n") : reader) +         // 5
	       "[[camera]]\n"                                                   // 6
	       "id = \"c\"\n"                                                   // 7
	       "source = \"replay\"\n"                                          // 8
	       "uri = \"" + (dir / "replay").string() + "\"\n"                  // 9
	       "[[broker]]\n"                                                   // 10
	       "name = \"b\"\n"                                                 // 11
	       "username = \"lethe\"\n"                                         // 12
	       "password_file = \"" + password_file + "\"\n"                    // 13
	       "[broker.tls]\n"                                                 // 14
	       "ca_file = \"" + (dir / "ca.pem").string() + "\"\n"              // 15
	       "cert_file = \"" + (dir / "client.pem").string() + "\"\n"        // 16
	       "key_file = \"" + (dir / "client.key").string() + "\"\n";        // 17
}

// lethe config check passed configs that lethed then refused: every file the config names is
// checked, each error with the FILE:LINE that names it, in line order.
TEST(Config, CheckFilesNamesEveryMissingFileWithItsLine)
{
	lethe::test::TempDir dir;
	const auto file = (dir / "l.toml").string();
	auto cfg = parse(config_naming(dir.path(), "ocr_model = \"no-such-model\"\n",
				       (dir / "broker.pass").string()),
			 file);
	ASSERT_TRUE(cfg.ok()) << cfg.error().message;
	auto s = lethe::config::check_files(*cfg);
	ASSERT_FALSE(s.ok());
	const std::string &e = s.error().message;
	std::size_t last = 0;
	const std::vector<std::string> wanted = {
		":3: device.trust_dir: " + (dir / "trust").string() + ": no such directory",
		":5: reader",
		":9: camera[0].uri: " + (dir / "replay").string(),
		":13: broker[0].password_file: ",
		":15: broker[0].tls.ca_file: ",
		":16: broker[0].tls.cert_file: ",
		":17: broker[0].tls.key_file: "};
	for (const std::string &want : wanted) {
		const auto at = e.find(file + want);
		ASSERT_NE(at, std::string::npos) << "missing " << want << " in:\n" << e;
		EXPECT_GE(at, last) << "not in line order:\n" << e;
		last = at;
	}
	EXPECT_NE(e.find("no-such-model"), std::string::npos) << e;
}

/// Create what config_naming() names; the password file with mode `pass_mode`.
void make_named_files(const std::filesystem::path &dir, std::filesystem::perms pass_mode)
{
	std::filesystem::create_directories(dir / "trust");
	std::filesystem::create_directories(dir / "replay");
	for (const char *f : {"ca.pem", "client.pem", "client.key"})
		lethe::test::write_file(dir / f, "x\n");
	lethe::test::write_file(dir / "broker.pass", "pw-Kq29xV\n");
	std::filesystem::permissions(dir / "broker.pass", pass_mode);
}

TEST(Config, CheckFilesPassesWhenEverythingIsThere)
{
	lethe::test::TempDir dir;
	make_named_files(dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
	auto cfg = parse(config_naming(dir.path(), "", (dir / "broker.pass").string()), "l.toml");
	ASSERT_TRUE(cfg.ok()) << cfg.error().message;
	auto s = lethe::config::check_files(*cfg);
	EXPECT_TRUE(s.ok()) << s.error().message;
}

// A password file others can read is refused, in lethe config check and by lethed, with
// FILE:LINE; so is one that is not a regular file.
TEST(Config, GroupReadablePasswordFileIsRefusedWithFileLine)
{
	lethe::test::TempDir dir;
	make_named_files(dir.path(), std::filesystem::perms::owner_read |
					     std::filesystem::perms::owner_write |
					     std::filesystem::perms::group_read |
					     std::filesystem::perms::others_read);
	const auto file = dir / "l.toml";
	lethe::test::write_file(file, config_naming(dir.path(), "", (dir / "broker.pass").string()));
	const std::string want = file.string() + ":13: broker[0].password_file: " +
				 (dir / "broker.pass").string() +
				 " is readable or writable by group or others (mode 0644)";

	auto check = lethe::test::run_command(std::string(LETHE_CLI_PATH) + " config check " +
						      file.string(),
					      true);
	EXPECT_EQ(check.status, 1) << check.output;
	EXPECT_NE(check.output.find(want), std::string::npos) << check.output;
	EXPECT_EQ(check.output.find("pw-Kq29xV"), std::string::npos) << check.output;

	auto lethed = lethe::test::run_command(std::string(LETHED_PATH) + " --config " + file.string(),
					       true);
	EXPECT_EQ(lethed.status, 2) << lethed.output;
	EXPECT_NE(lethed.output.find(want), std::string::npos) << lethed.output;

	// A directory (not a regular file) in its place.
	std::filesystem::remove(dir / "broker.pass");
	std::filesystem::create_directories(dir / "broker.pass");
	auto cfg = lethe::config::load(file);
	ASSERT_TRUE(cfg.ok()) << cfg.error().message;
	auto s = lethe::config::check_files(*cfg);
	ASSERT_FALSE(s.ok());
	EXPECT_NE(s.error().message.find(file.string() + ":13: broker[0].password_file: " +
					 (dir / "broker.pass").string() + " is not a regular file"),
		  std::string::npos)
		<< s.error().message;
}

TEST(Config, CliCheckOfADirectorySaysSo)
{
	lethe::test::TempDir dir;
	auto r = lethe::test::run_command(std::string(LETHE_CLI_PATH) + " config check " +
						  dir.path().string(),
					  true);
	EXPECT_EQ(r.status, 1) << r.output;
	EXPECT_NE(r.output.find("is a directory, not a configuration file"), std::string::npos)
		<< r.output;
}

// [roles] is read by one schema: a purpose code lethe's role map refused used to pass
// `lethe config check` and lethed. Now lethed, `lethe config check` and every CLI command that
// maps roles refuse it with the same FILE:LINE error.
TEST(Config, BadPurposeCodeRefusedAlikeByLethedAndTheCli)
{
	lethe::test::TempDir dir;
	const auto file = dir / "lethed.toml";
	lethe::test::write_file(file, "[device]\nid = \"a\"\n[roles]\npurpose_codes = [\"ok\", "
	                              "\"stolen vehicle\"]\n");
	const std::string expected =
	    file.string() + ":4: roles.purpose_codes[1]: 'stolen vehicle' is not a valid code "
	                    "(letters, digits, . _ : -; at most 32)";
	auto check = lethe::test::run_command(
	    std::string(LETHE_CLI_PATH) + " config check --text-only " + file.string(), true);
	EXPECT_EQ(check.status, 1) << check.output;
	EXPECT_NE(check.output.find(expected), std::string::npos) << check.output;
	auto lethed =
	    lethe::test::run_command(std::string(LETHED_PATH) + " --config " + file.string(), true);
	EXPECT_EQ(lethed.status, 2) << lethed.output;
	EXPECT_NE(lethed.output.find(expected), std::string::npos) << lethed.output;
	auto audit = lethe::test::run_command(
	    std::string(LETHE_CLI_PATH) + " audit export --since 1d --out " +
	        (dir / "x.json").string() + " --state-dir " + (dir / "state").string() +
	        " --config " + file.string(),
	    true);
	EXPECT_EQ(audit.status, 1) << audit.output;
	EXPECT_NE(audit.output.find(expected), std::string::npos) << audit.output;
}

TEST(Config, RoleGroupNamesFollowTheStringRules)
{
	const std::string head = "[device]\nid = \"a\"\n[roles]\n";
	auto e = errors_of(head + "technician = [\"tech\", \"\"]\n");
	EXPECT_NE(e.find("t.toml:4: roles.technician[1]: must not be empty"), std::string::npos)
	    << e;
	e = errors_of(head + "investigator = [\"" + std::string(257, 'g') + "\"]\n");
	EXPECT_NE(e.find("t.toml:4: roles.investigator[0]: longer than 256 characters"),
	          std::string::npos)
	    << e;
	e = errors_of(head + "privacy_officer = [\"a\\tb\"]\n");
	EXPECT_NE(e.find("t.toml:4: roles.privacy_officer[0]: contains control characters"),
	          std::string::npos)
	    << e;
	auto ok =
	    parse(head + "purpose_codes = [\"investigation\", \"stolen-vehicle\", \"a.b:c_d\"]\n",
	          "t.toml");
	ASSERT_TRUE(ok) << ok.error().message;
	EXPECT_EQ(ok->roles.purpose_codes.size(), 3u);
	EXPECT_TRUE(lethe::config::valid_purpose_code(std::string(32, 'x')));
	EXPECT_FALSE(lethe::config::valid_purpose_code(std::string(33, 'x')));
	EXPECT_FALSE(lethe::config::valid_purpose_code(""));
}

// TOML can carry a NUL byte in a string (\u0000): it is a control character, refused at its line
// (topics included: valid_topic() is only reached with a string that passed this rule).
TEST(Config, NulInAStringValueIsAFileLineError)
{
	auto e = errors_of("[device]\nid = \"a\"\nlocation = \"north\\u0000pole\"\n");
	EXPECT_NE(e.find("t.toml:3: device.location: contains control characters"),
	          std::string::npos)
	    << e;
	e = errors_of(
	    "[device]\nid = \"a\"\n[[broker]]\nname = \"b\"\nhit_topic = \"a/\\u0000\"\n");
	EXPECT_NE(e.find("t.toml:5: broker[0].hit_topic: contains control characters"),
	          std::string::npos)
	    << e;
	e = errors_of("[device]\nid = \"a\"\n[roles]\ntechnician = [\"x\\u0000\"]\n");
	EXPECT_NE(e.find("t.toml:4: roles.technician[0]: contains control characters"),
	          std::string::npos)
	    << e;
}

// A partial read (ParseOptions::only, for CLI tools) checks the tables it reads by the same
// rules, skips the rest and requires nothing.
TEST(Config, PartialReadChecksOnlyTheTablesItReads)
{
	const std::string text = "[camera]\nx = 1\n[device]\nstate_dir = \"/srv/lethe\"\n"
	                         "[roles]\ninvestigator = [\"cid\"]\n";
	EXPECT_FALSE(parse(text, "t.toml")); // the whole file: [camera] and device.id are wrong
	auto r = parse(text, "t.toml", {.only = {"device", "roles"}});
	ASSERT_TRUE(r) << r.error().message;
	EXPECT_EQ(r->device.state_dir, "/srv/lethe");
	EXPECT_EQ(r->roles.investigator, std::vector<std::string>{"cid"});
	auto roles_only =
	    parse("[roles]\ninvestigator = [\"cid\"]\n", "t.toml", {.only = {"roles"}});
	ASSERT_TRUE(roles_only) << roles_only.error().message;
	// The tables read keep every rule: unknown keys, values, an id that is there.
	auto bad = parse("[device]\nstate_dir = \"relative\"\nid = \"bad id\"\nsize = 1\n",
	                 "t.toml", {.only = {"device"}});
	ASSERT_FALSE(bad);
	EXPECT_NE(bad.error().message.find("t.toml:2: device.state_dir: must be an absolute path"),
	          std::string::npos)
	    << bad.error().message;
	EXPECT_NE(bad.error().message.find("t.toml:3: device.id: required"), std::string::npos)
	    << bad.error().message;
	EXPECT_NE(bad.error().message.find("t.toml:4: unknown key 'size' in [device]"),
	          std::string::npos)
	    << bad.error().message;
	EXPECT_FALSE(parse("[roles]\n", "t.toml", {.only = {"rolse"}})); // no such table
}

} // namespace
