// SPDX-License-Identifier: GPL-3.0-or-later
// The audit log's head and time mark kept outside the log (STATE/device/audit.state), signed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "audit/public_key.h"
#include "lethe/audit/audit_log.h"
#include "lethe/audit/device_identity.h"
#include "lethe/common/result.h"

namespace lethe::audit {

/// What the device remembers of its audit log in a second directory (docs/audit.md, "Device
/// audit state"): the log must reach this head, and purges run on this time mark.
struct AuditState {
	std::string key;            ///< device key id
	std::uint64_t next = 0;     ///< records sealed so far: seq of the last seal + 1
	std::string head;           ///< hash of record next-1 (genesis_hash() while next == 0)
	std::uint64_t bytes = 0;    ///< audit.log offset just after record next-1's line
	std::string created;        ///< when the identity was created (canonical UTC)
	TimePoint mark{};           ///< audit time at the last purge (never raised by the wall clock)
};

[[nodiscard]] std::filesystem::path audit_state_path(const std::filesystem::path &state_dir);

/// Parse the file's text and check its signature under `key`.
[[nodiscard]] Result<AuditState> parse_audit_state(std::string_view text, const PublicKey &key);

/// Read STATE/device/audit.state and check it under the device's key; -ENOENT if absent.
[[nodiscard]] Result<AuditState> load_audit_state(const std::filesystem::path &state_dir,
						  const DeviceIdentity &identity);

/// Sign and write it atomically (mode 0600, in the owner-only device directory).
[[nodiscard]] Status store_audit_state(const std::filesystem::path &state_dir,
				       const DeviceIdentity &identity, const AuditState &state);

} // namespace lethe::audit
