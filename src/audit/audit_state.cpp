// SPDX-License-Identifier: GPL-3.0-or-later
// The signed device audit state (STATE/device/audit.state): format, signature, atomic write.
#include "audit/audit_state.h"

#include <cerrno>

#include <nlohmann/json.hpp>

#include "audit/record_json.h"
#include "lethe/common/atomic_file.h"

namespace lethe::audit {

using nlohmann::json;

namespace {

constexpr const char *kFormat = "lethe-audit-state/1";

std::string state_message(const json &unsigned_state)
{
	return "lethe-audit-state-v1\n" + canonical(unsigned_state);
}

Error bad(const std::string &what)
{
	return make_error(-EBADMSG, "device audit state (audit.state): " + what);
}

} // namespace

std::filesystem::path audit_state_path(const std::filesystem::path &state_dir)
{
	return state_dir / "device" / "audit.state";
}

Result<AuditState> parse_audit_state(std::string_view text, const PublicKey &key)
{
	const json j = json::parse(text, nullptr, false);
	if (!j.is_object() || canonical(j) + "\n" != text)
		return bad("malformed");
	for (const auto &[k, v] : j.items())
		if (k != "format" && k != "key" && k != "next" && k != "head" && k != "bytes" &&
		    k != "created" && k != "mark" && k != "sig")
			return bad("unknown field '" + k + "'");
	AuditState s;
	if (str_field(j, "format") != kFormat || !j.contains("next") ||
	    !j["next"].is_number_unsigned() || !j.contains("bytes") ||
	    !j["bytes"].is_number_unsigned())
		return bad("malformed");
	s.key = str_field(j, "key");
	s.next = j["next"].get<std::uint64_t>();
	s.bytes = j["bytes"].get<std::uint64_t>();
	s.head = str_field(j, "head");
	s.created = str_field(j, "created");
	auto mark = parse_time(str_field(j, "mark"));
	auto created = parse_time(s.created);
	if (s.head.size() != 64 || !mark || !created)
		return bad("malformed");
	s.mark = *mark;
	if (s.key != key.key_id())
		return bad("signed by another key (" + s.key + ") than the device key " +
			   key.key_id());
	auto sig = crypto::from_base64(str_field(j, "sig"));
	json unsigned_j = j;
	unsigned_j.erase("sig");
	if (!sig || !key.verify(state_message(unsigned_j), *sig))
		return bad("signature does not verify");
	return s;
}

Result<AuditState> load_audit_state(const std::filesystem::path &state_dir,
				    const DeviceIdentity &identity)
{
	auto text = fsutil::read_file(audit_state_path(state_dir), 65536);
	if (!text)
		return text.error();
	auto key = PublicKey::parse(identity.public_pem());
	if (!key)
		return key.error();
	return parse_audit_state(*text, *key);
}

Status store_audit_state(const std::filesystem::path &state_dir, const DeviceIdentity &identity,
			 const AuditState &state)
{
	json j;
	j["format"] = kFormat;
	j["key"] = identity.key_id();
	j["next"] = state.next;
	j["head"] = state.head;
	j["bytes"] = state.bytes;
	j["created"] = state.created;
	j["mark"] = format_time(state.mark);
	auto sig = identity.sign(state_message(j));
	if (!sig)
		return sig.error();
	j["sig"] = crypto::to_base64(*sig);
	return fsutil::write_atomic(audit_state_path(state_dir), canonical(j) + "\n", 0600);
}

} // namespace lethe::audit
