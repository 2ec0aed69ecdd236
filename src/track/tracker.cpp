// SPDX-License-Identifier: GPL-3.0-or-later
// Tracker: IoU/centroid association of plate sightings and a confidence-weighted character vote.
#include "lethe/track/tracker.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <array>

#include "lethe/common/crypto.h"
#include "lethe/common/edit_distance.h"

namespace lethe::track {
namespace {

void wipe_candidates(std::vector<Candidate> &v)
{
	for (auto &c : v)
		crypto::wipe(c.text);
}

void wipe_mat(cv::Mat &m)
{
	// Only if we hold the last reference: a shared buffer is someone else's to wipe.
	if (!m.empty() && m.u && m.u->refcount == 1 && m.isContinuous())
		std::memset(m.data, 0, m.total() * m.elemSize());
	m.release();
}

double iou(const cv::Rect &a, const cv::Rect &b)
{
	const double inter = (a & b).area();
	const double uni = a.area() + b.area() - inter;
	return uni > 0 ? inter / uni : 0;
}

double centre_shift(const cv::Rect &a, const cv::Rect &b)
{
	const double dx = (a.x + a.width / 2.0) - (b.x + b.width / 2.0);
	const double dy = (a.y + a.height / 2.0) - (b.y + b.height / 2.0);
	const double w = std::max(1, std::max(a.width, b.width));
	return std::hypot(dx, dy) / w;
}

/// Could these two texts be the same plate misread? (Guards against a new vehicle taking
/// the place of the previous one.)
bool compatible(const std::string &a, const std::string &b)
{
	const std::size_t n = std::max(a.size(), b.size());
	if (n < 4)
		return true;
	return edit_distance(a, b) * 2 <= n;
}

} // namespace

Sighting::~Sighting()
{
	wipe_candidates(candidates);
	wipe_mat(crop);
}

ReadEvent::~ReadEvent()
{
	crypto::wipe(text);
	wipe_candidates(candidates);
	wipe_mat(crop);
}

Tracker::Track::~Track()
{
	for (auto &r : reads)
		wipe_candidates(r);
}

Vote vote(const std::vector<std::vector<Candidate>> &sightings, unsigned top)
{
	Vote out;
	if (sightings.empty())
		return out;

	// 1. Length: the one carrying the most confidence mass among each sighting's best read.
	//    Only the best reads vote here: a reader's alternatives are mostly its top read with
	//    one character dropped, and four such (ABC123, 7ABC12, ...) would otherwise outvote
	//    the read they came from (7ABC123) and leave the vote with no supporting best read.
	std::map<std::size_t, double> length_mass;
	for (const auto &s : sightings)
		if (!s.empty() && !s.front().text.empty())
			length_mass[s.front().text.size()] += std::clamp(s.front().confidence, 0.0, 1.0);
	if (length_mass.empty())
		return out;
	const std::size_t len = std::max_element(length_mass.begin(), length_mass.end(),
						 [](const auto &a, const auto &b) {
							 return a.second < b.second;
						 })->first;

	// 2. Each position: the character with the most confidence mass. Per position the
	//    vote share s and a per-sighting evidence p (noisy-OR tempered for correlated
	//    frames) give the position's confidence; the text's is its weakest position's.
	const double n = static_cast<double>(sightings.size());
	const double temper = 1.0 / std::sqrt(n);
	double confidence = 1.0;
	out.text.assign(len, '?');
	for (std::size_t k = 0; k < len; ++k) {
		// mass: every candidate votes (alternatives break ties); best_read: only each
		// sighting's best reading, which measures how much the frames disagree.
		std::array<double, 256> mass{}, best_read{};
		for (const auto &s : sightings) {
			for (const auto &c : s)
				if (c.text.size() == len)
					mass[static_cast<unsigned char>(c.text[k])] +=
						std::clamp(c.confidence, 0.0, 1.0);
			if (!s.empty() && s.front().text.size() == len)
				best_read[static_cast<unsigned char>(s.front().text[k])] +=
					std::clamp(s.front().confidence, 0.0, 1.0);
		}
		const auto best = std::max_element(mass.begin(), mass.end());
		const char ch = static_cast<char>(best - mass.begin());
		double total = 0;
		for (double m : best_read)
			total += m;
		const double agree = best_read[static_cast<unsigned char>(ch)];
		out.text[k] = ch;
		double miss = 1.0;
		for (const auto &s : sightings) {
			double e = 0;
			for (const auto &c : s)
				if (c.text.size() == len && c.text[k] == ch)
					e += std::clamp(c.confidence, 0.0, 1.0);
			miss *= std::pow(1.0 - std::min(e, 1.0), temper);
		}
		const double share = total > 0 ? agree / total : 0;
		confidence = std::min(confidence, share * (1.0 - miss));
	}
	out.confidence = std::clamp(confidence, 0.0, 1.0);

	// Alternatives: other texts ranked by their mean confidence across sightings.
	std::vector<Candidate> ranked;
	for (const auto &s : sightings)
		for (const auto &c : s) {
			if (c.text.empty() || c.text == out.text)
				continue;
			auto it = std::find_if(ranked.begin(), ranked.end(),
					       [&](const Candidate &r) { return r.text == c.text; });
			if (it == ranked.end())
				it = ranked.insert(ranked.end(), Candidate{c.text, 0.0});
			it->confidence += std::clamp(c.confidence, 0.0, 1.0) / n;
		}
	for (auto &c : ranked)
		c.confidence = std::min(c.confidence, out.confidence);
	std::sort(ranked.begin(), ranked.end(), [](const Candidate &a, const Candidate &b) {
		return a.confidence != b.confidence ? a.confidence > b.confidence : a.text < b.text;
	});
	out.candidates.push_back({out.text, out.confidence});
	for (auto &c : ranked) {
		if (out.candidates.size() >= std::max(1u, top))
			break;
		out.candidates.push_back(std::move(c));
	}
	wipe_candidates(ranked);
	return out;
}

std::vector<ReadEvent> Tracker::update(FrameReads frame)
{
	std::vector<ReadEvent> out;
	CameraState &state = cameras_[frame.camera_id];
	state.arrival = std::chrono::steady_clock::now();
	if (frame.monotonic > state.latest)
		state.latest = frame.monotonic;
	if (frame.sequence > state.latest_sequence)
		state.latest_sequence = frame.sequence;
	if (frame.still) {
		// A photo shares no vehicle with the frames before it: what was open ends, and
		// every plate in it is one whole sighting.
		end_tracks(frame.camera_id, state, true, state.latest, out, false);
		for (auto &sg : frame.sightings) {
			if (sg.candidates.empty())
				continue;
			Track track;
			track.id = next_id_++;
			track.box = sg.box;
			track.first = track.last = frame.monotonic;
			track.first_wall = track.last_wall = frame.wall;
			track.last_sequence = frame.sequence;
			track.reads.push_back(sg.candidates);
			track.best_confidence = sg.candidates.front().confidence;
			track.best = std::move(sg);
			if (auto e = finish(frame.camera_id, state, track, true))
				out.push_back(std::move(*e));
		}
		return out;
	}

	// Greedy association: best-scoring (track, sighting) pairs first.
	struct Pair {
		double score;
		std::size_t track, sighting;
	};
	std::vector<Pair> pairs;
	for (std::size_t t = 0; t < state.tracks.size(); ++t) {
		const Track &track = state.tracks[t];
		for (std::size_t s = 0; s < frame.sightings.size(); ++s) {
			const Sighting &sg = frame.sightings[s];
			if (sg.candidates.empty())
				continue;
			const double o = iou(track.box, sg.box);
			const double shift = centre_shift(track.box, sg.box);
			if (o < options_.iou_min && shift > options_.max_shift)
				continue;
			if (!track.reads.empty() && !track.reads.back().empty() &&
			    !compatible(track.reads.back().front().text, sg.candidates.front().text))
				continue;
			pairs.push_back({o + 1.0 / (1.0 + shift), t, s});
		}
	}
	std::sort(pairs.begin(), pairs.end(), [](const Pair &a, const Pair &b) { return a.score > b.score; });
	std::vector<bool> track_used(state.tracks.size()), sighting_used(frame.sightings.size());
	auto absorb = [&](Track &track, Sighting &sg) {
		if (frame.monotonic >= track.last) {
			track.box = sg.box;
			track.last = frame.monotonic;
			track.last_wall = frame.wall;
			track.last_sequence = frame.sequence;
		}
		if (frame.monotonic < track.first) {
			track.first = frame.monotonic;
			track.first_wall = frame.wall;
		}
		track.reads.push_back(sg.candidates);
		const double c = sg.candidates.front().confidence;
		if (c > track.best_confidence) {
			track.best_confidence = c;
			track.best = std::move(sg);
		}
	};
	for (const auto &p : pairs) {
		if (track_used[p.track] || sighting_used[p.sighting])
			continue;
		track_used[p.track] = sighting_used[p.sighting] = true;
		absorb(state.tracks[p.track], frame.sightings[p.sighting]);
	}
	for (std::size_t s = 0; s < frame.sightings.size(); ++s) {
		if (sighting_used[s] || frame.sightings[s].candidates.empty())
			continue;
		Track track;
		track.id = next_id_++;
		track.box = frame.sightings[s].box;
		track.first = track.last = frame.monotonic;
		track.first_wall = track.last_wall = frame.wall;
		track.last_sequence = frame.sequence;
		absorb(track, frame.sightings[s]);
		state.tracks.push_back(std::move(track));
	}

	end_tracks(frame.camera_id, state, false, state.latest, out, true);
	return out;
}

void Tracker::end_tracks(const std::string &camera, CameraState &state, bool all, SteadyTime now,
			 std::vector<ReadEvent> &out, bool count_frames)
{
	for (auto it = state.tracks.begin(); it != state.tracks.end();) {
		Track &t = *it;
		const bool lost = all || now - t.last > options_.timeout ||
				  (count_frames &&
				   state.latest_sequence - t.last_sequence > options_.max_missed_frames);
		const bool too_long = !t.emitted && t.last - t.first >= options_.max_track;
		if (too_long) {
			if (auto e = finish(camera, state, t))
				out.push_back(std::move(*e));
			t.emitted = true;
		}
		if (lost) {
			if (!t.emitted)
				if (auto e = finish(camera, state, t))
					out.push_back(std::move(*e));
			it = state.tracks.erase(it);
		} else {
			++it;
		}
	}
}

std::optional<ReadEvent> Tracker::finish(const std::string &camera, CameraState &state,
					 Track &track, bool still)
{
	if (!still && track.reads.size() < options_.min_frames) {
		++state.too_short;
		return std::nullopt;
	}
	Vote v = vote(track.reads, options_.top);
	ReadEvent e;
	e.track_id = track.id;
	e.camera_id = camera;
	e.text = std::move(v.text);
	e.confidence = v.confidence;
	e.candidates = std::move(v.candidates);
	e.region = track.best.region;
	e.sightings = static_cast<unsigned>(track.reads.size());
	e.first_seen = track.first_wall;
	e.last_seen = track.last_wall;
	e.box = track.best.box;
	e.crop = std::move(track.best.crop);
	return e;
}

std::vector<ReadEvent> Tracker::expire(SteadyTime now,
				       const std::function<bool(const std::string &)> &pending)
{
	std::vector<ReadEvent> out;
	for (auto &[camera, state] : cameras_) {
		// While a camera delivers frames, update() ends its tracks on frame time. Here only
		// cameras that went silent (no frame for `timeout` of real time) are ended.
		if (pending && pending(camera)) {
			state.arrival = now; // frames of this camera are still on their way
			continue;
		}
		if (now - state.arrival > options_.timeout)
			end_tracks(camera, state, true, state.latest, out, false);
	}
	return out;
}

std::vector<ReadEvent> Tracker::flush()
{
	std::vector<ReadEvent> out;
	for (auto &[camera, state] : cameras_)
		end_tracks(camera, state, true, state.latest, out, false);
	return out;
}

std::uint64_t Tracker::too_short(const std::string &camera_id) const
{
	const auto it = cameras_.find(camera_id);
	return it == cameras_.end() ? 0 : it->second.too_short;
}

std::size_t Tracker::active() const
{
	std::size_t n = 0;
	for (const auto &[camera, state] : cameras_)
		n += state.tracks.size();
	return n;
}

} // namespace lethe::track
