// SPDX-License-Identifier: GPL-3.0-or-later
// A test device for lethed (state/trust/runtime dirs, signed policy and hot list, config) and
// lethed as a child process.
//
// Usage:
//   lethe::test::MosquittoBroker broker; broker.start();
//   lethe::test::LethedDevice d(broker);                 // keys, signed policy installed
//   d.install_hotlist({"7ABC123"}, 1);
//   d.write_config(broker, lethe::test::make_replay(d.dir / "replay", {"us-front.jpg"}));
//   lethe::test::LethedProcess lethed(d, true);           // --exit-when-done
//   EXPECT_EQ(lethed.wait(240s), 0) << lethe::test::read_file(d.log);
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/mosquitto_fixture.h"
#include "support/temp_dir.h"

namespace lethe::test {

/// The hit topic of the test devices' policy and config.
inline const std::string kLethedTopic = "lethe/test/hits";

/// The [retention] table of the default test policy (long enough for nothing to expire).
inline const std::string kLethedTestRetention = R"(nonhit_digest = "1h"
hit_record = "1d"
hit_image = "1d"
outbox = "1d"
audit_log = "30d"
audit_log_minimum = "1d"
key_rotation = "1h"
)";

/// kLethedTestRetention with some periods changed, e.g. {{"nonhit_digest", "2s"}}. Fails the
/// current test if a key is not in the table.
std::string lethed_retention(const std::vector<std::pair<std::string, std::string>> &periods);

/// The project's bundled sample images (tests/data/samples/NAME).
std::filesystem::path sample_image(const std::string &name);

/// A replay directory of vehicles passing (frames_per_vehicle frames each, gap_frames empty
/// frames around each), from sample images. Fails the current test if it cannot be written.
std::filesystem::path make_replay(const std::filesystem::path &dir,
				  const std::vector<std::string> &samples,
				  unsigned frames_per_vehicle = 6, unsigned gap_frames = 4);

/// A device: state, trust and runtime directories, an officer key, a signed policy allowing
/// kLethedTopic on the broker (installed), hot lists on demand, a lethed config.
struct LethedDevice {
	TempDir dir;
	std::filesystem::path state = dir / "state", trust = dir / "trust", run = dir / "run",
			      config = dir / "lethed.toml", log = dir / "lethed.log";
	unsigned workers = 2; ///< pipeline.workers in write_config()
	/// The body of the [roles] table write_config() writes (the tests run as root).
	std::string roles = "technician = [\"root\"]\n";

	/// retention: the body of the policy's [retention] table; retro_hit_queries: the policy's.
	explicit LethedDevice(const MosquittoBroker &broker,
			      const std::string &retention = kLethedTestRetention,
			      bool retro_hit_queries = false);

	/// Sign and install a hot list (category stolen-vehicle) of these plates.
	void install_hotlist(const std::vector<std::string> &plates, int version);

	/// Write the config (mode 0644): one replay camera "cam-a", one broker "test" publishing
	/// kLethedTopic, `roles`. camera_extra / tracker_extra: more keys for [[camera]] /
	/// [tracker].
	void write_config(const MosquittoBroker &broker, const std::filesystem::path &replay,
			  const std::string &camera_extra = {},
			  const std::string &tracker_extra = {}) const;
	/// The control socket's path.
	[[nodiscard]] std::filesystem::path control_socket() const { return run / "control.sock"; }
	/// Environment for CLI commands acting on this device's state directory: its config
	/// (which names the directory, so local installs check the caller's role) and trust.
	[[nodiscard]] std::string cli_env() const;
};

/// lethed as a child process, stdout and stderr into the device's log (truncated, or appended
/// to with append_log: one log over several runs). Killed with SIGKILL when destroyed.
class LethedProcess
{
public:
	LethedProcess(const LethedDevice &d, bool exit_when_done,
		      const std::vector<std::pair<std::string, std::string>> &env = {},
		      bool append_log = false);
	/// lethed --config config, without a LethedDevice (a configuration of the test's own).
	LethedProcess(const std::filesystem::path &config, const std::filesystem::path &log,
		      bool exit_when_done,
		      const std::vector<std::pair<std::string, std::string>> &env = {},
		      bool append_log = false);
	~LethedProcess();
	LethedProcess(const LethedProcess &) = delete;
	LethedProcess &operator=(const LethedProcess &) = delete;

	void signal(int sig);
	/// SIGKILL and reap (a crash: nothing flushed, nothing cleaned up).
	void kill();
	/// Exit status (128 + signal if killed), or -1 if still running after timeout (or never
	/// started). Under an emulator (cross builds) the timeout is tripled.
	int wait(std::chrono::milliseconds timeout);
	[[nodiscard]] bool running();
	[[nodiscard]] pid_t pid() const { return pid_; }

private:
	pid_t pid_ = -1;
	int exit_status_ = -1;
};

/// `lethe ARGS --json --socket SOCKET` against the device's lethed: the reply (a failed
/// expectation if it is not JSON); the exit status in *status.
nlohmann::json control(const LethedDevice &d, const std::string &args, int *status = nullptr);

/// Sign dir/policy.toml (a test device's policy, officer key dir/officer.key) again with
/// changes (each pair: text to replace, replacement) as dir/NAME.bundle; returns its path.
/// Fails the current test if a text to replace is missing or signing fails.
std::filesystem::path sign_policy(const std::filesystem::path &dir, const std::string &name,
				  const std::vector<std::pair<std::string, std::string>> &edits);

/// Poll pred every 50 ms until it holds or timeout passes; returns its last value. Under an
/// emulator (cross builds) the timeout is tripled.
bool wait_until(const std::function<bool()> &pred, std::chrono::milliseconds timeout);

} // namespace lethe::test
