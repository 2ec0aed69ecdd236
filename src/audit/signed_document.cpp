// SPDX-License-Identifier: GPL-3.0-or-later
// Device-signed JSON documents: audit exports and the retention report.
#include "lethe/audit/signed_document.h"

#include "audit/record_json.h"

namespace lethe::audit {

using nlohmann::json;

namespace {

std::string message(std::string_view domain, const json &body)
{
	std::string m(domain);
	m.push_back('\n');
	m += canonical(body);
	return m;
}

} // namespace

Result<json> sign_document(const DeviceIdentity &identity, std::string_view domain, json body)
{
	if (!body.is_object())
		return make_error(-EINVAL, "only a JSON object can be signed");
	body.erase("signature");
	auto sig = identity.sign(message(domain, body));
	if (!sig)
		return sig.error();
	body["signature"] = {{"alg", "ed25519"},
			     {"key_id", identity.key_id()},
			     {"public_key", identity.public_pem()},
			     {"sig", crypto::to_base64(*sig)}};
	return body;
}

Result<json> verify_document(std::string_view text, std::string_view domain,
			     std::string_view trusted_public_pem)
{
	json doc = json::parse(text, nullptr, false);
	if (!doc.is_object())
		return make_error(-EBADMSG, "not a JSON document (corrupted or modified)");
	auto it = doc.find("signature");
	if (it == doc.end() || !it->is_object())
		return make_error(-EBADMSG, "document is not signed");
	const json sigobj = *it;
	doc.erase("signature");
	auto trusted_id = crypto::ed25519_key_id(trusted_public_pem);
	if (!trusted_id)
		return make_error(-EINVAL, "trusted device key unusable: " +
						   trusted_id.error().message);
	for (const auto &[k, v] : sigobj.items())
		if (k != "alg" && k != "key_id" && k != "public_key" && k != "sig")
			return make_error(-EBADMSG, "unknown signature field '" + k + "'");
	if (str_field(sigobj, "alg") != "ed25519")
		return make_error(-EBADMSG, "unsupported signature algorithm");
	// The embedded public key is for convenience; it must be the trusted key (so that an
	// altered copy of it is an altered document).
	if (sigobj.contains("public_key")) {
		auto embedded = crypto::ed25519_key_id(str_field(sigobj, "public_key"));
		if (!embedded || *embedded != *trusted_id)
			return make_error(-EBADMSG, "the embedded public key is not the trusted "
						    "device key (modified)");
	}
	if (str_field(sigobj, "key_id") != *trusted_id)
		return make_error(-EPERM, "signed by device key " + str_field(sigobj, "key_id") +
						  ", not the trusted device key " + *trusted_id);
	auto sig = crypto::from_base64(str_field(sigobj, "sig"));
	if (!sig || sig->size() != 64)
		return make_error(-EBADMSG, "signature is malformed");
	const std::string m = message(domain, doc);
	if (!crypto::ed25519_verify(trusted_public_pem, m.data(), m.size(), *sig))
		return make_error(-EBADMSG, "signature does not verify: the document was "
					    "modified after signing");
	return doc;
}

Result<std::string> sign_report(const DeviceIdentity &identity, const json &report)
{
	auto doc = sign_document(identity, kReportDomain, report);
	if (!doc)
		return doc.error();
	return doc->dump(2, ' ', true, json::error_handler_t::replace) + "\n";
}

Result<json> verify_report(std::string_view signed_text, std::string_view trusted_public_pem)
{
	return verify_document(signed_text, kReportDomain, trusted_public_pem);
}

Result<std::string> make_export(const AuditLog &log, TimePoint since, TimePoint until)
{
	if (until < since)
		return make_error(-EINVAL, "--until is before --since");
	auto records = log.read(since, until);
	if (!records)
		return records.error();
	json body;
	body["format"] = "lethe-audit-export/1";
	body["since"] = format_time(since);
	body["until"] = format_time(until);
	body["generated"] = format_time(Clock::now());
	json lines = json::array();
	for (const auto &r : *records)
		lines.push_back(r.line);
	body["records"] = std::move(lines);
	body["count"] = records->size();
	auto doc = sign_document(log.identity(), kExportDomain, std::move(body));
	if (!doc)
		return doc.error();
	return doc->dump(1, '\t', true, json::error_handler_t::replace) + "\n";
}

Result<ExportCheck> verify_export(std::string_view text, std::string_view trusted_public_pem)
{
	auto body = verify_document(text, kExportDomain, trusted_public_pem);
	if (!body)
		return body.error();
	if (str_field(*body, "format") != "lethe-audit-export/1")
		return make_error(-EBADMSG, "not a Lethe audit export");
	auto recs = body->find("records");
	if (recs == body->end() || !recs->is_array())
		return make_error(-EBADMSG, "export has no records");
	ExportCheck check;
	check.key_id = *crypto::ed25519_key_id(trusted_public_pem);
	check.since = str_field(*body, "since");
	check.until = str_field(*body, "until");
	check.generated = str_field(*body, "generated");
	std::string text_lines;
	for (const auto &l : *recs) {
		if (!l.is_string())
			return make_error(-EBADMSG, "export record is not a string");
		const std::string s = l.get<std::string>();
		text_lines += s;
		text_lines.push_back('\n');
		auto r = parse_record(s);
		if (r)
			check.records.push_back(std::move(r.value()));
	}
	VerifyOptions opts;
	opts.partial = true;
	opts.head_required = false;
	check.chain = verify_log_text(text_lines, trusted_public_pem, opts);
	return check;
}

} // namespace lethe::audit
