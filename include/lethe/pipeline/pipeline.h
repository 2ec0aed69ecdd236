// SPDX-License-Identifier: GPL-3.0-or-later
// The frame pipeline: capture threads → frame queue → N reader workers → tracker → event queue → sink.
//
// Drop policy (docs/pipeline.md): only frames are ever dropped — the oldest queued frame of a
// live camera when the frame queue is full. Reads and events are pushed with back-pressure,
// so a recognised plate is never dropped. Replay sources are lossless (they wait).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "lethe/capture/capture_thread.h"
#include "lethe/common/bounded_queue.h"
#include "lethe/config/config.h"
#include "lethe/ocr/plate_mask.h"
#include "lethe/ocr/plate_reader.h"
#include "lethe/track/tracker.h"

namespace lethe::pipeline {

struct PipelineStats {
	std::uint64_t frames_captured = 0; ///< frames handed over by the capture threads
	std::uint64_t frames_dropped = 0;  ///< oldest frames dropped from a full frame queue
	std::uint64_t frames_read = 0;     ///< frames the workers processed
	std::uint64_t read_errors = 0;     ///< frames not read (the reader failed or threw)
	std::uint64_t event_errors = 0;    ///< read events whose handling threw (lost)
	std::uint64_t sightings = 0;       ///< plate reads in single frames
	std::uint64_t events = 0;          ///< tracks that became read events
	std::size_t frame_queue = 0, event_queue = 0, tracks = 0;
	double frames_per_second = 0;      ///< over the last ~10 s
	std::vector<capture::CaptureStats> cameras;
};

/// Plates found in one frame, for `lethe camera snapshot`.
struct SnapshotResult {
	cv::Mat frame;                       ///< a copy, BGR, every plate blacked out (plate_mask.h)
	std::vector<ocr::FoundPlate> plates; ///< read before masking: boxes and confidences
	std::vector<cv::Rect> masked;        ///< the blacked-out boxes
	double sharpness = 0;                ///< variance of the Laplacian, before masking
	std::string camera_id;
};

class Pipeline
{
public:
	/// Called on the pipeline's match thread for every read event, in order.
	using EventSink = std::function<void(track::ReadEvent &&)>;

	[[nodiscard]] static Result<std::unique_ptr<Pipeline>> create(const config::Config &config,
								     EventSink sink);
	~Pipeline();
	Pipeline(const Pipeline &) = delete;
	Pipeline &operator=(const Pipeline &) = delete;

	void start();
	/// Stop capturing, process what is queued, end every track (its event goes to the sink),
	/// stop all threads. Nothing recognised is lost. Bounded by `timeout` for the drain.
	void stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));
	/// Every camera is finite and has ended, and everything has been processed.
	[[nodiscard]] bool finished() const { return finished_.load(); }
	/// A frame arrived within `window` (for the watchdog).
	[[nodiscard]] bool frames_flowing(std::chrono::steady_clock::duration window) const;
	[[nodiscard]] PipelineStats stats() const;
	/// Read the newest frame of a camera ("" = the first) with worker 0's reader.
	/// The newest frame of a camera with its plates' boxes, masked: no plate in it stays
	/// legible to the device's own reader (refused with -EAGAIN otherwise).
	[[nodiscard]] Result<SnapshotResult> snapshot(const std::string &camera_id);
	[[nodiscard]] bool has_camera(const std::string &camera_id) const;

private:
	Pipeline(const config::Config &config, EventSink sink);
	void worker(unsigned index);
	void tracker_loop();
	void match_loop();
	/// One turn of tracker_loop / match_loop, each in its own stack frame (so that the loop
	/// can wipe what it left): false when there was nothing to take (or, for match_one, the
	/// queue is closed and drained).
	[[gnu::noinline]] bool track_one(
		const std::function<void(std::vector<track::ReadEvent>)> &emit);
	[[gnu::noinline]] bool match_one();
	void watch_end();
	track::FrameReads read_frame(ocr::PlateReader &reader, const capture::Frame &frame);

	const config::Config config_;
	EventSink sink_;
	std::vector<std::unique_ptr<ocr::PlateReader>> readers_; ///< one per worker
	/// One per reader: held by its worker while it reads a frame, and by snapshot().
	std::vector<std::unique_ptr<std::mutex>> reader_mutexes_;
	std::vector<std::unique_ptr<capture::CaptureThread>> cameras_;
	std::vector<bool> finite_;

	BoundedQueue<capture::FramePtr> frames_;
	BoundedQueue<track::FrameReads> reads_;
	BoundedQueue<track::ReadEvent> events_;
	track::Tracker tracker_;

	std::vector<std::thread> workers_;
	std::thread tracker_thread_, match_thread_, end_thread_;
	std::atomic<bool> flush_{false};      ///< tracker: end every track now
	std::atomic<bool> flushed_{false};
	std::atomic<bool> stopping_{false};
	std::atomic<bool> finished_{false};
	std::atomic<bool> started_{false};
	std::chrono::steady_clock::time_point start_time_{};

	std::atomic<std::uint64_t> frames_captured_{0}, frames_read_{0}, read_errors_{0},
		sightings_{0}, events_count_{0}, sink_errors_{0};
	std::atomic<std::int64_t> last_frame_ns_{0};
	mutable std::mutex rate_mutex_;
	mutable std::chrono::steady_clock::time_point rate_time_{};
	mutable std::uint64_t rate_frames_ = 0;
	mutable double rate_ = 0;
	std::atomic<std::size_t> tracks_{0};
	/// Frames per camera captured but not yet through the tracker (queued, being read, or
	/// read and waiting): while any are, the tracker does not time the camera's tracks out.
	/// Filled in create(), read-only afterwards (the counters themselves are atomic).
	std::unordered_map<std::string, std::unique_ptr<std::atomic<std::int64_t>>> pending_;
	void pending_add(const std::string &camera_id, std::int64_t delta);
};

} // namespace lethe::pipeline
