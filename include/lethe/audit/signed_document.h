// SPDX-License-Identifier: GPL-3.0-or-later
// Device-signed JSON documents: audit exports and the signed retention report.
//
// A signed document is a JSON object with a "signature" member:
//   {"alg": "ed25519", "key_id": HEX, "public_key": PEM, "sig": BASE64}
// The signature covers "<domain>\n" followed by the canonical JSON (sorted keys, no
// whitespace, non-ASCII escaped) of the object without "signature". Verification off the
// device needs only the device's public key (STATE/device/device.pub).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/audit/audit_log.h"
#include "lethe/audit/device_identity.h"
#include "lethe/common/result.h"

namespace lethe::audit {

/// Domain tags: a signature made for one kind of document never verifies as another.
inline constexpr std::string_view kExportDomain = "lethe-audit-export-v1";
inline constexpr std::string_view kReportDomain = "lethe-retention-report-v1";

/// Sign body (an object without "signature"); returns the signed document.
[[nodiscard]] Result<nlohmann::json> sign_document(const DeviceIdentity &identity,
						   std::string_view domain, nlohmann::json body);
/// Check a signed document against a trusted device public key; returns the body (without
/// "signature"). Errors: not JSON, no signature, another key, bad signature (modified).
[[nodiscard]] Result<nlohmann::json> verify_document(std::string_view text,
						     std::string_view domain,
						     std::string_view trusted_public_pem);

/// The retention report, signed by the device (`lethe retention report --signed`).
/// report is the JSON the retention agent's `lethe retention report --json` prints; the
/// result is that object plus "signature" (pretty-printed, newline-terminated).
[[nodiscard]] Result<std::string> sign_report(const DeviceIdentity &identity,
					      const nlohmann::json &report);
[[nodiscard]] Result<nlohmann::json> verify_report(std::string_view signed_text,
						   std::string_view trusted_public_pem);

/// A signed export of the audit records whose time lies in [since, until].
[[nodiscard]] Result<std::string> make_export(const AuditLog &log, TimePoint since,
					      TimePoint until);

struct ExportCheck {
	std::string key_id;
	std::string since, until, generated;
	std::vector<Record> records;
	VerifyReport chain; ///< the chain inside the export re-verified
};
/// Verify an export off the device: signature under the trusted key, then the hash chain
/// and seals of the records it holds.
[[nodiscard]] Result<ExportCheck> verify_export(std::string_view text,
						std::string_view trusted_public_pem);

} // namespace lethe::audit
