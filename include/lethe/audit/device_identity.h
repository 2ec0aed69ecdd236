// SPDX-License-Identifier: GPL-3.0-or-later
// The device's Ed25519 identity (STATE/device/device.key + device.pub), created on first use.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "lethe/common/crypto.h"
#include "lethe/common/result.h"

namespace lethe::audit {

/// The device's signing identity. It signs audit seals, purge anchors, audit exports and the
/// retention report. The private key lives in STATE/device/device.key (PKCS#8 PEM, mode 0600,
/// directory 0700); the public key in STATE/device/device.pub (SubjectPublicKeyInfo PEM, 0644)
/// is what a privacy officer copies off the device to check exports and reports.
class DeviceIdentity
{
public:
	/// Load STATE/device/device.key, creating the key pair if it does not exist yet.
	/// Creation is atomic (link(2) of a fully written temporary file), so two processes
	/// starting at once end up with the same key. Refuses a key file readable by group/others.
	[[nodiscard]] static Result<std::unique_ptr<DeviceIdentity>>
	load_or_create(const std::filesystem::path &state_dir);
	/// Load an existing identity; -ENOENT if the device has none yet.
	[[nodiscard]] static Result<std::unique_ptr<DeviceIdentity>>
	load(const std::filesystem::path &state_dir);
	/// The public key PEM of a device (STATE/device/device.pub), without the private key.
	[[nodiscard]] static Result<std::string> load_public(const std::filesystem::path &state_dir);

	~DeviceIdentity();
	DeviceIdentity(const DeviceIdentity &) = delete;
	DeviceIdentity &operator=(const DeviceIdentity &) = delete;

	[[nodiscard]] Result<crypto::Bytes> sign(const void *data, std::size_t size) const;
	[[nodiscard]] Result<crypto::Bytes> sign(std::string_view msg) const
	{
		return sign(msg.data(), msg.size());
	}
	[[nodiscard]] const std::string &public_pem() const { return public_pem_; }
	/// Hex SHA-256 of the raw public key (crypto::ed25519_key_id).
	[[nodiscard]] const std::string &key_id() const { return key_id_; }

	static std::filesystem::path key_path(const std::filesystem::path &state_dir);
	static std::filesystem::path pub_path(const std::filesystem::path &state_dir);

private:
	DeviceIdentity(std::string private_pem, std::string public_pem, std::string key_id);

	std::string private_pem_; ///< wiped in the destructor
	std::string public_pem_;
	std::string key_id_;
};

} // namespace lethe::audit
