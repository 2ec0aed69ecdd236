// SPDX-License-Identifier: GPL-3.0-or-later
// Tracker: one event per vehicle, consensus text better than any single frame, track ends.
#include <random>

#include <gtest/gtest.h>

#include "lethe/track/tracker.h"

namespace {

using namespace lethe::track;
using namespace std::chrono_literals;

const SteadyTime t0 = SteadyTime(std::chrono::hours(1));

Sighting sighting(cv::Rect box, std::vector<Candidate> c)
{
	Sighting s;
	s.box = box;
	s.candidates = std::move(c);
	s.crop = cv::Mat(box.height, box.width, CV_8UC3, cv::Scalar::all(128));
	return s;
}

FrameReads frame(std::uint64_t seq, std::vector<Sighting> s, std::string cam = "cam0")
{
	FrameReads f;
	f.camera_id = std::move(cam);
	f.sequence = seq;
	f.monotonic = t0 + std::chrono::milliseconds(40 * seq); // 25 fps
	f.wall = std::chrono::system_clock::now();
	f.sightings = std::move(s);
	return f;
}

TEST(Vote, CharacterVoteBeatsEverySingleFrame)
{
	// Each frame misreads a different character; no frame is right on its own.
	const std::string truth = "7ABC123";
	std::vector<std::vector<Candidate>> reads = {
		{{"1ABC123", 0.6}}, {{"7A8C123", 0.6}}, {{"7ABC12Z", 0.55}},
		{{"7ABC1Z3", 0.5}}, {{"TABC123", 0.45}},
	};
	for (const auto &r : reads)
		ASSERT_NE(r.front().text, truth);
	const Vote v = vote(reads);
	EXPECT_EQ(v.text, truth);
	// The frames disagree at every position, so the vote is less sure than a clean read.
	EXPECT_GT(v.confidence, 0.2);
	EXPECT_LT(v.confidence, 0.6);
	ASSERT_FALSE(v.candidates.empty());
	EXPECT_EQ(v.candidates.front().text, truth);
}

TEST(Vote, AgreementRaisesConfidence)
{
	const Vote v = vote({{{"ABC1234", 0.7}}, {{"ABC1234", 0.7}}, {{"ABC1234", 0.7}},
			     {{"ABC1234", 0.7}}});
	EXPECT_EQ(v.text, "ABC1234");
	EXPECT_GT(v.confidence, 0.85);
	EXPECT_LT(v.confidence, 1.0);
	// One dissenting frame lowers it, but less than to a single frame's level.
	const Vote d = vote({{{"ABC1234", 0.7}}, {{"ABC1234", 0.7}}, {{"ABC1234", 0.7}},
			     {{"ABC1Z34", 0.7}}});
	EXPECT_EQ(d.text, "ABC1234");
	EXPECT_LT(d.confidence, v.confidence);
}

TEST(Vote, LengthWithMostMassWins)
{
	// One frame lost the first character; the others agree on seven.
	const Vote v = vote({{{"ABC1234", 0.9}}, {{"BC1234", 0.95}}, {{"ABC1234", 0.8}}});
	EXPECT_EQ(v.text, "ABC1234");
}

TEST(Vote, AlternativesDoNotOutvoteTheReadTheyCameFrom)
{
	// What the reader returns for a clean plate: the read, then itself minus one character.
	const std::vector<Candidate> frame = {{"7ABC123", 0.96}, {"ABC123", 0.58}, {"7ABC12", 0.47},
					      {"7AC123", 0.39}, {"7BC123", 0.39}};
	const Vote v = vote({frame, frame, frame});
	EXPECT_EQ(v.text, "7ABC123");
	EXPECT_GT(v.confidence, 0.9);
}

TEST(Vote, LowerRankedCandidatesCount)
{
	// Frames disagree on top-1 at one position; the second candidates break the tie.
	const Vote v = vote({{{"ABC1234", 0.5}, {"A8C1234", 0.4}},
			     {{"A8C1234", 0.5}, {"ABC1234", 0.45}},
			     {{"ABC1234", 0.5}}});
	EXPECT_EQ(v.text, "ABC1234");
	ASSERT_GE(v.candidates.size(), 2u);
	EXPECT_EQ(v.candidates[1].text, "A8C1234");
	EXPECT_LE(v.candidates[1].confidence, v.candidates[0].confidence);
}

TEST(Vote, SingleSightingKeepsItsConfidence)
{
	const Vote v = vote({{{"XYZ789", 0.73}}});
	EXPECT_EQ(v.text, "XYZ789");
	EXPECT_NEAR(v.confidence, 0.73, 1e-9);
	EXPECT_TRUE(vote({}).text.empty());
}

TEST(Tracker, TwoVehiclesTwoEventsEmittedWhenTheyLeave)
{
	TrackerOptions o;
	o.timeout = 200ms;
	o.max_missed_frames = 5;
	Tracker tr(o);
	std::vector<ReadEvent> events;
	std::mt19937 rng(7);
	// Two cars side by side drive through the frame for 10 frames.
	for (std::uint64_t i = 1; i <= 10; ++i) {
		const int dy = static_cast<int>(i) * 12;
		std::string a = "ABC1234", b = "XYZ9876";
		if (i % 3 == 0)
			a[2] = '0'; // some frames misread
		if (i % 4 == 0)
			b[0] = 'K';
		auto out = tr.update(frame(i, {sighting({100, 100 + dy, 120, 40}, {{a, 0.7}}),
					       sighting({500, 110 + dy, 120, 40}, {{b, 0.65}})}));
		EXPECT_TRUE(out.empty()) << "no event while the vehicles are still in view";
	}
	EXPECT_EQ(tr.active(), 2u);
	// Empty frames: the vehicles have left; the tracks end after the timeout.
	for (std::uint64_t i = 11; i <= 20; ++i)
		for (auto &e : tr.update(frame(i, {})))
			events.push_back(std::move(e));
	ASSERT_EQ(events.size(), 2u);
	std::sort(events.begin(), events.end(),
		  [](const ReadEvent &x, const ReadEvent &y) { return x.text < y.text; });
	EXPECT_EQ(events[0].text, "ABC1234");
	EXPECT_EQ(events[1].text, "XYZ9876");
	EXPECT_EQ(events[0].sightings, 10u);
	EXPECT_EQ(events[0].camera_id, "cam0");
	EXPECT_FALSE(events[0].crop.empty());
	EXPECT_NE(events[0].track_id, events[1].track_id);
	EXPECT_EQ(tr.active(), 0u);
}

TEST(Tracker, OneFrameGhostIsNotAnEvent)
{
	Tracker tr(TrackerOptions{});
	(void)tr.update(frame(1, {sighting({10, 10, 50, 20}, {{"GHOST1", 0.9}})}));
	EXPECT_TRUE(tr.flush().empty());
}

TEST(Tracker, NextVehicleInTheSameSpotIsANewEvent)
{
	TrackerOptions o;
	o.min_frames = 2;
	Tracker tr(o);
	std::vector<ReadEvent> events;
	auto add = [&](std::vector<ReadEvent> v) {
		for (auto &e : v)
			events.push_back(std::move(e));
	};
	// Queue at a light: the next car stops where the previous one was, reading differs.
	for (std::uint64_t i = 1; i <= 4; ++i)
		add(tr.update(frame(i, {sighting({200, 300, 100, 30}, {{"AAA1111", 0.8}})})));
	for (std::uint64_t i = 5; i <= 8; ++i)
		add(tr.update(frame(i, {sighting({200, 300, 100, 30}, {{"QRS5678", 0.8}})})));
	add(tr.flush());
	ASSERT_EQ(events.size(), 2u);
	EXPECT_NE(events[0].text, events[1].text);
}

TEST(Tracker, OutOfOrderFramesFromSeveralWorkers)
{
	Tracker tr(TrackerOptions{});
	std::vector<std::uint64_t> order = {1, 3, 2, 5, 4, 6};
	for (auto i : order) {
		auto out = tr.update(frame(i, {sighting({100 + static_cast<int>(i) * 5, 100, 100, 30},
						       {{"LMN4567", 0.7}})}));
		EXPECT_TRUE(out.empty());
	}
	auto ev = tr.flush();
	ASSERT_EQ(ev.size(), 1u);
	EXPECT_EQ(ev[0].sightings, 6u);
}

TEST(Tracker, CamerasAreTrackedSeparately)
{
	Tracker tr(TrackerOptions{});
	for (std::uint64_t i = 1; i <= 3; ++i) {
		(void)tr.update(frame(i, {sighting({0, 0, 100, 30}, {{"CAM0AAA", 0.8}})}, "a"));
		(void)tr.update(frame(i, {sighting({0, 0, 100, 30}, {{"CAM1BBB", 0.8}})}, "b"));
	}
	auto ev = tr.flush();
	ASSERT_EQ(ev.size(), 2u);
	EXPECT_NE(ev[0].camera_id, ev[1].camera_id);
}

TEST(Tracker, ExpireEndsTracksWhenFramesStop)
{
	TrackerOptions o;
	o.timeout = 100ms;
	Tracker tr(o);
	for (std::uint64_t i = 1; i <= 3; ++i)
		(void)tr.update(frame(i, {sighting({0, 0, 100, 30}, {{"EXP1234", 0.8}})}));
	const auto now = std::chrono::steady_clock::now();
	EXPECT_TRUE(tr.expire(now + 50ms).empty()) << "frames arrived just now";
	auto ev = tr.expire(now + 1s);
	ASSERT_EQ(ev.size(), 1u);
	EXPECT_EQ(ev[0].text, "EXP1234");
}

TEST(Tracker, SlowReadingIsNotASilentCamera)
{
	// An ARM core reading one frame a second: the camera is capturing, its frames are queued
	// in the workers. The vehicle must stay one track, not be cut into one event per frame.
	TrackerOptions o;
	o.timeout = 100ms;
	Tracker tr(o);
	bool frames_pending = true;
	const auto pending = [&](const std::string &camera) { return camera == "cam0" && frames_pending; };
	auto now = std::chrono::steady_clock::now();
	std::size_t events = 0;
	for (std::uint64_t i = 1; i <= 4; ++i) {
		events += tr.update(frame(i, {sighting({0, 0, 100, 30}, {{"SLO1234", 0.8}})})).size();
		now += 1s; // the next read arrives a second later
		events += tr.expire(now, pending).size();
	}
	EXPECT_EQ(events, 0u) << "a track was ended while frames were still being read";
	frames_pending = false; // the camera really went quiet
	auto ev = tr.expire(now + 1s, pending);
	ASSERT_EQ(ev.size(), 1u);
	EXPECT_EQ(ev[0].text, "SLO1234");
	EXPECT_EQ(ev[0].sightings, 4u);
}

TEST(Tracker, ParkedVehicleReportedOnce)
{
	TrackerOptions o;
	o.max_track = 1000ms;
	Tracker tr(o);
	int events = 0;
	for (std::uint64_t i = 1; i <= 100; ++i) // 4 s of the same parked car
		events += static_cast<int>(
			tr.update(frame(i, {sighting({0, 0, 100, 30}, {{"PARK123", 0.8}})})).size());
	events += static_cast<int>(tr.flush().size());
	EXPECT_EQ(events, 1);
}

TEST(Tracker, EachStillIsOneWholeSighting)
{
	// Photos of three vehicles (a folder of stills): each is one event at once, although
	// min_frames asks for two frames, and none is joined to the photo before it.
	TrackerOptions o;
	o.min_frames = 2;
	Tracker tr(o);
	std::vector<ReadEvent> events;
	const std::vector<std::string> plates = {"7ABC123", "KLM4829", "7ABC128"};
	for (std::size_t i = 0; i < plates.size(); ++i) {
		auto f = frame(i + 1, {sighting({100, 100, 120, 40}, {{plates[i], 0.8}})});
		f.still = true;
		auto out = tr.update(std::move(f));
		ASSERT_EQ(out.size(), 1u) << plates[i];
		EXPECT_EQ(out.front().text, plates[i]);
		EXPECT_EQ(out.front().sightings, 1u);
		EXPECT_FALSE(out.front().crop.empty());
		EXPECT_EQ(tr.active(), 0u);
		events.push_back(std::move(out.front()));
	}
	EXPECT_TRUE(tr.flush().empty());
	EXPECT_EQ(tr.too_short("cam0"), 0u);

	// A still ends what video frames left open (a track of one frame stays too short).
	auto video = frame(10, {sighting({10, 10, 120, 40}, {{"ZZZ999", 0.8}})});
	EXPECT_TRUE(tr.update(std::move(video)).empty());
	auto still = frame(11, {sighting({300, 300, 120, 40}, {{"PAG5219", 0.8}})});
	still.still = true;
	auto out = tr.update(std::move(still));
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out.front().text, "PAG5219");
	EXPECT_EQ(tr.active(), 0u);
	EXPECT_EQ(tr.too_short("cam0"), 1u);
}

TEST(Tracker, VideoFramesOfDifferentVehiclesAreCountedTooShort)
{
	// The same photos read as video frames: each plate seen once, no event, but counted, so
	// that the daemon can say why a folder of photos gave nothing.
	Tracker tr(TrackerOptions{});
	std::size_t events = 0;
	const std::vector<std::string> plates = {"7ABC123", "KLM4829", "PAG5219"};
	for (std::size_t i = 0; i < plates.size(); ++i)
		events += tr.update(frame(i + 1, {sighting({100, 100, 120, 40}, {{plates[i], 0.8}})}))
				  .size();
	events += tr.flush().size();
	EXPECT_EQ(events, 0u);
	EXPECT_EQ(tr.too_short("cam0"), 3u);
	EXPECT_EQ(tr.too_short("other"), 0u);
}

} // namespace
