// SPDX-License-Identifier: GPL-3.0-or-later
// lethed's configuration: one TOML file parsed once into typed structs, every field checked.
//
// Limits are stated next to each field and enforced by the parser; docs/config.md is the
// reference. Unknown keys and bad values are errors that name file:line and what is allowed.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lethe/capture/capture_thread.h"
#include "lethe/capture/frame_source.h"
#include "lethe/common/result.h"

namespace lethe::config {

inline constexpr const char *kDefaultPath = "/etc/lethe/lethed.toml";

/// A rectangle in source-image pixels.
struct Rect {
	int x = 0, y = 0, width = 0, height = 0;
	bool operator==(const Rect &) const = default;
};

struct Device {
	std::string id;                          ///< required; 1..64 of [A-Za-z0-9._-]
	std::string location;                    ///< free text ≤ 128 chars, published with hits
	std::string state_dir = "/var/lib/lethe"; ///< absolute path
	std::string trust_dir = "/etc/lethe/trust"; ///< absolute path
	std::string runtime_dir = "/run/lethe";  ///< absolute path; holds control.sock
	std::string key_mode = "file";           ///< "file" | "ram" (where epoch keys live)
	bool operator==(const Device &) const = default;
};

struct Log {
	std::string levels = "*:Info"; ///< "Category:Severity,..." as LETHE_LOG_LEVELS
	bool operator==(const Log &) const = default;
};

struct Pipeline {
	unsigned workers = 2;        ///< detection/OCR threads, 1..64
	unsigned frame_queue = 4;    ///< frames waiting for a worker, 1..256 (live: drop oldest)
	unsigned event_queue = 1024; ///< read events waiting for match/publish, 16..65536 (never dropped)
	bool operator==(const Pipeline &) const = default;
};

struct Reader {
	std::string region = "us";  ///< "us" | "eu" | "br"
	unsigned top = 3;           ///< candidates per plate, 1..10
	double min_confidence = 0.3; ///< 0..1; weaker reads are ignored before tracking
	std::string models_dir;     ///< "" = the installed default
	std::string detector = "both"; ///< "classical" | "dnn" | "both" (see docs/reader.md)
	std::string ocr_model;      ///< Tesseract model NAME, `eng` or absolute PATH; "" = the region's default
	std::string verify_model;   ///< second model NAME, `eng`, absolute PATH or "none"; "" = eng unless ocr_model is eng
	std::string calibration;    ///< "" = the shipped one for the OCR model, "none", or an absolute path
	bool operator==(const Reader &) const = default;
};

struct Tracker {
	double iou_min = 0.1;           ///< 0..1: a read joins a track if IoU ≥ this …
	double max_shift = 2.0;         ///< … or its centre moved ≤ this many plate widths (0..20)
	unsigned timeout_ms = 1000;     ///< 10..60000: frame time without a sighting that ends a track
	unsigned max_missed_frames = 15; ///< 1..1000: frames without a sighting that end a track
	unsigned min_frames = 2;        ///< 1..100: sightings before a track becomes an event
	unsigned max_track_ms = 30000;  ///< 1000..600000: a track older than this is emitted (parked car)
	bool operator==(const Tracker &) const = default;
};

struct Camera {
	capture::SourceSpec source;       ///< id, kind, uri, size, fps, exposure, gain, replay
	std::optional<Rect> roi;          ///< only this part of the frame is searched
	std::vector<Rect> masks;          ///< reads centred in a mask are ignored (≤ 32)
	capture::Backoff reconnect;       ///< reconnect_min_ms 10..60000, reconnect_max_ms ..3600000
	std::string location;             ///< overrides device.location for this camera
	bool operator==(const Camera &) const = default;
};

struct Tls {
	std::string ca_file;   ///< CA bundle to verify the broker (required for TLS)
	std::string cert_file; ///< client certificate (mTLS), with key_file
	std::string key_file;
	bool operator==(const Tls &) const = default;
};

struct Broker {
	std::string name;        ///< 1..64 chars, unique
	std::string host = "127.0.0.1";
	unsigned port = 1883;    ///< 1..65535
	std::string client_id;   ///< "" = "lethe-" + device id
	unsigned mqtt_version = 5; ///< 5 or 3 (3.1.1)
	unsigned keepalive_s = 30; ///< 5..3600
	std::string username;      ///< MQTT user name (with password_file)
	std::string password_file; ///< the password is never inline; mode 0600/0400, regular file
	std::string hit_topic;   ///< where hits go; must also be in the policy's allowlist
	/// Retained device status and last will. Key absent: "lethe/<device id>/status";
	/// status_topic = "": no status messages.
	std::string status_topic;
	bool status_topic_configured = false; ///< the key was in the file (not the default)
	std::optional<Tls> tls;  ///< [broker.tls] present = TLS on
	bool operator==(const Broker &) const = default;
};

/// Unix groups whose members get each role on the control socket (audit::RoleMap is built
/// from this: audit::RoleMap::from_config). Group names: ≤ 32 per role, each 1..256 bytes
/// without control characters.
struct Roles {
	std::vector<std::string> technician{"lethe-tech"};
	std::vector<std::string> privacy_officer{"lethe-privacy"};
	std::vector<std::string> investigator{"lethe-investigator"};
	std::string organisation;               ///< agency written into every audit entry (≤ 128)
	/// Allowed purpose codes (≤ 64, each a valid_purpose_code()); empty = any well-formed code.
	std::vector<std::string> purpose_codes;
	bool operator==(const Roles &) const = default;
};

/// A well-formed purpose code: 1..32 of letters, digits, . _ : - (the rule for
/// [roles].purpose_codes and for the purpose a caller gives: audit::valid_purpose).
[[nodiscard]] bool valid_purpose_code(std::string_view code);

/// A file or directory the configuration names, and where: what check_files() checks.
struct NamedPath {
	enum class Kind {
		File,        ///< a regular file this process can read
		PrivateFile, ///< ... that group and others can neither read nor write (a secret)
		Directory,   ///< a directory this process can list
		Exists,      ///< anything that exists (a replay folder or file)
	};
	std::string key;   ///< "broker[0].tls.ca_file"
	std::string path;
	unsigned line = 0; ///< in Config::path; 0 = a default, not written in the file
	Kind kind = Kind::File;
};

struct Config {
	std::string path; ///< the file it came from
	std::vector<NamedPath> paths; ///< every file and directory it names, in file order
	unsigned reader_line = 0;     ///< reader.ocr_model's line, else [reader]'s, else 0
	Device device;
	Log log;
	Pipeline pipeline;
	Reader reader;
	Tracker tracker;
	std::vector<Camera> cameras; ///< 0..16
	std::vector<Broker> brokers; ///< 0..8
	Roles roles;

	[[nodiscard]] std::filesystem::path control_socket() const
	{
		return std::filesystem::path(device.runtime_dir) / "control.sock";
	}
};

/// How much of the file parse() reads. The default (the whole file, every rule) is what lethed
/// and `lethe config check` use.
struct ParseOptions {
	/// Read only these top-level tables ("device", "roles", ...), for a CLI tool that needs
	/// part of the file: each is checked by the same rules as in a whole parse (unknown keys,
	/// types, limits), but the other tables are neither read nor checked and nothing is
	/// required (a file with only [roles] is fine). Empty: the whole file.
	std::vector<std::string> only;
};

/// Parse TOML text. `source` names it in errors ("FILE:LINE: ..."). All errors found are
/// reported, one per line, in Error::message.
[[nodiscard]] Result<Config> parse(std::string_view text, std::string_view source,
                                   const ParseOptions &options = {});
/// Read and parse a file (a directory is refused as one). Checks the text only: see
/// check_files().
[[nodiscard]] Result<Config> load(const std::filesystem::path &path,
                                  const ParseOptions &options = {});

/// Check, as this process, what lethed would refuse at start: every file and directory the
/// configuration names (TLS files, password files (not a regular file, or readable or
/// writable by group or others: refused), the trust directory, models_dir, replay sources) and
/// the reader's OCR models and calibration. All errors at once, one per line, sorted by line,
/// each "FILE:LINE: KEY: PATH: what is wrong" (no line for a default). lethed runs it before
/// it starts, `lethe config check` after parsing.
[[nodiscard]] Status check_files(const Config &config);

} // namespace lethe::config
