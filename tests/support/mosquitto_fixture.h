// SPDX-License-Identifier: GPL-3.0-or-later
// A real mosquitto broker for tests (127.0.0.1, free port, own config), plus a subscriber.
//
// Usage:
//   lethe::test::MosquittoBroker broker;            // plain TCP, no persistence
//   ASSERT_TRUE(broker.start());                    // waits until the port accepts connections
//   lethe::test::MqttSubscriber sub(broker, "lethe/#");
//   ASSERT_TRUE(sub.connected());
//   ... publish to broker.host():broker.port() ...
//   ASSERT_TRUE(sub.wait_for(1, std::chrono::seconds(5)));
//   auto msgs = sub.messages();
//
//   Outage tests: broker.stop(); ...; broker.start();   // same port again
//   TLS:  MosquittoBroker::Options o; o.tls = true;     // CA, server and client certificates
//         MosquittoBroker broker(o);                    // are generated in its TempDir with the
//         broker.tls().ca_cert, .client_cert ...        // `openssl` CLI (see make_tls_files)
//   Login: o.username = "lethe"; o.password = "pw";    // allow_anonymous false, a password
//                                                       // file made with `mosquitto_passwd -b`
//
// The broker runs as a child process (`mosquitto -c DIR/mosquitto.conf`), its log in
// DIR/mosquitto.log (log_text() returns it). Everything is removed when the object dies.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <vector>

#include "support/temp_dir.h"

struct mosquitto;
struct mosquitto_message;

namespace lethe::test {

/// PEM files of a test PKI: a CA, a server certificate for 127.0.0.1/localhost and a
/// client certificate (CN "lethe-test-client"), all signed by the CA. EC P-256 keys.
struct TlsFiles {
	std::filesystem::path ca_cert, ca_key;
	std::filesystem::path server_cert, server_key;
	std::filesystem::path client_cert, client_key;
};

/// The names the test server certificate is issued for (its subjectAltName).
inline const std::string kTestServerNames = "IP:127.0.0.1,DNS:localhost";

/// Generate a PKI in dir (created if needed) with the `openssl` CLI. prefix keeps several PKIs
/// apart in one directory (e.g. a second, untrusted CA); server_names is the server
/// certificate's subjectAltName. Returns false if openssl failed.
bool make_tls_files(const std::filesystem::path &dir, const std::string &prefix, TlsFiles &out,
		    const std::string &server_names = kTestServerNames);

/// A free TCP port on 127.0.0.1, below the kernel's ephemeral range (bound and released:
/// another explicit pick could still take it, never an implicit one).
int free_port();

class MosquittoBroker
{
public:
	struct Options {
		bool persistence = false; ///< keep sessions/queued QoS 1 messages across restarts
		bool tls = false;         ///< TLS listener with generated certificates
		bool require_client_cert = true; ///< with tls: mTLS (client certificate required)
		/// with tls: the server certificate's subjectAltName (e.g. another host's name)
		std::string server_names = kTestServerNames;
		/// Non-empty: anonymous clients are refused; this user logs in with password
		/// (mosquitto's password_file, made with `mosquitto_passwd -b`). MqttSubscriber
		/// logs in as this user too.
		std::string username;
		std::string password;
	};

	MosquittoBroker();
	explicit MosquittoBroker(Options options);
	~MosquittoBroker();
	MosquittoBroker(const MosquittoBroker &) = delete;
	MosquittoBroker &operator=(const MosquittoBroker &) = delete;

	/// Start (or restart) the broker on port(); true once it accepts TCP connections (≤ 10 s).
	bool start();
	/// Stop with SIGTERM (mosquitto saves persistence) and wait for the process to exit.
	void stop();
	/// Kill with SIGKILL (a crash: nothing saved since the last autosave).
	void kill();
	bool restart() { stop(); return start(); }
	[[nodiscard]] bool running() const { return pid_ > 0; }
	/// The broker's process id (e.g. to SIGSTOP/SIGCONT it: a broker that stops answering).
	[[nodiscard]] pid_t pid() const { return pid_; }

	[[nodiscard]] std::string host() const { return "127.0.0.1"; }
	[[nodiscard]] int port() const { return port_; }
	/// "127.0.0.1:PORT", the form used in policy recipients.
	[[nodiscard]] std::string address() const { return host() + ":" + std::to_string(port_); }
	[[nodiscard]] const TlsFiles &tls() const { return tls_; }
	[[nodiscard]] bool tls_enabled() const { return options_.tls; }
	[[nodiscard]] const std::string &username() const { return options_.username; }
	[[nodiscard]] const std::string &password() const { return options_.password; }
	[[nodiscard]] const std::filesystem::path &dir() const { return dir_.path(); }
	/// The broker's log so far (for failure messages).
	[[nodiscard]] std::string log_text() const;

private:
	void write_config() const;

	Options options_;
	TempDir dir_;
	TlsFiles tls_;
	int port_ = 0;
	pid_t pid_ = -1;
};

/// A libmosquitto subscriber with its own network thread, collecting messages.
/// Uses the broker's TLS files (CA + client certificate) when the broker has TLS.
class MqttSubscriber
{
public:
	struct Message {
		std::string topic;
		std::string payload;
		int qos = 0;
		bool retain = false;
	};

	/// Connects and subscribes to topic_filter at QoS 1; waits up to 5 s for SUBACK.
	/// Re-subscribes on every reconnect (libmosquitto reconnects on its own after an outage).
	/// With a client_id the session is persistent (MQTT 3.1.1, clean session off): a broker
	/// with persistence keeps the subscription and queues QoS 1 messages across its restart,
	/// so nothing published while the subscriber reconnects is missed. Without one: MQTT 5,
	/// clean session.
	MqttSubscriber(const MosquittoBroker &broker, const std::string &topic_filter,
		       const std::string &client_id = {});
	~MqttSubscriber();
	MqttSubscriber(const MqttSubscriber &) = delete;
	MqttSubscriber &operator=(const MqttSubscriber &) = delete;

	/// True once subscribed.
	[[nodiscard]] bool connected() const;
	/// Wait until at least n messages have arrived; false on timeout.
	bool wait_for(std::size_t n, std::chrono::milliseconds timeout);
	[[nodiscard]] std::vector<Message> messages() const;
	[[nodiscard]] std::size_t count() const;

private:
	static void on_connect(struct mosquitto *, void *obj, int rc);
	static void on_subscribe(struct mosquitto *, void *obj, int, int, const int *);
	static void on_message(struct mosquitto *, void *obj, const struct mosquitto_message *);

	struct mosquitto *mosq_ = nullptr;
	std::string filter_;
	mutable std::mutex mutex_;
	std::condition_variable cv_;
	std::vector<Message> messages_;
	bool subscribed_ = false;
};

} // namespace lethe::test
