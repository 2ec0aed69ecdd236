// SPDX-License-Identifier: GPL-3.0-or-later
// Audit log: every byte flip, deletion, reordering and truncation detected, and where.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <thread>

#include <nlohmann/json.hpp>

#include "lethe/audit/audit_log.h"
#include "lethe/audit/device_identity.h"
#include "lethe/audit/roles.h"
#include "lethe/retention/clock.h"
#include "support/temp_dir.h"

namespace lethe::audit {
namespace {

using test::read_file;
using test::TempDir;
using test::write_file;

AuditEntry E(std::string action, std::string actor = {}, AuditTarget target = {})
{
	AuditEntry e;
	e.action = std::move(action);
	e.actor = std::move(actor);
	e.target = std::move(target);
	return e;
}

/// A log of `entries` entries with `action` in dir (sealed every `seal_every` and at close).
AuditLogOptions write_log(const TempDir &dir, int entries, std::uint32_t seal_every,
			  const std::string &action)
{
	AuditLogOptions opts;
	opts.state_dir = dir.path();
	opts.seal_every = seal_every;
	auto log = AuditLog::open(opts);
	EXPECT_TRUE(log) << log.error().message;
	for (int i = 0; log && i < entries; ++i)
		EXPECT_TRUE((*log)->append(E(action)));
	return opts;
}

std::vector<std::string> split_lines(const std::string &text)
{
	std::vector<std::string> out;
	std::size_t pos = 0;
	while (pos < text.size()) {
		const std::size_t nl = text.find('\n', pos);
		out.push_back(text.substr(pos, nl - pos));
		pos = nl + 1;
	}
	return out;
}

std::string join_lines(const std::vector<std::string> &lines)
{
	std::string out;
	for (const auto &l : lines)
		out += l + "\n";
	return out;
}

bool mentions(const VerifyReport &r, const std::string &what)
{
	for (const auto &p : r.problems)
		if (p.message.find(what) != std::string::npos)
			return true;
	return false;
}

bool problem_at_line(const VerifyReport &r, std::size_t line)
{
	for (const auto &p : r.problems)
		if (p.line == line)
			return true;
	return false;
}

/// A sample log: entries of every kind, sealed every 3 entries and at close.
class SampleLog : public ::testing::Test
{
protected:
	void SetUp() override
	{
		{
			AuditLogOptions opts;
			opts.state_dir = dir_.path();
			opts.seal_every = 3;
			auto log = AuditLog::open(opts);
			ASSERT_TRUE(log) << log.error().message;
			for (int i = 0; i < 5; ++i) {
				AuditEntry e;
				e.actor = "alice";
				e.role = "investigator";
				e.organisation = "Example PD";
				e.action = i % 3 == 0 ? "query" : (i % 3 == 1 ? "publish" : "purge");
				if (i % 3 == 0)
					e.target = AuditTarget::digest(std::string(64, 'a' + i % 6));
				else if (i % 3 == 1)
					e.target = AuditTarget::hit_plate("HIT" + std::to_string(i));
				e.purpose = "investigation";
				e.case_number = "2026-" + std::to_string(100 + i);
				e.result_count = i;
				e.recipient = i % 3 == 1 ? "fusion-center" : "";
				if (i % 3 == 1)
					e.event = "6f1c2a9e-4b7d-4c1a-9e2f-00000000000" + std::to_string(i);
				if (i % 2 == 0)
					e.uid = 1000 + i;
				e.outcome = i == 4 ? Outcome::Refused : Outcome::Success;
				e.policy_hash = std::string(64, 'f');
				if (i % 3 == 2)
					e.counts["nonhit_digest"] = 10 * i;
				ASSERT_TRUE((*log)->append(std::move(e)));
			}
			pub_ = (*log)->identity().public_pem();
		} // closing seals
		text_ = read_file(AuditLog::log_path(dir_.path()));
		head_ = read_file(AuditLog::head_path(dir_.path()));
		state_ = read_file(dir_.path() / "device" / "audit.state");
		lines_ = split_lines(text_);
	}

	/// Verify as on the device: with its head, its audit state, and its identity.
	VerifyReport verify(const std::string &text, std::optional<std::string> head = {})
	{
		VerifyOptions opts;
		opts.head_line = head ? *head : head_;
		opts.state_text = state_;
		opts.genesis_required = true;
		return verify_log_text(text, pub_, opts);
	}

	TempDir dir_;
	std::string pub_, text_, head_, state_;
	std::vector<std::string> lines_;
};

TEST_F(SampleLog, CleanLogVerifies)
{
	auto r = verify(text_);
	EXPECT_TRUE(r.ok()) << r.problems.front().message;
	EXPECT_EQ(r.entries, 5u);
	EXPECT_EQ(r.seals, 2u);
	EXPECT_EQ(r.unsealed, 0u);
	EXPECT_EQ(r.records, lines_.size() - 1); // the genesis line is not a record of the chain
	EXPECT_NE(lines_[0].find("\"kind\":\"genesis\""), std::string::npos);
	// The log on disk verifies through the AuditLog too.
	AuditLogOptions opts;
	opts.state_dir = dir_.path();
	auto log = AuditLog::open(opts);
	ASSERT_TRUE(log);
	EXPECT_TRUE((*log)->verify().ok());
}

TEST_F(SampleLog, EveryByteFlipIsDetectedAndLocated)
{
	// Line (1-based) of each byte.
	std::vector<std::size_t> line_of(text_.size());
	std::size_t line = 1;
	for (std::size_t i = 0; i < text_.size(); ++i) {
		line_of[i] = line;
		if (text_[i] == '\n')
			++line;
	}
	std::size_t undetected = 0, unlocated = 0;
	// Every byte flipped once; the bit flipped cycles so that digits, letters' case, hex
	// digits and the high bit are all exercised.
	static constexpr std::uint8_t kMasks[] = {0x01, 0x20, 0x80, 0x04, 0x10};
	{
		for (std::size_t i = 0; i < text_.size(); ++i) {
			const std::uint8_t mask = kMasks[i % 5];
			std::string t = text_;
			t[i] = static_cast<char>(static_cast<std::uint8_t>(t[i]) ^ mask);
			auto r = verify(t);
			if (r.ok()) {
				++undetected;
				ADD_FAILURE() << "flip 0x" << std::hex << int(mask) << std::dec
					      << " at byte " << i << " (line " << line_of[i]
					      << ") not detected";
				continue;
			}
			if (!problem_at_line(r, line_of[i]) && !problem_at_line(r, line_of[i] + 1))
				++unlocated;
		}
	}
	EXPECT_EQ(undetected, 0u);
	EXPECT_EQ(unlocated, 0u);
}

TEST_F(SampleLog, EveryByteFlipOfTheHeadIsDetected)
{
	for (std::size_t i = 0; i < head_.size(); ++i) {
		std::string h = head_;
		h[i] = static_cast<char>(h[i] ^ 0x01);
		EXPECT_FALSE(verify(text_, h).ok()) << "head byte " << i;
	}
}

TEST_F(SampleLog, EveryDeletionIsDetectedAndLocated)
{
	for (std::size_t i = 0; i < lines_.size(); ++i) {
		auto l = lines_;
		l.erase(l.begin() + static_cast<long>(i));
		auto r = verify(join_lines(l));
		ASSERT_FALSE(r.ok()) << "deleting line " << i + 1;
		if (i + 1 == lines_.size())
			EXPECT_TRUE(mentions(r, "truncated")) << r.problems.front().message;
		else if (i == 0)
			EXPECT_TRUE(mentions(r, "does not start with the device's genesis record"))
				<< r.problems.front().message;
		else // line i + 1 holds record #i-1, after the genesis line
			EXPECT_TRUE(mentions(r, "record #" + std::to_string(i - 1) +
							" missing before this one (deleted)"))
				<< "line " << i + 1 << ": " << r.problems.front().message;
	}
	// A block of records in the middle.
	auto l = lines_;
	l.erase(l.begin() + 2, l.begin() + 5);
	auto r = verify(join_lines(l));
	EXPECT_TRUE(mentions(r, "records #1..#3 missing")) << r.problems.front().message;
	EXPECT_TRUE(problem_at_line(r, 3));
}

TEST_F(SampleLog, EveryReorderingIsDetected)
{
	for (std::size_t i = 0; i + 1 < lines_.size(); ++i) {
		auto l = lines_;
		std::swap(l[i], l[i + 1]);
		auto r = verify(join_lines(l));
		ASSERT_FALSE(r.ok()) << "swapping lines " << i + 1 << " and " << i + 2;
		EXPECT_TRUE(mentions(r, i == 0 ? "genesis" : "out of order"))
			<< r.problems.front().message;
		EXPECT_TRUE(problem_at_line(r, i + 1) || problem_at_line(r, i + 2));
	}
	// Moving a record far away.
	auto l = lines_;
	std::string moved = l[1];
	l.erase(l.begin() + 1);
	l.push_back(moved);
	EXPECT_FALSE(verify(join_lines(l)).ok());
}

TEST_F(SampleLog, TruncationIsDetectedThroughTheSealedHead)
{
	for (std::size_t keep = 0; keep < lines_.size(); ++keep) {
		std::vector<std::string> l(lines_.begin(), lines_.begin() + static_cast<long>(keep));
		auto r = verify(join_lines(l));
		ASSERT_FALSE(r.ok()) << "keeping " << keep << " lines";
		EXPECT_TRUE(mentions(r, "log truncated")) << r.problems.front().message;
	}
	// Cut mid-line.
	auto r = verify(text_.substr(0, text_.size() - 10));
	EXPECT_TRUE(mentions(r, "incomplete record")) << r.problems.front().message;
	// Removing the head as well is noticed: it must exist once the log has seals.
	VerifyOptions no_head;
	EXPECT_FALSE(verify_log_text(text_, pub_, no_head).ok());
}

TEST_F(SampleLog, RewrittenChainIsCaughtBySeals)
{
	// An attacker without the device key edits record #1 and recomputes every hash after it.
	auto l = lines_;
	std::string prev = genesis_hash();
	bool edited = false;
	for (auto &line : l) {
		auto j = nlohmann::json::parse(line);
		if (j["kind"] == "anchor" || j["kind"] == "genesis")
			continue;
		if (j["seq"] == 1 && j["kind"] == "entry") {
			j["target"]["value"] = "HIT999";
			edited = true;
		}
		j["prev"] = prev;
		j.erase("hash");
		const std::string h = record_hash(prev, j.dump(-1, ' ', true));
		j["hash"] = h;
		line = j.dump(-1, ' ', true);
		prev = h;
	}
	ASSERT_TRUE(edited);
	auto r = verify(join_lines(l));
	ASSERT_FALSE(r.ok());
	EXPECT_TRUE(mentions(r, "seal invalid")) << r.problems.front().message;
}

TEST_F(SampleLog, ForeignKeyDoesNotVerify)
{
	auto other = crypto::ed25519_generate();
	ASSERT_TRUE(other);
	VerifyOptions opts;
	opts.head_line = head_;
	EXPECT_FALSE(verify_log_text(text_, other->public_pem, opts).ok());
}

TEST_F(SampleLog, PurgeLeavesASignedAnchorAndStillVerifies)
{
	AuditLogOptions opts;
	opts.state_dir = dir_.path();
	auto log = AuditLog::open(opts);
	ASSERT_TRUE(log);
	policy::Policy p = policy::strictest();
	retention::ManualClock clock(Clock::now(), std::chrono::steady_clock::now());
	auto purge = [&] { return (*log)->purge(p, clock.wall(), clock.monotonic()); };
	// No signed policy: nothing is purged, however short the built-in retention is.
	auto none = (*log)->purge(p, clock.wall() + std::chrono::hours(24),
				  clock.monotonic() + std::chrono::hours(24));
	ASSERT_TRUE(none);
	EXPECT_EQ(none->purged, 0u);

	p.hash = std::string(64, 'b');
	p.retention.audit_log = std::chrono::seconds(60);
	p.retention.audit_log_minimum = std::chrono::hours(2);
	// The minimum wins over a shorter audit_log: an hour from now nothing is old enough.
	clock.advance(std::chrono::hours(1));
	auto kept = purge();
	ASSERT_TRUE(kept);
	EXPECT_EQ(kept->purged, 0u);

	p.retention.audit_log_minimum = std::chrono::seconds(0);
	clock.advance(std::chrono::hours(1));
	auto stats = purge();
	ASSERT_TRUE(stats) << stats.error().message;
	EXPECT_GT(stats->purged, 0u);
	auto r = (*log)->verify();
	EXPECT_TRUE(r.ok()) << r.problems.front().message;
	EXPECT_EQ(r.purged, stats->purged);

	const std::string text = read_file(AuditLog::log_path(dir_.path()));
	auto lines = split_lines(text);
	ASSERT_FALSE(lines.empty());
	EXPECT_NE(lines[0].find("\"kind\":\"anchor\""), std::string::npos);
	// The purged plates are gone from the file; the purge is itself recorded.
	EXPECT_EQ(text.find("HIT1"), std::string::npos);
	EXPECT_NE(text.find("audit.purge"), std::string::npos);
	const std::string head = read_file(AuditLog::head_path(dir_.path()));

	// Removing the anchor, or any byte of it changed, is detected.
	auto without = lines;
	without.erase(without.begin());
	auto r2 = verify(join_lines(without), head);
	EXPECT_FALSE(r2.ok());
	EXPECT_TRUE(mentions(r2, "without a purge anchor")) << r2.problems.front().message;
	for (std::size_t i = 0; i < lines[0].size(); ++i) {
		auto l = lines;
		l[0][i] = static_cast<char>(l[0][i] ^ 0x01);
		EXPECT_FALSE(verify(join_lines(l), head).ok()) << "anchor byte " << i;
	}
	// A second purge keeps a cumulative count.
	ASSERT_TRUE((*log)->append(E("status")));
	clock.advance(std::chrono::hours(1));
	auto again = purge();
	ASSERT_TRUE(again);
	auto r3 = (*log)->verify();
	EXPECT_TRUE(r3.ok()) << r3.problems.front().message;
	EXPECT_EQ(r3.purged, stats->purged + again->purged);
}

TEST(AuditLog, ConcurrentWritersKeepOneChain)
{
	TempDir dir;
	AuditLogOptions opts;
	opts.state_dir = dir.path();
	opts.seal_every = 16;
	auto a = AuditLog::open(opts);
	auto b = AuditLog::open(opts); // a second "process": its own cache and lock
	ASSERT_TRUE(a && b);
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; ++t)
		threads.emplace_back([&, t] {
			AuditLog &log = t % 2 ? **a : **b;
			for (int i = 0; i < 25; ++i)
				EXPECT_TRUE(log.append(E("status", "t" + std::to_string(t))));
		});
	for (auto &th : threads)
		th.join();
	a->reset();
	b->reset();
	auto log = AuditLog::open(opts);
	ASSERT_TRUE(log);
	auto r = (*log)->verify();
	EXPECT_TRUE(r.ok()) << r.problems.front().message;
	EXPECT_EQ(r.entries, 100u);
	EXPECT_EQ(r.unsealed, 0u);
}

TEST(AuditLog, InterruptedWriteIsCutOffAndRecorded)
{
	TempDir dir;
	AuditLogOptions opts;
	opts.state_dir = dir.path();
	{
		auto log = AuditLog::open(opts);
		ASSERT_TRUE(log);
		ASSERT_TRUE((*log)->append(E("status")));
	}
	{
		std::string text = read_file(AuditLog::log_path(dir.path()));
		write_file(AuditLog::log_path(dir.path()), text + "{\"action\":\"sta");
	}
	auto log = AuditLog::open(opts);
	ASSERT_TRUE(log);
	auto r = (*log)->verify();
	EXPECT_TRUE(r.ok()) << r.problems.front().message;
	const std::string text = read_file(AuditLog::log_path(dir.path()));
	EXPECT_NE(text.find("audit.recovered"), std::string::npos);
}

TEST(AuditLog, SealsByCountAndInterval)
{
	TempDir dir;
	AuditLogOptions opts;
	opts.state_dir = dir.path();
	opts.seal_every = 3;
	opts.seal_interval = std::chrono::seconds(3600);
	auto log = AuditLog::open(opts);
	ASSERT_TRUE(log);
	for (int i = 0; i < 7; ++i)
		ASSERT_TRUE((*log)->append(E("status")));
	auto r = (*log)->verify();
	EXPECT_EQ(r.seals, 2u);
	EXPECT_EQ(r.unsealed, 1u);
	ASSERT_TRUE((*log)->tick()); // interval not reached: no seal
	EXPECT_EQ((*log)->verify().seals, 2u);

	TempDir dir2;
	opts.state_dir = dir2.path();
	opts.seal_every = 1000;
	opts.seal_interval = std::chrono::seconds(0);
	auto log2 = AuditLog::open(opts);
	ASSERT_TRUE(log2);
	ASSERT_TRUE((*log2)->append(E("status")));
	EXPECT_EQ((*log2)->verify().unsealed, 0u); // interval 0: sealed at once
}

TEST(AuditLog, DigestTargetsMustBeHex)
{
	TempDir dir;
	AuditLogOptions opts;
	opts.state_dir = dir.path();
	auto log = AuditLog::open(opts);
	ASSERT_TRUE(log);
	EXPECT_FALSE((*log)->append(E("query", {}, AuditTarget::digest("AB12CDE"))));
	EXPECT_FALSE((*log)->append(E("query", {}, AuditTarget::digest(std::string(64, 'G')))));
	EXPECT_FALSE((*log)->append(E("")));
	EXPECT_TRUE((*log)->append(E("query", {}, AuditTarget::digest(std::string(64, 'c')))));
	EXPECT_EQ(read_file(AuditLog::log_path(dir.path())).find("AB12CDE"), std::string::npos);
}

TEST(AuditLog, UidAndEventAreStoredAndReadBack)
{
	TempDir dir;
	AuditLogOptions opts;
	opts.state_dir = dir.path();
	auto log = AuditLog::open(opts);
	ASSERT_TRUE(log);
	AuditEntry e = E("publish", "lethed", AuditTarget::hit_plate("7ABC123"));
	e.uid = 998;
	e.event = "0b5d7c7e-8d0e-4a54-a5f4-3c2f1d6e9a10";
	ASSERT_TRUE((*log)->append(e));
	ASSERT_TRUE((*log)->append(E("status", "tech")));
	auto recs = (*log)->read(TimePoint{}, Clock::now() + std::chrono::hours(1));
	ASSERT_TRUE(recs);
	ASSERT_EQ(recs->size(), 2u);
	EXPECT_EQ((*recs)[0].entry.uid, 998);
	EXPECT_EQ((*recs)[0].entry.event, e.event);
	EXPECT_FALSE((*recs)[1].entry.uid.has_value());
	EXPECT_TRUE((*recs)[1].entry.event.empty());
	EXPECT_TRUE((*log)->verify().ok());
	// A uid that is not an integer is not a valid record.
	std::string text = read_file(AuditLog::log_path(dir.path()));
	const auto at = text.find("\"uid\":998");
	ASSERT_NE(at, std::string::npos);
	text.replace(at, 11, "\"uid\":\"998\"");
	const auto report = verify_log_text(text, (*log)->identity().public_pem(), {});
	EXPECT_FALSE(report.ok());
}

TEST(AuditLog, LogDeletedButHeadKeptIsReported)
{
	TempDir dir;
	AuditLogOptions opts;
	opts.state_dir = dir.path();
	{
		auto log = AuditLog::open(opts);
		ASSERT_TRUE(log);
		ASSERT_TRUE((*log)->append(E("status")));
	}
	const std::string head = read_file(AuditLog::head_path(dir.path()));
	auto pub = DeviceIdentity::load_public(dir.path());
	ASSERT_TRUE(pub);
	VerifyOptions o;
	o.head_line = head;
	auto r = verify_log_text("", *pub, o);
	EXPECT_FALSE(r.ok());
	EXPECT_TRUE(mentions(r, "log truncated"));
}

// Issue 15.2 (a): cut the log after an earlier seal and put that seal in audit.head.
TEST(AuditLogAttacks, CutAtAnEarlierSealWithThatSealAsHeadIsDetected)
{
	TempDir dir;
	const auto opts = write_log(dir, 7, 3, "publish");
	auto lines = split_lines(read_file(AuditLog::log_path(dir.path())));
	std::size_t first_seal = 0;
	while (first_seal < lines.size() &&
	       lines[first_seal].find("\"kind\":\"seal\"") == std::string::npos)
		++first_seal;
	ASSERT_LT(first_seal + 2, lines.size());
	const std::vector<std::string> cut(lines.begin(),
					   lines.begin() + static_cast<long>(first_seal) + 1);
	write_file(AuditLog::log_path(dir.path()), join_lines(cut));
	write_file(AuditLog::head_path(dir.path()), lines[first_seal] + "\n");
	auto pub = DeviceIdentity::load_public(dir.path());
	ASSERT_TRUE(pub);
	// The chain, its seals and audit.head alone accept the cut log: that was the attack.
	VerifyOptions old;
	old.head_line = lines[first_seal] + "\n";
	ASSERT_TRUE(verify_log_text(join_lines(cut), *pub, old).ok());

	auto log = AuditLog::open(opts);
	ASSERT_TRUE(log);
	auto r = (*log)->verify();
	ASSERT_FALSE(r.ok());
	EXPECT_TRUE(mentions(r, "log truncated")) << r.problems.front().message;
	EXPECT_TRUE(mentions(r, "device's audit state")) << r.problems.front().message;
	// The device carries on past the cut: its audit state is not advanced along the cut
	// chain, so the log keeps failing even once it is longer than it was.
	for (int i = 0; i < 12; ++i)
		ASSERT_TRUE((*log)->append(E("status")));
	ASSERT_TRUE((*log)->seal());
	auto again = (*log)->verify();
	ASSERT_FALSE(again.ok());
	EXPECT_TRUE(mentions(again, "differs from the device's audit state"))
		<< again.problems.front().message;
}

// Issue 15.2 (b): delete audit.log and audit.head (and the device audit state).
TEST(AuditLogAttacks, DeletedLogIsDetectedWhenTheDeviceHasAnIdentity)
{
	for (const bool state_too : {false, true}) {
		SCOPED_TRACE(state_too ? "log, head and audit.state deleted" : "log and head deleted");
		TempDir dir;
		const auto opts = write_log(dir, 3, 64, "publish");
		std::filesystem::remove(AuditLog::log_path(dir.path()));
		std::filesystem::remove(AuditLog::head_path(dir.path()));
		if (state_too)
			std::filesystem::remove(dir.path() / "device" / "audit.state");

		auto log = AuditLog::open(opts); // the device still starts...
		ASSERT_TRUE(log) << log.error().message;
		auto r = (*log)->verify(); // ... but its log does not verify
		ASSERT_FALSE(r.ok());
		EXPECT_TRUE(mentions(r, "missing or empty but the device has an identity"))
			<< r.problems.front().message;
		EXPECT_EQ(r.records, 0u);
		// Records written afterwards (the verify itself is recorded) start no new chain.
		ASSERT_TRUE((*log)->append(E("audit.verify")));
		ASSERT_TRUE((*log)->seal());
		auto after = (*log)->verify();
		ASSERT_FALSE(after.ok());
		EXPECT_TRUE(mentions(after, state_too ? "audit state (STATE/device/audit.state) missing"
						      : "log truncated"))
			<< after.problems.front().message;
		EXPECT_TRUE(mentions(after, "does not start with the device's genesis record"))
			<< after.problems.front().message;
	}
}

// Issue 15.2 (c): `faketime -f '+400d'` on lethed purged the audit log at once.
TEST(AuditLogAttacks, ClockSetForwardPurgesNothingEarly)
{
	TempDir dir;
	AuditLogOptions opts;
	opts.state_dir = dir.path();
	auto opened = AuditLog::open(opts);
	ASSERT_TRUE(opened);
	std::unique_ptr<AuditLog> log = std::move(opened).value();
	for (int i = 0; i < 12; ++i)
		ASSERT_TRUE(log->append(E(i == 3 || i == 7 ? "publish" : "query")));
	policy::Policy p = policy::strictest();
	p.hash = std::string(64, 'b');
	p.retention.audit_log = std::chrono::hours(24);
	p.retention.audit_log_minimum = std::chrono::hours(24 * 7); // the floor
	retention::ManualClock clock(Clock::now(), std::chrono::steady_clock::now());
	auto purge = [&] { return log->purge(p, clock.wall(), clock.monotonic()); };
	ASSERT_TRUE(purge());
	clock.set_wall(clock.wall() + std::chrono::hours(24 * 400));
	clock.advance(std::chrono::seconds(1));
	auto jumped = purge();
	ASSERT_TRUE(jumped) << jumped.error().message;
	EXPECT_EQ(jumped->purged, 0u);
	auto r = log->verify();
	EXPECT_TRUE(r.ok()) << r.problems.front().message;
	EXPECT_EQ(r.entries, 12u);

	// A restart with the clock still forward (and a monotonic clock that is faked too): the
	// audit time resumes from its persisted mark, not from the wall clock.
	log.reset();
	auto reopened = AuditLog::open(opts);
	ASSERT_TRUE(reopened);
	log = std::move(reopened).value();
	retention::ManualClock later(clock.wall(),
				     std::chrono::steady_clock::now() + std::chrono::hours(24 * 400));
	auto restarted = log->purge(p, later.wall(), later.monotonic());
	ASSERT_TRUE(restarted);
	EXPECT_EQ(restarted->purged, 0u);
	// Six days of real (monotonic) time: older than audit_log, younger than the minimum.
	later.advance(std::chrono::hours(24 * 6));
	auto six = log->purge(p, later.wall(), later.monotonic());
	ASSERT_TRUE(six);
	EXPECT_EQ(six->purged, 0u);
	const std::string text = read_file(AuditLog::log_path(dir.path()));
	std::size_t publishes = 0;
	for (std::size_t at = 0; (at = text.find("\"action\":\"publish\"", at)) != std::string::npos;
	     ++at)
		++publishes;
	EXPECT_EQ(publishes, 2u);
	// Past the minimum by the monotonic clock: now they go, and the log still verifies.
	later.advance(std::chrono::hours(24 * 2));
	auto eight = log->purge(p, later.wall(), later.monotonic());
	ASSERT_TRUE(eight) << eight.error().message;
	EXPECT_GT(eight->purged, 0u);
	auto r2 = log->verify();
	EXPECT_TRUE(r2.ok()) << r2.problems.front().message;
}

// Logs written before genesis records existed are upgraded once, at the next open.
TEST(AuditLog, LogWithoutGenesisIsUpgradedOnceAtOpen)
{
	TempDir dir;
	const auto opts = write_log(dir, 4, 3, "status");
	// What the previous release left: no genesis line, no device audit state.
	auto lines = split_lines(read_file(AuditLog::log_path(dir.path())));
	lines.erase(lines.begin());
	const std::string old_text = join_lines(lines);
	write_file(AuditLog::log_path(dir.path()), old_text);
	std::filesystem::remove(dir.path() / "device" / "audit.state");
	{
		auto log = AuditLog::open(opts);
		ASSERT_TRUE(log);
		auto r = (*log)->verify();
		EXPECT_TRUE(r.ok()) << r.problems.front().message;
		EXPECT_EQ(r.entries, 4u);
	}
	const std::string upgraded = read_file(AuditLog::log_path(dir.path()));
	EXPECT_NE(upgraded.find("\"upgraded\":true"), std::string::npos);
	EXPECT_EQ(upgraded.substr(upgraded.find('\n') + 1, old_text.size()), old_text);
	EXPECT_TRUE(std::filesystem::exists(dir.path() / "device" / "audit.state"));
	// Only once: a log that has its genesis and lost its audit state is not re-upgraded.
	std::filesystem::remove(dir.path() / "device" / "audit.state");
	auto log = AuditLog::open(opts);
	ASSERT_TRUE(log);
	EXPECT_FALSE(std::filesystem::exists(dir.path() / "device" / "audit.state"));
	EXPECT_FALSE((*log)->verify().ok());
}

TEST(Times, FormatAndParseRoundTrip)
{
	const auto t = TimePoint(std::chrono::milliseconds(1764170645123));
	EXPECT_EQ(format_time(t), "2025-11-26T15:24:05.123Z");
	auto p = parse_time("2025-11-26T15:24:05.123Z");
	ASSERT_TRUE(p);
	EXPECT_EQ(*p, t);
	auto d = parse_time("2025-11-26");
	ASSERT_TRUE(d);
	EXPECT_EQ(format_time(*d), "2025-11-26T00:00:00.000Z");
	EXPECT_EQ(*parse_time("24h", t), t - std::chrono::hours(24));
	EXPECT_EQ(*parse_time("now-30min", t), t - std::chrono::minutes(30));
	EXPECT_EQ(*parse_time("1d12h", t), t - std::chrono::hours(36));
	// "30m": minutes or months? Refused with both readings, as in a policy.
	auto ambiguous = parse_time("now-30m", t);
	ASSERT_FALSE(ambiguous);
	EXPECT_NE(ambiguous.error().message.find("ambiguous unit \"m\": write \"30min\""),
		  std::string::npos)
		<< ambiguous.error().message;
	EXPECT_EQ(*parse_time("@1764170645"), TimePoint(std::chrono::seconds(1764170645)));
	EXPECT_FALSE(parse_time("yesterday"));
	EXPECT_FALSE(parse_time("2025-13-01"));
	EXPECT_FALSE(parse_time("2025-11-26T15:24:05"));
}

TEST(DeviceIdentity, CreatedOnceOwnerOnlyAndStable)
{
	TempDir dir;
	auto a = DeviceIdentity::load_or_create(dir.path());
	ASSERT_TRUE(a) << a.error().message;
	struct stat st {};
	ASSERT_EQ(::stat(DeviceIdentity::key_path(dir.path()).c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600u);
	ASSERT_EQ(::stat((dir.path() / "device").c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 077, 0u);
	auto b = DeviceIdentity::load_or_create(dir.path());
	ASSERT_TRUE(b);
	EXPECT_EQ((*a)->key_id(), (*b)->key_id());
	EXPECT_EQ(read_file(DeviceIdentity::pub_path(dir.path())), (*a)->public_pem());
	auto sig = (*a)->sign("message");
	ASSERT_TRUE(sig);
	EXPECT_TRUE(crypto::ed25519_verify((*b)->public_pem(), "message", 7, *sig));

	// A key readable by others is refused; a device.pub that does not match is refused.
	::chmod(DeviceIdentity::key_path(dir.path()).c_str(), 0644);
	EXPECT_FALSE(DeviceIdentity::load(dir.path()));
	::chmod(DeviceIdentity::key_path(dir.path()).c_str(), 0600);
	auto other = crypto::ed25519_generate();
	write_file(DeviceIdentity::pub_path(dir.path()), other->public_pem);
	EXPECT_FALSE(DeviceIdentity::load(dir.path()));
}

} // namespace
} // namespace lethe::audit
