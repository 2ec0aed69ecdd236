// SPDX-License-Identifier: GPL-3.0-or-later
// A real mosquitto broker for tests (127.0.0.1, free port, own config), plus a subscriber.
#include "support/mosquitto_fixture.h"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <random>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <mosquitto.h>

namespace lethe::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

void lib_init()
{
	static std::once_flag once;
	std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string find_mosquitto()
{
	for (const char *dir : {"/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"}) {
		fs::path p = fs::path(dir) / "mosquitto";
		if (access(p.c_str(), X_OK) == 0)
			return p.string();
	}
	return "mosquitto";
}

bool port_open(int port)
{
	const int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	sockaddr_in addr{};
	addr.sin_family = AF_INET;
	addr.sin_port = htons(static_cast<uint16_t>(port));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	const bool ok = connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0;
	close(fd);
	return ok;
}

bool run_openssl(const std::string &args, const fs::path &dir)
{
	const std::string cmd = "cd '" + dir.string() + "' && openssl " + args + " >>openssl.log 2>&1";
	return std::system(cmd.c_str()) == 0;
}

} // namespace

namespace {

/// Binds 127.0.0.1:port (0: the kernel picks) and closes again; the port, or -1.
int try_bind(int port)
{
	const int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	sockaddr_in addr{};
	addr.sin_family = AF_INET;
	addr.sin_port = htons(static_cast<uint16_t>(port));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(addr);
	int got = -1;
	if (bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0 &&
	    getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0)
		got = ntohs(addr.sin_port);
	close(fd);
	return got;
}

} // namespace

int free_port()
{
	// Below the kernel's ephemeral range: a port from bind(0) is free only until someone
	// else's connect() or bind(0) is handed it, and the publisher's relay listeners and
	// the fuzzers' fake brokers take ephemeral ports all the time — a broker started a
	// moment later then met "Address already in use". Ports under the range are never
	// handed out implicitly, so only another explicit pick can collide (random among ~20k).
	int low = 32768;
	if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range)
		range >> low;
	constexpr int kFirst = 10000;
	if (low - kFirst >= 1000) {
		static std::mutex mutex;
		static std::mt19937 rng{std::random_device{}()};
		std::lock_guard lock(mutex);
		std::uniform_int_distribution<int> pick(kFirst, low - 1);
		for (int i = 0; i < 200; ++i) {
			const int port = try_bind(pick(rng));
			if (port > 0)
				return port;
		}
	}
	return try_bind(0);
}

bool make_tls_files(const fs::path &dir, const std::string &prefix, TlsFiles &out,
		    const std::string &server_names)
{
	fs::create_directories(dir);
	const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
	out.ca_cert = dir / (prefix + "-ca.crt");
	out.ca_key = dir / (prefix + "-ca.key");
	out.server_cert = dir / (prefix + "-server.crt");
	out.server_key = dir / (prefix + "-server.key");
	out.client_cert = dir / (prefix + "-client.crt");
	out.client_key = dir / (prefix + "-client.key");
	write_file(dir / (prefix + "-server.ext"),
		   "subjectAltName=" + server_names + "\nextendedKeyUsage=serverAuth\n");
	write_file(dir / (prefix + "-client.ext"), "extendedKeyUsage=clientAuth\n");
	const std::string p = prefix;
	return run_openssl("req -x509 " + key + " -keyout " + p + "-ca.key -out " + p +
				   "-ca.crt -days 2 -subj '/CN=Lethe test CA " + p + "'",
			   dir) &&
	       run_openssl("req " + key + " -keyout " + p + "-server.key -out " + p +
				   "-server.csr -subj /CN=localhost",
			   dir) &&
	       run_openssl("x509 -req -in " + p + "-server.csr -CA " + p + "-ca.crt -CAkey " + p +
				   "-ca.key -CAcreateserial -days 2 -extfile " + p +
				   "-server.ext -out " + p + "-server.crt",
			   dir) &&
	       run_openssl("req " + key + " -keyout " + p + "-client.key -out " + p +
				   "-client.csr -subj /CN=lethe-test-client",
			   dir) &&
	       run_openssl("x509 -req -in " + p + "-client.csr -CA " + p + "-ca.crt -CAkey " + p +
				   "-ca.key -CAcreateserial -days 2 -extfile " + p +
				   "-client.ext -out " + p + "-client.crt",
			   dir);
}

MosquittoBroker::MosquittoBroker() : MosquittoBroker(Options{}) {}

MosquittoBroker::MosquittoBroker(Options options) : options_(options)
{
	port_ = free_port();
	if (options_.tls && !make_tls_files(dir_.path() / "pki", "test", tls_, options_.server_names))
		tls_ = {};
	if (!options_.username.empty()) {
		// mosquitto's own tool hashes the password; -b takes it from the command line.
		const std::string cmd = "mosquitto_passwd -c -b '" +
					(dir_.path() / "passwd").string() + "' '" + options_.username +
					"' '" + options_.password + "' >>'" +
					(dir_.path() / "passwd.log").string() + "' 2>&1";
		if (std::system(cmd.c_str()) != 0)
			options_.username.clear(); // start() then fails: no password file
	}
	write_config();
}

MosquittoBroker::~MosquittoBroker() { stop(); }

void MosquittoBroker::write_config() const
{
	std::string conf;
	conf += "# Generated by the Lethe test fixture\n";
	// As root mosquitto would switch to user "mosquitto", which cannot read our TempDir.
	conf += "user root\n";
	conf += "per_listener_settings false\n";
	if (options_.password.empty() && options_.username.empty()) {
		conf += "allow_anonymous true\n";
	} else {
		conf += "allow_anonymous false\n";
		conf += "password_file " + (dir_.path() / "passwd").string() + "\n";
	}
	conf += "log_dest file " + (dir_.path() / "mosquitto.log").string() + "\n";
	conf += "log_type all\n";
	conf += "connection_messages true\n";
	conf += "max_queued_messages 100000\n";
	if (options_.persistence) {
		conf += "persistence true\n";
		conf += "persistence_location " + dir_.path().string() + "/\n";
		conf += "autosave_interval 1\n";
	} else {
		conf += "persistence false\n";
	}
	conf += "listener " + std::to_string(port_) + " 127.0.0.1\n";
	if (options_.tls) {
		conf += "cafile " + tls_.ca_cert.string() + "\n";
		conf += "certfile " + tls_.server_cert.string() + "\n";
		conf += "keyfile " + tls_.server_key.string() + "\n";
		conf += std::string("require_certificate ") +
			(options_.require_client_cert ? "true" : "false") + "\n";
	}
	write_file(dir_.path() / "mosquitto.conf", conf);
}

bool MosquittoBroker::start()
{
	if (pid_ > 0)
		return true;
	const std::string exe = find_mosquitto();
	const std::string conf = (dir_.path() / "mosquitto.conf").string();
	const std::string out = (dir_.path() / "mosquitto.stdout").string();
	const pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(exe.c_str(), exe.c_str(), "-c", conf.c_str(), static_cast<char *>(nullptr));
		_exit(127);
	}
	pid_ = pid;
	const auto deadline = std::chrono::steady_clock::now() + 10s;
	while (std::chrono::steady_clock::now() < deadline) {
		int status = 0;
		if (waitpid(pid_, &status, WNOHANG) == pid_) {
			pid_ = -1; // it died (port taken, bad config): see log_text()
			return false;
		}
		if (port_open(port_))
			return true;
		std::this_thread::sleep_for(10ms);
	}
	kill();
	return false;
}

void MosquittoBroker::stop()
{
	if (pid_ <= 0)
		return;
	::kill(pid_, SIGTERM);
	int status = 0;
	const auto deadline = std::chrono::steady_clock::now() + 10s;
	while (waitpid(pid_, &status, WNOHANG) == 0) {
		if (std::chrono::steady_clock::now() > deadline) {
			::kill(pid_, SIGKILL);
			waitpid(pid_, &status, 0);
			break;
		}
		std::this_thread::sleep_for(5ms);
	}
	pid_ = -1;
}

void MosquittoBroker::kill()
{
	if (pid_ <= 0)
		return;
	::kill(pid_, SIGKILL);
	int status = 0;
	waitpid(pid_, &status, 0);
	pid_ = -1;
}

std::string MosquittoBroker::log_text() const
{
	return read_file(dir_.path() / "mosquitto.stdout") +
	       read_file(dir_.path() / "mosquitto.log");
}

MqttSubscriber::MqttSubscriber(const MosquittoBroker &broker, const std::string &topic_filter,
			       const std::string &client_id)
	: filter_(topic_filter)
{
	lib_init();
	const bool persistent = !client_id.empty();
	mosq_ = mosquitto_new(persistent ? client_id.c_str() : nullptr, !persistent, this);
	if (!mosq_)
		return;
	mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION,
			     persistent ? MQTT_PROTOCOL_V311 : MQTT_PROTOCOL_V5);
	mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
	mosquitto_connect_callback_set(mosq_, &MqttSubscriber::on_connect);
	mosquitto_subscribe_callback_set(mosq_, &MqttSubscriber::on_subscribe);
	mosquitto_message_callback_set(mosq_, &MqttSubscriber::on_message);
	if (!broker.username().empty() &&
	    mosquitto_username_pw_set(mosq_, broker.username().c_str(), broker.password().c_str()) !=
		    MOSQ_ERR_SUCCESS)
		return;
	if (broker.tls_enabled()) {
		const auto &t = broker.tls();
		if (mosquitto_tls_set(mosq_, t.ca_cert.c_str(), nullptr, t.client_cert.c_str(),
				      t.client_key.c_str(), nullptr) != MOSQ_ERR_SUCCESS)
			return;
	}
	if (mosquitto_connect(mosq_, broker.host().c_str(), broker.port(), 30) != MOSQ_ERR_SUCCESS)
		return;
	mosquitto_loop_start(mosq_);
	std::unique_lock lock(mutex_);
	cv_.wait_for(lock, 5s, [this] { return subscribed_; });
}

MqttSubscriber::~MqttSubscriber()
{
	if (!mosq_)
		return;
	mosquitto_disconnect(mosq_);
	mosquitto_loop_stop(mosq_, false);
	mosquitto_destroy(mosq_);
}

void MqttSubscriber::on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	auto *self = static_cast<MqttSubscriber *>(obj);
	if (rc == 0)
		mosquitto_subscribe(mosq, nullptr, self->filter_.c_str(), 1);
}

void MqttSubscriber::on_subscribe(struct mosquitto *, void *obj, int, int, const int *)
{
	auto *self = static_cast<MqttSubscriber *>(obj);
	std::lock_guard lock(self->mutex_);
	self->subscribed_ = true;
	self->cv_.notify_all();
}

void MqttSubscriber::on_message(struct mosquitto *, void *obj, const struct mosquitto_message *m)
{
	auto *self = static_cast<MqttSubscriber *>(obj);
	Message msg;
	msg.topic = m->topic ? m->topic : "";
	if (m->payload && m->payloadlen > 0)
		msg.payload.assign(static_cast<const char *>(m->payload),
				   static_cast<std::size_t>(m->payloadlen));
	msg.qos = m->qos;
	msg.retain = m->retain;
	std::lock_guard lock(self->mutex_);
	self->messages_.push_back(std::move(msg));
	self->cv_.notify_all();
}

bool MqttSubscriber::connected() const
{
	std::lock_guard lock(mutex_);
	return subscribed_;
}

bool MqttSubscriber::wait_for(std::size_t n, std::chrono::milliseconds timeout)
{
	std::unique_lock lock(mutex_);
	return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
}

std::vector<MqttSubscriber::Message> MqttSubscriber::messages() const
{
	std::lock_guard lock(mutex_);
	return messages_;
}

std::size_t MqttSubscriber::count() const
{
	std::lock_guard lock(mutex_);
	return messages_.size();
}

} // namespace lethe::test
