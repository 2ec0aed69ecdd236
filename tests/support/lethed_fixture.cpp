// SPDX-License-Identifier: GPL-3.0-or-later
// Test device and child-process lethed for the daemon's end-to-end tests.
#include "support/lethed_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "lethe/capture/synthetic.h"

namespace lethe::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kCli = LETHE_CLI_PATH;

void sh(const std::string &cmd)
{
	auto r = run_command(cmd, true);
	EXPECT_EQ(r.status, 0) << cmd << "\n" << r.output;
}

} // namespace

fs::path sample_image(const std::string &name)
{
	return fs::path(LETHE_TEST_DATA_DIR) / "samples" / name;
}

fs::path make_replay(const fs::path &dir, const std::vector<std::string> &samples,
		     unsigned frames_per_vehicle, unsigned gap_frames)
{
	std::vector<fs::path> stills;
	for (const auto &s : samples)
		stills.push_back(sample_image(s));
	capture::PassSequenceOptions o;
	o.frames_per_vehicle = frames_per_vehicle;
	o.gap_frames = gap_frames;
	auto n = capture::write_pass_sequence(stills, dir, o);
	EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().message);
	return dir;
}

std::string lethed_retention(const std::vector<std::pair<std::string, std::string>> &periods)
{
	std::string text = "\n" + kLethedTestRetention; // every key after a newline
	for (const auto &[key, value] : periods) {
		const auto at = text.find("\n" + key + " = \"");
		EXPECT_NE(at, std::string::npos) << key;
		if (at == std::string::npos)
			continue;
		const auto from = at + key.size() + 5; // past "\nKEY = \""
		text.replace(from, text.find('"', from) - from, value);
	}
	return text.substr(1);
}

LethedDevice::LethedDevice(const MosquittoBroker &broker, const std::string &retention,
			   bool retro_hit_queries)
{
	fs::create_directories(state);
	fs::create_directories(trust);
	fs::permissions(state, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
	sh(kCli + " policy keygen --out " + (dir / "officer").string());
	fs::copy_file(dir / "officer.pub", trust / "officer.pub");
	write_file(dir / "policy.toml", R"(id = "lethe-test"
version = 1
issuer = "test officer"
jurisdiction = "TEST"
not_before = 2025-01-01T00:00:00Z
not_after = 2034-12-31T23:59:59Z
retro_hit_queries = )" + std::string(retro_hit_queries ? "true" : "false") + R"(
[retention]
)" + retention + R"([hotlist]
max_age = "7d"
publish_stale = false
categories = ["stolen-vehicle", "amber-alert"]
match_confusions = true
max_edit_distance = 1
[[recipients]]
name = "test-dispatch"
broker = ")" + broker.address() + R"("
topics = [")" + kLethedTopic + R"("]
purpose = "test"
public_agency = true
)");
	// Installed before any config names this directory: a staging install, no role.
	sh(kCli + " policy sign --key " + (dir / "officer.key").string() + " --out " +
	   (dir / "policy.bundle").string() + " " + (dir / "policy.toml").string());
	sh(kCli + " policy install --trust " + trust.string() + " --state-dir " + state.string() +
	   " " + (dir / "policy.bundle").string());
}

void LethedDevice::install_hotlist(const std::vector<std::string> &plates, int version)
{
	std::string csv = "plate,region,list_id,category,reason,entered,expires,agency_ref\n";
	for (const auto &p : plates)
		csv += p + ",XX,test-list,stolen-vehicle,test record,2026-01-01,,T-" + p + "\n";
	write_file(dir / "hotlist.csv", csv);
	const auto bundle = (dir / ("hotlist-" + std::to_string(version) + ".bundle")).string();
	sh(kCli + " hotlist sign --key " + (dir / "officer.key").string() + " --out " + bundle +
	   " --id test-list --version " + std::to_string(version) + " " +
	   (dir / "hotlist.csv").string());
	sh(kCli + " hotlist install --trust " + trust.string() + " --state-dir " + state.string() +
	   " " + bundle);
}

void LethedDevice::write_config(const MosquittoBroker &broker, const fs::path &replay,
				const std::string &camera_extra, const std::string &tracker_extra) const
{
	write_file(config, "[device]\nid = \"test-dev\"\nstate_dir = \"" + state.string() +
				   "\"\ntrust_dir = \"" + trust.string() + "\"\nruntime_dir = \"" +
				   run.string() +
				   "\"\n[log]\nlevels = \"*:Info\"\n"
				   "[pipeline]\nworkers = " + std::to_string(workers) + "\n"
				   "[tracker]\nmin_frames = 2\n" +
				   tracker_extra + "[[camera]]\nid = \"cam-a\"\nsource = \"replay\"\nuri = \"" +
				   replay.string() + "\"\nfps = 25\n" + camera_extra +
				   "[[broker]]\nname = \"test\"\nport = " + std::to_string(broker.port()) +
				   "\nhit_topic = \"" + kLethedTopic +
				   "\"\n[roles]\n" + roles);
	// A role map anyone may write is refused: keep it 0644.
	fs::permissions(config, fs::perms::owner_read | fs::perms::owner_write |
					fs::perms::group_read | fs::perms::others_read);
}

std::string LethedDevice::cli_env() const
{
	return "LETHE_CONFIG=" + config.string() + " LETHE_STATE_DIR=" + state.string() +
	       " LETHE_TRUST_DIR=" + trust.string() + " ";
}

LethedProcess::LethedProcess(const LethedDevice &d, bool exit_when_done,
			     const std::vector<std::pair<std::string, std::string>> &env,
			     bool append_log)
    : LethedProcess(d.config, d.log, exit_when_done, env, append_log)
{
}

LethedProcess::LethedProcess(const fs::path &config, const fs::path &log, bool exit_when_done,
			     const std::vector<std::pair<std::string, std::string>> &env,
			     bool append_log)
{
	pid_ = ::fork();
	if (pid_ == 0) {
		for (const auto &[k, v] : env)
			::setenv(k.c_str(), v.c_str(), 1);
		const int fd = ::open(log.c_str(),
				      O_WRONLY | O_CREAT | (append_log ? O_APPEND : O_TRUNC), 0600);
		::dup2(fd, 2);
		::dup2(fd, 1);
		// LETHED_PATH is a shell command prefix (under qemu-user it starts with the
		// emulator), so exec through the shell; "$@" keeps the arguments intact, and exec
		// leaves lethed (or its emulator) with this pid, for signals.
		const std::string script = std::string("exec ") + LETHED_PATH + " \"$@\"";
		std::vector<const char *> argv = {"/bin/sh", "-c", script.c_str(), "lethed",
						  "--config", config.c_str()};
		if (exit_when_done)
			argv.push_back("--exit-when-done");
		argv.push_back(nullptr);
		::execv("/bin/sh", const_cast<char *const *>(argv.data()));
		// Say why in the log the test prints: a bare 127 is undiagnosable in CI.
		const std::string why = std::string("execv /bin/sh: ") + std::strerror(errno) + "\n";
		(void)!::write(2, why.data(), why.size());
		::_exit(127);
	}
}

LethedProcess::~LethedProcess()
{
	if (pid_ > 0)
		kill();
}

void LethedProcess::signal(int sig)
{
	if (pid_ > 0)
		::kill(pid_, sig);
}

void LethedProcess::kill()
{
	if (pid_ <= 0)
		return;
	::kill(pid_, SIGKILL);
	int status = 0;
	(void)::waitpid(pid_, &status, 0);
	pid_ = -1;
	exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int LethedProcess::wait(std::chrono::milliseconds timeout)
{
#ifdef LETHE_TEST_EMULATED
	// Under qemu-user lethed runs several times slower (an arm64 run of 44 frames took 222
	// of the 240 s a test allowed): the bound is for a hung daemon, not a speed figure.
	timeout *= 3;
#endif
	const auto end = std::chrono::steady_clock::now() + timeout;
	while (running()) {
		if (std::chrono::steady_clock::now() > end)
			return -1;
		std::this_thread::sleep_for(20ms);
	}
	return exit_status_;
}

bool LethedProcess::running()
{
	if (pid_ <= 0)
		return false;
	int status = 0;
	if (::waitpid(pid_, &status, WNOHANG) != pid_)
		return true;
	pid_ = -1; // reaped: never signal a pid that may be reused
	exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return false;
}

nlohmann::json control(const LethedDevice &d, const std::string &args, int *status)
{
	auto r = run_command(kCli + " " + args + " --json --socket " + d.control_socket().string());
	if (status)
		*status = r.status;
	auto j = nlohmann::json::parse(r.output, nullptr, false);
	EXPECT_FALSE(j.is_discarded()) << args << ": " << r.output;
	return j;
}

fs::path sign_policy(const fs::path &dir, const std::string &name,
		     const std::vector<std::pair<std::string, std::string>> &edits)
{
	std::string text = read_file(dir / "policy.toml");
	for (const auto &[from, to] : edits) {
		const auto at = text.find(from);
		EXPECT_NE(at, std::string::npos) << from;
		if (at != std::string::npos)
			text.replace(at, from.size(), to);
	}
	write_file(dir / (name + ".toml"), text);
	const fs::path bundle = dir / (name + ".bundle");
	sh(kCli + " policy sign --key " + (dir / "officer.key").string() + " --out " +
	   bundle.string() + " " + (dir / (name + ".toml")).string());
	return bundle;
}

bool wait_until(const std::function<bool()> &pred, std::chrono::milliseconds timeout)
{
#ifdef LETHE_TEST_EMULATED
	timeout *= 3; // as LethedProcess::wait: a bound for a hang, not a speed figure
#endif
	const auto end = std::chrono::steady_clock::now() + timeout;
	while (std::chrono::steady_clock::now() < end) {
		if (pred())
			return true;
		std::this_thread::sleep_for(50ms);
	}
	return pred();
}

} // namespace lethe::test
