// SPDX-License-Identifier: GPL-3.0-or-later
// CaptureThread: one thread per camera; a failed or dropped source is reopened with back-off.
#include "lethe/capture/capture_thread.h"

#include <algorithm>
#include <cerrno>

#include "lethe/common/thread_entry.h"
#include "lethe/common/log.h"

namespace lethe::capture {

CaptureThread::CaptureThread(std::unique_ptr<FrameSource> source, Backoff backoff, Sink sink)
	: source_(std::move(source)), camera_id_(source_->spec().camera_id), backoff_(backoff),
	  sink_(std::move(sink))
{
	stats_.camera_id = camera_id_;
	stats_.source = source_->describe();
}

CaptureThread::~CaptureThread()
{
	stop();
}

void CaptureThread::start()
{
	if (thread_.joinable())
		return;
	stop_ = false;
	thread_ = std::thread([this] {
		run_thread("capture " + camera_id_, [this] { run(); },
			   [this] { return stop_.load(); });
	});
}

void CaptureThread::stop()
{
	{
		std::lock_guard lock(mutex_);
		stop_ = true;
	}
	cv_.notify_all();
	if (thread_.joinable())
		thread_.join();
}

bool CaptureThread::wait_for(std::chrono::milliseconds d)
{
	std::unique_lock lock(mutex_);
	return !cv_.wait_for(lock, d, [this] { return stop_.load(); });
}

CaptureStats CaptureThread::stats() const
{
	std::lock_guard lock(mutex_);
	CaptureStats s = stats_;
	s.pool_exhausted = source_->pool_exhausted();
	return s;
}

FramePtr CaptureThread::latest() const
{
	std::lock_guard lock(mutex_);
	return latest_;
}

void CaptureThread::run()
{
	auto delay = backoff_.initial;
	bool was_open = false;
	while (!stop_) {
		if (!was_open) {
			Status st = source_->open();
			if (!st) {
				{
					std::lock_guard lock(mutex_);
					++stats_.failures;
					stats_.last_error = st.error().message;
				}
				LOG(Capture, Warning) << camera_id_ << ": cannot open "
						      << source_->describe() << ": "
						      << st.error().message << "; retrying in "
						      << delay.count() << " ms";
				if (!wait_for(delay))
					break;
				delay = std::min(delay * 2, backoff_.max);
				continue;
			}
			{
				std::lock_guard lock(mutex_);
				if (stats_.frames > 0 || stats_.failures > 0)
					++stats_.reopens;
				stats_.open = true;
			}
			LOG(Capture, Info) << camera_id_ << ": opened " << source_->describe();
			was_open = true;
		}

		auto r = source_->next(std::chrono::milliseconds(500));
		if (r) {
			delay = backoff_.initial;
			FramePtr frame = std::move(r.value());
			{
				std::lock_guard lock(mutex_);
				++stats_.frames;
				stats_.last_frame = frame->monotonic;
				latest_ = frame;
			}
			sink_(std::move(frame));
			continue;
		}
		const int code = r.error().code;
		if (code == -EAGAIN)
			continue;
		if (code == -EBADMSG) {
			{
				std::lock_guard lock(mutex_);
				++stats_.skipped;
				stats_.last_error = r.error().message;
			}
			LOG(Capture, Warning) << camera_id_ << ": skipped " << r.error().message;
			continue;
		}
		if (code == -ENODATA) {
			LOG(Capture, Info) << camera_id_ << ": end of " << source_->describe();
			source_->close();
			{
				std::lock_guard lock(mutex_);
				stats_.open = false;
				stats_.ended = true;
				latest_.reset();
			}
			ended_ = true;
			break;
		}
		// The source dropped: close it and reopen after a back-off; never give up.
		LOG(Capture, Warning) << camera_id_ << ": source failed: " << r.error().message
				      << "; reopening in " << delay.count() << " ms";
		source_->close();
		was_open = false;
		{
			std::lock_guard lock(mutex_);
			++stats_.failures;
			stats_.open = false;
			stats_.last_error = r.error().message;
			latest_.reset();
		}
		if (!wait_for(delay))
			break;
		delay = std::min(delay * 2, backoff_.max);
	}
	source_->close();
	std::lock_guard lock(mutex_);
	stats_.open = false;
	latest_.reset();
}

} // namespace lethe::capture
