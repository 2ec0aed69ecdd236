// SPDX-License-Identifier: GPL-3.0-or-later
// CaptureThread: drives one FrameSource on its own thread; reopens a dropped source with back-off.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "lethe/capture/frame_source.h"

namespace lethe::capture {

struct Backoff {
	std::chrono::milliseconds initial{500}; ///< first wait after a failure
	std::chrono::milliseconds max{30000};   ///< the wait doubles up to this
	bool operator==(const Backoff &) const = default;
};

/// Snapshot of a capture thread's state for status/selftest.
struct CaptureStats {
	std::string camera_id;
	std::string source;       ///< describe() of the source (no credentials)
	bool open = false;        ///< the source is currently delivering
	bool ended = false;       ///< a finite source has ended
	std::uint64_t frames = 0; ///< frames delivered to the sink
	std::uint64_t failures = 0; ///< open failures and read errors
	std::uint64_t reopens = 0;
	std::uint64_t skipped = 0; ///< inputs skipped (replay files that are not loadable images)
	std::uint64_t pool_exhausted = 0; ///< frames the camera had but no buffer was free for
	std::chrono::steady_clock::time_point last_frame{}; ///< epoch if none yet
	std::string last_error;
};

class CaptureThread
{
public:
	/// Called for each frame on the capture thread. May block (lossless replay) until
	/// stop() is called; the pipeline's queue decides what to drop.
	using Sink = std::function<void(FramePtr)>;

	CaptureThread(std::unique_ptr<FrameSource> source, Backoff backoff, Sink sink);
	~CaptureThread();
	CaptureThread(const CaptureThread &) = delete;
	CaptureThread &operator=(const CaptureThread &) = delete;

	void start();
	/// Stop and join; interrupts a back-off wait. The sink must unblock on its own
	/// (close the queue first).
	void stop();

	[[nodiscard]] CaptureStats stats() const;
	/// A finite source has delivered everything.
	[[nodiscard]] bool ended() const { return ended_.load(); }
	/// The most recent frame (for `lethe camera snapshot`), or nullptr.
	[[nodiscard]] FramePtr latest() const;
	[[nodiscard]] const std::string &camera_id() const { return camera_id_; }

private:
	void run();
	bool wait_for(std::chrono::milliseconds d);

	std::unique_ptr<FrameSource> source_;
	const std::string camera_id_;
	const Backoff backoff_;
	Sink sink_;
	std::thread thread_;
	std::atomic<bool> stop_{false};
	std::atomic<bool> ended_{false};
	mutable std::mutex mutex_;
	std::condition_variable cv_;
	CaptureStats stats_;
	FramePtr latest_;
};

} // namespace lethe::capture
