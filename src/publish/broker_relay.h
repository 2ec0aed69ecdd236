// SPDX-License-Identifier: GPL-3.0-or-later
// Validating relay between libmosquitto and the broker: TLS, framing, packet checks.
//
// libmosquitto 2.0.11 aborts the process on some broker packets (mqtt_inspect.h,
// docs/fuzzing.md finding 4), and its internals cannot be hooked. So libmosquitto never talks
// to the broker: it connects, in plain MQTT, to a listener on 127.0.0.1 that this relay opens
// for one connection attempt (ephemeral port, exactly one connection accepted, and only from
// libmosquitto's own socket; closed right after). The relay holds the real broker connection
// (TCP, or TLS ≥ 1.2 with the CA's verification of the broker's certificate, its name checked
// against the configured host, SNI, optional client certificate) and copies bytes both ways.
// Broker→device it frames every packet (at most mqtt::kMaxBrokerPacket bytes) and, when the
// device's CONNECT asked for MQTT 5, checks its property block with
// mqtt::check_from_broker() before libmosquitto sees it. A packet that fails is never
// forwarded: pump() closes both sockets and returns the reason.
//
// It is driven by the Publisher's own thread (poll_fds() + pump() in its poll loop), not a
// thread of its own: the relay and libmosquitto then see one ordered stream of events, the
// Publisher learns why a connection was dropped from pump()'s result (no shared state, no
// race between "the relay refused a packet" and "libmosquitto saw the socket close"), and a
// device with several brokers runs one thread per broker, as before. The price: connect()
// blocks that thread for the TCP connect and the TLS handshake (at most `timeout`, checking
// `cancelled` every 100 ms), as libmosquitto's own blocking connect did.
#pragma once

#include <poll.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "lethe/common/crypto.h"
#include "lethe/common/result.h"
#include "lethe/common/unique_fd.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace lethe::publish {

class BrokerRelay
{
public:
	struct Options {
		std::string host;
		int port = 1883;
		bool tls = false;
		std::string ca_file;             ///< with tls: required
		std::string cert_file, key_file; ///< with tls: client certificate and key, optional
		std::chrono::milliseconds timeout{10000}; ///< TCP connect, then TLS handshake
		std::function<bool()> cancelled;          ///< true: give up connecting (stop())
	};

	/// Connect to the broker (and complete the TLS handshake), then open the local listener.
	/// Errors read like "connect to HOST:PORT: Connection refused" or "TLS handshake with
	/// HOST:PORT: certificate verify failed (...)".
	[[nodiscard]] static Result<std::unique_ptr<BrokerRelay>> connect(Options options);
	~BrokerRelay();
	BrokerRelay(const BrokerRelay &) = delete;
	BrokerRelay &operator=(const BrokerRelay &) = delete;

	/// The port on 127.0.0.1 libmosquitto must connect to.
	[[nodiscard]] int local_port() const { return local_port_; }
	/// Accept the one connection libmosquitto made; client_fd is libmosquitto's socket
	/// (mosquitto_socket()). Refused (-EPERM) if the connection accepted is not that socket's.
	/// The listener is closed either way.
	[[nodiscard]] Status accept_client(int client_fd, std::chrono::milliseconds timeout);

	/// What to poll for: the libmosquitto side (local) and the broker side (upstream). fd -1
	/// once closed.
	void poll_fds(pollfd &local, pollfd &upstream) const;
	/// True if pump() has work that poll cannot see (TLS bytes already decrypted).
	[[nodiscard]] bool ready() const;
	/// Move what can be moved without blocking, both ways. An error means the connection was
	/// dropped (both sockets closed): a packet from the broker failed the checks, or the
	/// device's first packet was not a CONNECT. A broker or libmosquitto that closes its side
	/// is not an error: the relay passes the close on, and libmosquitto reports it.
	[[nodiscard]] Status pump();
	/// Forward what libmosquitto still sends (last status, DISCONNECT) until it closes its
	/// socket or the timeout passes. For a clean stop.
	void flush(std::chrono::milliseconds timeout);

private:
	BrokerRelay() = default;
	void close_all();
	void read_local();
	void write_upstream();
	void drop_sent(std::size_t n);
	void read_upstream();
	[[nodiscard]] Status move_packets();
	void write_local();
	[[nodiscard]] std::size_t upstream_room() const;

	std::string broker_; ///< "host:port", for messages
	UniqueFD listen_fd_;
	int local_port_ = 0;
	UniqueFD local_fd_;    ///< the accepted connection from libmosquitto
	UniqueFD upstream_fd_; ///< the broker
	SSL_CTX *ctx_ = nullptr;
	SSL *ssl_ = nullptr;
	int level_ = 0;           ///< protocol level of the device's CONNECT; 0 until seen
	/// From libmosquitto, not yet written to the broker. Its CONNECT carries the broker
	/// password: sent bytes and every buffer it leaves are wiped (drop_sent()).
	std::basic_string<char, std::char_traits<char>, crypto::WipingAllocator<char>> to_broker_;
	std::string from_broker_; ///< from the broker, not yet framed and checked
	std::string to_device_;   ///< checked packets, not yet written to libmosquitto
	bool local_eof_ = false, local_shut_ = false;
	bool broker_eof_ = false, upstream_shut_ = false;
	bool read_wants_write_ = false, write_wants_read_ = false; ///< TLS renegotiation states
};

} // namespace lethe::publish
