// SPDX-License-Identifier: GPL-3.0-or-later
// Multi-frame tracker: sightings of one plate over consecutive frames become one read event
// whose text is a confidence-weighted, character-wise vote across the frames.
#pragma once

#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace lethe::track {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

struct Candidate {
	std::string text;
	double confidence = 0; ///< 0..1
};

/// One plate read in one frame.
struct Sighting {
	cv::Rect box;                      ///< in source-frame pixels
	std::vector<Candidate> candidates; ///< ranked, best first (at least one)
	cv::Mat crop;                      ///< the plate region, owned (clone), may be empty
	std::string region;                ///< the reader's configured syntax region ("us", "eu", …)
	Sighting() = default;
	Sighting(Sighting &&) noexcept = default;
	Sighting &operator=(Sighting &&) noexcept = default;
	Sighting(const Sighting &) = default;
	Sighting &operator=(const Sighting &) = default;
	~Sighting(); ///< wipes text and pixels
};

/// Everything the reader found in one frame (possibly nothing: such frames age tracks too).
struct FrameReads {
	std::string camera_id;
	std::uint64_t sequence = 0;
	SteadyTime monotonic{};
	WallTime wall{};
	bool still = false; ///< a photo on its own: each sighting is a whole track (min_frames met)
	std::vector<Sighting> sightings;
};

/// A finished track: one vehicle, one event.
struct ReadEvent {
	std::uint64_t track_id = 0;
	std::string camera_id;
	std::string text;        ///< consensus text
	double confidence = 0;   ///< 0..1, see docs/tracking.md
	std::vector<Candidate> candidates; ///< consensus first, then alternatives, ranked
	std::string region;
	unsigned sightings = 0;  ///< frames that contributed
	WallTime first_seen{}, last_seen{};
	cv::Rect box;            ///< box of the best sighting
	cv::Mat crop;            ///< crop of the best sighting (for a hit's evidence)
	ReadEvent() = default;
	ReadEvent(ReadEvent &&) noexcept = default;
	ReadEvent &operator=(ReadEvent &&) noexcept = default;
	ReadEvent(const ReadEvent &) = delete;
	ReadEvent &operator=(const ReadEvent &) = delete;
	~ReadEvent(); ///< wipes text and pixels (non-hits must not linger in memory)
};

struct TrackerOptions {
	double iou_min = 0.1;
	double max_shift = 2.0; ///< centre shift, in plate widths
	std::chrono::milliseconds timeout{1000};
	unsigned max_missed_frames = 15;
	unsigned min_frames = 2;
	std::chrono::milliseconds max_track{30000};
	unsigned top = 3; ///< candidates kept in an event
};

/// Result of the character-wise vote.
struct Vote {
	std::string text;
	double confidence = 0;
	std::vector<Candidate> candidates;
};

/// Vote over the candidate lists of several sightings of one plate: the length with the most
/// confidence mass wins, then each position takes the character with the most confidence mass
/// (every candidate of that length contributes its confidence).
[[nodiscard]] Vote vote(const std::vector<std::vector<Candidate>> &sightings, unsigned top = 3);

/// Not thread-safe: the pipeline's tracker stage owns it.
class Tracker
{
public:
	explicit Tracker(TrackerOptions options) : options_(options) {}

	/// Add one frame's sightings; returns the events of tracks that ended with it.
	/// Frames of one camera may arrive slightly out of order (several workers). A still
	/// (FrameReads::still) ends the camera's open tracks and gives one event per sighting
	/// at once: one photo, one vehicle, whatever min_frames says.
	[[nodiscard]] std::vector<ReadEvent> update(FrameReads frame);
	/// End the tracks of cameras from which no frame has arrived for `timeout` of real time
	/// (`now` is std::chrono::steady_clock::now(); a camera that stalled or died). Cameras
	/// for which `pending(camera_id)` says frames are still queued or being read are skipped:
	/// a slow reader (an ARM core at 1 frame/s) is not a silent camera, and ending its tracks
	/// early would split one vehicle into several events.
	[[nodiscard]] std::vector<ReadEvent>
	expire(SteadyTime now, const std::function<bool(const std::string &)> &pending = {});
	/// End every track (end of stream, shutdown, reload).
	[[nodiscard]] std::vector<ReadEvent> flush();
	[[nodiscard]] std::size_t active() const;
	/// Tracks of this camera that ended seen in fewer than min_frames frames (no event).
	[[nodiscard]] std::uint64_t too_short(const std::string &camera_id) const;

private:
	struct Track {
		std::uint64_t id = 0;
		cv::Rect box;
		SteadyTime first{}, last{};
		WallTime first_wall{}, last_wall{};
		std::uint64_t last_sequence = 0;
		std::vector<std::vector<Candidate>> reads;
		Sighting best;
		double best_confidence = -1;
		bool emitted = false; ///< already reported (a long track); absorbs sightings silently
		Track() = default;
		Track(Track &&) noexcept = default;
		Track &operator=(Track &&) noexcept = default;
		~Track();
	};
	struct CameraState {
		std::vector<Track> tracks;
		SteadyTime latest{};
		SteadyTime arrival{}; ///< real (steady) time the last frame was added
		std::uint64_t latest_sequence = 0;
		std::uint64_t too_short = 0; ///< tracks dropped for fewer than min_frames sightings
	};

	void end_tracks(const std::string &camera, CameraState &state, bool all, SteadyTime now,
			std::vector<ReadEvent> &out, bool count_frames);
	std::optional<ReadEvent> finish(const std::string &camera, CameraState &state, Track &track,
					bool still = false);

	TrackerOptions options_;
	std::map<std::string, CameraState> cameras_;
	std::uint64_t next_id_ = 1;
};

} // namespace lethe::track
