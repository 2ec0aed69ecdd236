// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: outbox record decode (rows as stored, tampered or torn) and the hit-event
// JSON that is the MQTT payload (publish::event_from_json, as consumers and tests parse it).
//
// Each input becomes one outbox row — either sealed properly by Outbox::put, or written raw
// into the SQLite table as a damaged file could hold it (any epoch, times, sealed bytes) —
// which Outbox::peek must return intact or drop, never misread. The payload bytes are also
// parsed as a hit event; an event that parses must survive to_json → event_from_json.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "lethe/common/log.h"
#include "lethe/publish/event.h"
#include "lethe/publish/outbox.h"
#include "lethe/store/database.h"

namespace {

namespace fs = std::filesystem;
using lethe::publish::HitEvent;
using lethe::publish::Outbox;

struct State {
	fs::path dir;
	std::unique_ptr<lethe::publish::FileOutboxKeys> keys;
	std::unique_ptr<Outbox> outbox;
	std::unique_ptr<lethe::store::Database> raw; ///< a second connection, as damage would be
	~State()
	{
		raw.reset();
		outbox.reset();
		std::error_code ec;
		if (!dir.empty())
			fs::remove_all(dir, ec);
	}
};

State *g_state = nullptr;

State &state()
{
	static const bool opened = [] {
		g_state = new State;
		State &s = *g_state;
		(void)lethe::log::set_levels("*:Fatal");
		const fs::path base =
		    fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
		s.dir = base / ("lethe-outbox-fuzz-" + std::to_string(::getpid()));
		fs::create_directories(s.dir);
		auto k = lethe::publish::FileOutboxKeys::create(s.dir / "outbox.key");
		if (!k)
			__builtin_trap();
		s.keys = std::move(k).value();
		auto o = Outbox::open(s.dir / "outbox.db", *s.keys);
		if (!o)
			__builtin_trap();
		s.outbox = std::move(o).value();
		auto r = lethe::store::Database::open(s.dir / "outbox.db");
		if (!r)
			__builtin_trap();
		s.raw = std::move(r).value();
		// Close before OpenSSL's exit handler, registered during setup, runs.
		std::atexit([] { delete g_state; });
		return true;
	}();
	(void)opened;
	return *g_state;
}

bool same(const HitEvent &a, const HitEvent &b)
{
	const bool loc = a.location.has_value() == b.location.has_value() &&
	                 (!a.location || (a.location->latitude == b.location->latitude &&
	                                  a.location->longitude == b.location->longitude &&
	                                  a.location->accuracy_m == b.location->accuracy_m));
	return loc && a.event_id == b.event_id && a.device_id == b.device_id &&
	       a.camera_id == b.camera_id && a.time == b.time && a.plate == b.plate &&
	       a.confidence == b.confidence && a.region == b.region && a.list_id == b.list_id &&
	       a.category == b.category && a.match_type == b.match_type &&
	       a.list_region == b.list_region && a.agency_ref == b.agency_ref &&
	       a.reason == b.reason && a.stale == b.stale && a.crop_jpeg == b.crop_jpeg &&
	       a.policy_id == b.policy_id && a.policy_version == b.policy_version;
}

void check_event(std::string_view payload)
{
	auto e = lethe::publish::event_from_json(payload);
	if (!e)
		return;
	auto again = lethe::publish::event_from_json(lethe::publish::to_json(*e));
	if (!again || !same(*e, *again))
		__builtin_trap(); // an event the parser accepts must mean the same after a round
		                  // trip
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	auto &s = state();
	check_event(std::string_view(reinterpret_cast<const char *>(data), size));

	FuzzedDataProvider in(data, size);
	const auto mode = in.ConsumeIntegral<std::uint8_t>();
	const std::string event_id = in.ConsumeRandomLengthString(64);
	const std::string topic = in.ConsumeRandomLengthString(64);
	const auto epoch = in.ConsumeIntegral<std::int64_t>();
	const auto created_ms = in.ConsumeIntegral<std::int64_t>();
	const auto expires_ms = in.ConsumeIntegral<std::int64_t>();
	const std::string payload = in.ConsumeRemainingBytesAsString();
	const auto now = std::chrono::system_clock::now();

	const bool sealed_properly = (mode & 1) != 0;
	if (sealed_properly) {
		if (!s.outbox->put(event_id, topic, payload, now, std::chrono::hours(1)))
			__builtin_trap();
		if (mode & 2) {
			// A torn or bit-rotten record: one byte of the sealed blob changed.
			std::int64_t seq = 0;
			lethe::crypto::Bytes blob;
			{
				auto sel = s.raw->prepare("SELECT seq, sealed FROM outbox");
				if (!sel)
					__builtin_trap();
				auto row = sel->step();
				if (!row || !*row)
					__builtin_trap();
				seq = sel->column_int64(0);
				blob = sel->column_blob(1);
			}
			if (blob.empty())
				__builtin_trap();
			blob[static_cast<std::size_t>(mode >> 2) % blob.size()] ^= 0x01;
			auto upd = s.raw->prepare("UPDATE outbox SET sealed = ? WHERE seq = ?");
			if (!upd || !upd->bind_blob(1, blob).bind(2, seq).run())
				__builtin_trap();
		}
	} else {
		auto st =
		    s.raw->prepare("INSERT OR IGNORE INTO outbox(event_id, topic, epoch, sealed,"
		                   " created_ms, expires_ms) VALUES(?,?,?,?,?,?)");
		if (!st)
			__builtin_trap();
		st->bind(1, std::string_view(event_id))
		    .bind(2, std::string_view(topic))
		    .bind(3, epoch)
		    .bind_blob(4, payload.data(), payload.size())
		    .bind(5, created_ms)
		    .bind(6, expires_ms);
		if (!st->run())
			__builtin_trap();
	}

	auto items = s.outbox->peek(4, now);
	if (!items)
		__builtin_trap();
	if (sealed_properly && !(mode & 2) && items->size() != 1)
		__builtin_trap(); // an intact, unexpired record must come back
	for (const auto &it : *items) {
		// Only what was sealed under the device's key may come back, and only intact.
		if (!sealed_properly || (mode & 2) || it.event_id != event_id ||
		    it.topic != topic ||
		    std::string(it.payload.begin(), it.payload.end()) != payload)
			__builtin_trap();
		check_event(std::string_view(reinterpret_cast<const char *>(it.payload.data()),
		                             it.payload.size()));
	}
	(void)s.outbox->remove(event_id, topic);
	(void)s.outbox->purge_expired(now);
	if (!s.raw->exec("DELETE FROM outbox"))
		__builtin_trap();
	return 0;
}
