// SPDX-License-Identifier: GPL-3.0-or-later
// Validating relay between libmosquitto and the broker (see broker_relay.h).
#include "broker_relay.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lethe/publish/mqtt_inspect.h"

namespace lethe::publish {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// Bytes buffered per direction before the relay stops reading that direction's source.
constexpr std::size_t kHigh = 256 * 1024;

/// Wait until fd is ready for events, in 100 ms slices so that `cancelled` is seen.
Status wait_fd(int fd, short events, Clock::time_point deadline,
               const std::function<bool()> &cancelled, const std::string &what)
{
	for (;;) {
		if (cancelled && cancelled())
			return make_error(-ECANCELED, what + ": cancelled");
		const auto left =
		    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
		if (left <= 0ms)
			return make_error(-ETIMEDOUT, what + ": timed out");
		pollfd p{fd, events, 0};
		const int n =
		    ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 100)));
		if (n > 0)
			return {};
		if (n < 0 && errno != EINTR)
			return make_error(-errno, what + ": " + std::strerror(errno));
	}
}

/// The first error on OpenSSL's queue for this thread, in words; the queue is cleared.
std::string openssl_error()
{
	const unsigned long e = ERR_get_error();
	ERR_clear_error();
	if (e == 0)
		return "the connection was closed";
	char buf[256];
	ERR_error_string_n(e, buf, sizeof(buf));
	return buf;
}

bool is_ip_literal(const std::string &host)
{
	in_addr a4{};
	in6_addr a6{};
	return ::inet_pton(AF_INET, host.c_str(), &a4) == 1 ||
	       ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

/// A non-blocking TCP connection to host:port (every address the name resolves to, in order).
Result<UniqueFD> tcp_connect(const BrokerRelay::Options &o, const std::string &broker,
                        Clock::time_point deadline)
{
	const std::string what = "connect to " + broker;
	addrinfo hints{};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	addrinfo *res = nullptr;
	const int grc = ::getaddrinfo(o.host.c_str(), std::to_string(o.port).c_str(), &hints, &res);
	if (grc != 0)
		return make_error(-EHOSTUNREACH, what + ": " + ::gai_strerror(grc));
	int err = ECONNREFUSED;
	UniqueFD fd;
	for (const addrinfo *ai = res; ai && !fd.isValid(); ai = ai->ai_next) {
		fd.reset(::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                  ai->ai_protocol));
		if (!fd.isValid()) {
			err = errno;
			continue;
		}
		if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			auto w = wait_fd(fd.get(), POLLOUT, deadline, o.cancelled, what);
			if (!w) {
				::freeaddrinfo(res);
				return w.error();
			}
			int soerr = 0;
			socklen_t len = sizeof(soerr);
			if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
			    soerr == 0)
				break;
			err = soerr != 0 ? soerr : errno;
		} else {
			err = errno;
		}
		fd.reset();
	}
	::freeaddrinfo(res);
	if (!fd.isValid())
		return make_error(-err, what + ": " + std::strerror(err));
	const int one = 1;
	::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

} // namespace

Result<std::unique_ptr<BrokerRelay>> BrokerRelay::connect(Options o)
{
	std::unique_ptr<BrokerRelay> r(new BrokerRelay);
	r->broker_ = o.host + ":" + std::to_string(o.port);
	const auto deadline = Clock::now() + o.timeout;
	auto fd = tcp_connect(o, r->broker_, deadline);
	if (!fd)
		return fd.error();
	r->upstream_fd_ = std::move(fd).value();

	if (o.tls) {
		// What libmosquitto was configured with before the relay (mosquitto_tls_set with
		// the CA file, tls_opts_set(SSL_VERIFY_PEER, "tlsv1.2"), tls_insecure_set(false)):
		// the broker's certificate must chain to the CA and name the host we connect to.
		const std::string what = "TLS handshake with " + r->broker_;
		ERR_clear_error();
		r->ctx_ = SSL_CTX_new(TLS_client_method());
		if (!r->ctx_)
			return make_error(-ENOMEM, "TLS setup: " + openssl_error());
		SSL_CTX_set_min_proto_version(r->ctx_, TLS1_2_VERSION);
		// An encrypted key must not make OpenSSL prompt on a terminal: it fails instead.
		SSL_CTX_set_default_passwd_cb(r->ctx_, [](char *, int, int, void *) { return 0; });
		if (SSL_CTX_load_verify_locations(r->ctx_, o.ca_file.c_str(), nullptr) != 1)
			return make_error(-EINVAL, "TLS setup: cannot load CA file " + o.ca_file +
			                               ": " + openssl_error());
		if (!o.cert_file.empty()) {
			if (SSL_CTX_use_certificate_chain_file(r->ctx_, o.cert_file.c_str()) != 1)
				return make_error(-EINVAL,
				                  "TLS setup: cannot load client certificate " +
				                      o.cert_file + ": " + openssl_error());
			if (SSL_CTX_use_PrivateKey_file(r->ctx_, o.key_file.c_str(),
			                                SSL_FILETYPE_PEM) != 1 ||
			    SSL_CTX_check_private_key(r->ctx_) != 1)
				return make_error(-EINVAL, "TLS setup: cannot use client key " +
				                               o.key_file + ": " + openssl_error());
		}
		SSL_CTX_set_verify(r->ctx_, SSL_VERIFY_PEER, nullptr);
		SSL_CTX_set_mode(r->ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE |
		                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		r->ssl_ = SSL_new(r->ctx_);
		if (!r->ssl_ || SSL_set_fd(r->ssl_, r->upstream_fd_.get()) != 1)
			return make_error(-ENOMEM, "TLS setup: " + openssl_error());
		bool named = false;
		if (is_ip_literal(o.host)) {
			named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(r->ssl_),
			                                      o.host.c_str()) == 1;
		} else {
			SSL_set_hostflags(r->ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			// SNI (SSL_set_tlsext_host_name(), a macro with an old-style cast).
			named = SSL_ctrl(r->ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME,
			                 TLSEXT_NAMETYPE_host_name,
			                 const_cast<char *>(o.host.c_str())) == 1 &&
			        SSL_set1_host(r->ssl_, o.host.c_str()) == 1;
		}
		if (!named)
			return make_error(-EINVAL, "TLS setup: cannot check the broker's name '" +
			                               o.host + "': " + openssl_error());
		for (;;) {
			ERR_clear_error();
			const int rc = SSL_connect(r->ssl_);
			if (rc == 1)
				break;
			const int e = SSL_get_error(r->ssl_, rc);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				auto w = wait_fd(r->upstream_fd_.get(),
				                 e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
				                 deadline, o.cancelled, what);
				if (!w)
					return w.error();
				continue;
			}
			const long v = SSL_get_verify_result(r->ssl_);
			if (v != X509_V_OK)
				return make_error(-EACCES, what + ": certificate verify failed (" +
				                               X509_verify_cert_error_string(v) +
				                               ")");
			return make_error(-EPROTO, what + ": " + openssl_error());
		}
	}

	// The listener libmosquitto connects to: 127.0.0.1, an ephemeral port, one connection.
	r->listen_fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	if (!r->listen_fd_.isValid() ||
	    ::bind(r->listen_fd_.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0 ||
	    ::listen(r->listen_fd_.get(), 1) != 0 ||
	    ::getsockname(r->listen_fd_.get(), reinterpret_cast<sockaddr *>(&a), &len) != 0)
		return make_error(-errno, std::string("relay: cannot listen on 127.0.0.1: ") +
		                              std::strerror(errno));
	r->local_port_ = ntohs(a.sin_port);
	return r;
}

BrokerRelay::~BrokerRelay()
{
	close_all();
}

void BrokerRelay::close_all()
{
	if (ssl_)
		SSL_free(ssl_);
	ssl_ = nullptr;
	if (ctx_)
		SSL_CTX_free(ctx_);
	ctx_ = nullptr;
	listen_fd_.reset();
	local_fd_.reset();
	upstream_fd_.reset();
	drop_sent(to_broker_.size());
	from_broker_.clear();
	to_device_.clear();
}

Status BrokerRelay::accept_client(int client_fd, std::chrono::milliseconds timeout)
{
	if (!listen_fd_.isValid())
		return make_error(-EINVAL, "relay: no listener");
	pollfd p{listen_fd_.get(), POLLIN, 0};
	const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
	sockaddr_in peer{};
	socklen_t len = sizeof(peer);
	UniqueFD fd(n > 0 ? ::accept4(listen_fd_.get(), reinterpret_cast<sockaddr *>(&peer), &len,
	                              SOCK_NONBLOCK | SOCK_CLOEXEC)
	                  : -1);
	const int err = errno;
	listen_fd_.reset(); // exactly one connection per attempt
	if (n <= 0)
		return make_error(-ETIMEDOUT, "relay: libmosquitto did not connect to it");
	if (!fd.isValid())
		return make_error(-err, std::string("relay: accept: ") + std::strerror(err));
	// The connection must come from libmosquitto's socket, not from another local process
	// that found the port first.
	sockaddr_in mine{};
	socklen_t mlen = sizeof(mine);
	if (client_fd < 0 ||
	    ::getsockname(client_fd, reinterpret_cast<sockaddr *>(&mine), &mlen) != 0 ||
	    len != sizeof(peer) || peer.sin_family != AF_INET || mine.sin_family != AF_INET ||
	    peer.sin_port != mine.sin_port || peer.sin_addr.s_addr != mine.sin_addr.s_addr) {
		char addr[INET_ADDRSTRLEN] = "?";
		::inet_ntop(AF_INET, &peer.sin_addr, addr, sizeof(addr));
		return make_error(-EPERM, std::string("relay: refused a local connection from ") +
		                              addr + ":" + std::to_string(ntohs(peer.sin_port)) +
		                              " that was not libmosquitto's");
	}
	const int one = 1;
	::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	local_fd_ = std::move(fd);
	return {};
}

std::size_t BrokerRelay::upstream_room() const
{
	constexpr std::size_t cap = mqtt::kMaxBrokerPacket + 16384;
	if (to_device_.size() >= kHigh || from_broker_.size() >= cap)
		return 0;
	return cap - from_broker_.size();
}

void BrokerRelay::poll_fds(pollfd &local, pollfd &upstream) const
{
	local = {-1, 0, 0};
	upstream = {-1, 0, 0};
	if (local_fd_.isValid()) {
		if (!local_eof_ && to_broker_.size() < kHigh)
			local.events |= POLLIN;
		if (!to_device_.empty() && !local_shut_)
			local.events |= POLLOUT;
		// An fd polled for nothing still reports POLLHUP: leave it out instead.
		if (local.events)
			local.fd = local_fd_.get();
	}
	if (upstream_fd_.isValid()) {
		if ((!broker_eof_ && upstream_room() > 0 && !read_wants_write_) ||
		    write_wants_read_)
			upstream.events |= POLLIN;
		if ((!to_broker_.empty() && level_ != 0 && !upstream_shut_ && !write_wants_read_) ||
		    read_wants_write_)
			upstream.events |= POLLOUT;
		if (upstream.events)
			upstream.fd = upstream_fd_.get();
	}
}

bool BrokerRelay::ready() const
{
	return ssl_ && !broker_eof_ && upstream_room() > 0 && SSL_pending(ssl_) > 0;
}

void BrokerRelay::read_local()
{
	char buf[16384];
	while (local_fd_.isValid() && !local_eof_ && to_broker_.size() < kHigh) {
		const ssize_t n = ::recv(local_fd_.get(), buf, sizeof(buf), 0);
		if (n > 0) {
			to_broker_.append(buf, static_cast<std::size_t>(n));
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		local_eof_ = true; // libmosquitto closed its socket (or it failed)
	}
	crypto::wipe(buf, sizeof(buf)); // the CONNECT passed through it
}

void BrokerRelay::drop_sent(std::size_t n)
{
	crypto::wipe(to_broker_.data(), n);
	to_broker_.erase(0, n);
}

void BrokerRelay::write_upstream()
{
	write_wants_read_ = false;
	while (upstream_fd_.isValid() && !upstream_shut_ && !to_broker_.empty()) {
		if (ssl_) {
			ERR_clear_error();
			const int rc = SSL_write(
			    ssl_, to_broker_.data(),
			    static_cast<int>(std::min<std::size_t>(to_broker_.size(), INT_MAX)));
			if (rc > 0) {
				drop_sent(static_cast<std::size_t>(rc));
				continue;
			}
			const int e = SSL_get_error(ssl_, rc);
			if (e == SSL_ERROR_WANT_WRITE)
				return;
			if (e == SSL_ERROR_WANT_READ) {
				write_wants_read_ = true;
				return;
			}
			ERR_clear_error();
		} else {
			const ssize_t n = ::send(upstream_fd_.get(), to_broker_.data(),
			                         to_broker_.size(), MSG_NOSIGNAL);
			if (n > 0) {
				drop_sent(static_cast<std::size_t>(n));
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				return;
		}
		// The broker is gone: what libmosquitto sent cannot reach it any more.
		drop_sent(to_broker_.size());
		broker_eof_ = true;
	}
}

void BrokerRelay::read_upstream()
{
	read_wants_write_ = false;
	char buf[16384];
	while (upstream_fd_.isValid() && !broker_eof_ && upstream_room() > 0) {
		const std::size_t want = std::min(sizeof(buf), upstream_room());
		if (ssl_) {
			ERR_clear_error();
			const int rc = SSL_read(ssl_, buf, static_cast<int>(want));
			if (rc > 0) {
				from_broker_.append(buf, static_cast<std::size_t>(rc));
				continue;
			}
			const int e = SSL_get_error(ssl_, rc);
			if (e == SSL_ERROR_WANT_READ)
				return;
			if (e == SSL_ERROR_WANT_WRITE) {
				read_wants_write_ = true;
				return;
			}
			ERR_clear_error(); // close_notify, a reset or a TLS error: the broker is
			                   // gone
		} else {
			const ssize_t n = ::recv(upstream_fd_.get(), buf, want, 0);
			if (n > 0) {
				from_broker_.append(buf, static_cast<std::size_t>(n));
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				return;
		}
		broker_eof_ = true;
	}
}

Status BrokerRelay::move_packets()
{
	if (level_ == 0)
		return {}; // the device has not said which protocol it speaks yet
	const std::string_view in = from_broker_;
	std::size_t at = 0;
	while (at < in.size() && to_device_.size() < kHigh) {
		auto len = mqtt::frame_length(in.substr(at));
		if (!len)
			return make_error(len.error().code,
			                  len.error().code == -EMSGSIZE
			                      ? "broker sent a " + len.error().message
			                      : "broker sent a malformed packet: " +
			                            len.error().message);
		if (*len == 0)
			break; // incomplete
		const std::string_view packet = in.substr(at, *len);
		auto ok = mqtt::check_from_broker(packet, level_);
		if (!ok)
			return ok;
		to_device_.append(packet);
		at += *len;
	}
	from_broker_.erase(0, at);
	return {};
}

void BrokerRelay::write_local()
{
	while (local_fd_.isValid() && !local_shut_ && !to_device_.empty()) {
		const ssize_t n =
		    ::send(local_fd_.get(), to_device_.data(), to_device_.size(), MSG_NOSIGNAL);
		if (n > 0) {
			to_device_.erase(0, static_cast<std::size_t>(n));
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		to_device_.clear(); // libmosquitto closed its socket
		local_eof_ = true;
	}
}

Status BrokerRelay::pump()
{
	if (!local_fd_.isValid() || !upstream_fd_.isValid())
		return {};
	// libmosquitto → broker. Its first packet is the CONNECT, which says whether the broker's
	// packets carry MQTT 5 properties; nothing is forwarded before it has been read.
	read_local();
	if (level_ == 0 && !to_broker_.empty()) {
		auto level = mqtt::connect_protocol_level(to_broker_);
		if (!level) {
			close_all();
			return make_error(level.error().code, "relay: " + level.error().message);
		}
		level_ = *level;
	}
	if (level_ != 0)
		write_upstream();

	// Broker → libmosquitto: only whole packets that passed the checks.
	read_upstream();
	for (;;) {
		auto s = move_packets();
		if (!s) {
			close_all();
			return s;
		}
		write_local();
		if (!to_device_.empty() || local_shut_ || local_eof_)
			break;
		auto more = mqtt::frame_length(from_broker_);
		if (!more || *more == 0)
			break;
	}

	// Pass closes on once everything before them has been delivered.
	if (broker_eof_ && to_device_.empty() && !local_shut_) {
		::shutdown(local_fd_.get(), SHUT_WR);
		local_shut_ = true;
	}
	if (local_eof_ && to_broker_.empty() && !upstream_shut_) {
		if (ssl_) {
			ERR_clear_error();
			SSL_shutdown(ssl_);
			ERR_clear_error();
		}
		::shutdown(upstream_fd_.get(), SHUT_WR);
		upstream_shut_ = true;
	}
	return {};
}

void BrokerRelay::flush(std::chrono::milliseconds timeout)
{
	const auto deadline = Clock::now() + timeout;
	while (Clock::now() < deadline) {
		if (!pump())
			return;
		if (!local_fd_.isValid() || !upstream_fd_.isValid() || upstream_shut_ || broker_eof_)
			return;
		pollfd fds[2];
		poll_fds(fds[0], fds[1]);
		(void)::poll(fds, 2, ready() ? 0 : 20);
	}
}

} // namespace lethe::publish
