// SPDX-License-Identifier: GPL-3.0-or-later
// Frames as pooled, shared buffers: handed between stages by pointer, returned to the pool on release.
//
// A frame is produced once by a capture source and then shared read-only by every stage
// (workers, snapshot, tracker) through a FramePtr; nothing copies it. When the last FramePtr
// goes away, its deleter hands the buffer back to the pool (the rpicam-apps pattern), so a
// steady-state pipeline allocates no image memory.
//
// Rule for consumers: never keep a cv::Mat view of frame->image beyond the lifetime of the
// FramePtr you were lent (the buffer is reused); clone() the few pixels you must keep (a crop).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace lethe::capture {

struct Frame {
	cv::Mat image;          ///< 8-bit BGR, owned by the pool
	std::string camera_id;  ///< configured camera id
	std::uint64_t sequence = 0; ///< per source, strictly increasing (gaps = frames lost)
	std::chrono::steady_clock::time_point monotonic{}; ///< capture time on the monotonic clock
	std::chrono::system_clock::time_point wall{};      ///< capture time, UTC
	bool still = false; ///< a photo on its own (replay `stills`): one frame is a whole sighting
};

using FramePtr = std::shared_ptr<const Frame>;

/// A fixed number of frame buffers shared by one source and the stages downstream.
class FramePool : public std::enable_shared_from_this<FramePool>
{
public:
	/// capacity: frames that may be alive at once (1..4096).
	[[nodiscard]] static std::shared_ptr<FramePool> create(unsigned capacity);
	~FramePool();
	FramePool(const FramePool &) = delete;
	FramePool &operator=(const FramePool &) = delete;

	/// A writable frame, or nullptr when every buffer is in use (the caller drops the
	/// frame it was about to capture and counts it). The image keeps the size of its last
	/// use; producers call image.create(size, CV_8UC3), a no-op when the size is unchanged.
	[[nodiscard]] std::shared_ptr<Frame> acquire();

	[[nodiscard]] unsigned capacity() const { return capacity_; }
	[[nodiscard]] unsigned in_use() const;
	/// How often acquire() found no free buffer.
	[[nodiscard]] std::uint64_t exhausted() const { return exhausted_.load(); }

private:
	explicit FramePool(unsigned capacity) : capacity_(capacity) {}
	void release(Frame *frame);

	const unsigned capacity_;
	mutable std::mutex mutex_;
	std::vector<std::unique_ptr<Frame>> free_;
	unsigned allocated_ = 0;
	unsigned outstanding_ = 0;
	std::atomic<std::uint64_t> exhausted_{0};
};

} // namespace lethe::capture
