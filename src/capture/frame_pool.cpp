// SPDX-License-Identifier: GPL-3.0-or-later
// FramePool: fixed set of frame buffers, returned to the pool by the shared pointer's deleter.
#include "lethe/capture/frame.h"

#include <cstring>

namespace lethe::capture {

std::shared_ptr<FramePool> FramePool::create(unsigned capacity)
{
	if (capacity == 0 || capacity > 4096)
		return nullptr;
	return std::shared_ptr<FramePool>(new FramePool(capacity));
}

FramePool::~FramePool()
{
	// Frames show plates: zero the buffers before their memory goes back to the allocator.
	for (auto &f : free_) {
		if (!f->image.empty() && f->image.isContinuous())
			std::memset(f->image.data, 0, f->image.total() * f->image.elemSize());
	}
}

std::shared_ptr<Frame> FramePool::acquire()
{
	std::unique_ptr<Frame> frame;
	{
		std::lock_guard lock(mutex_);
		if (!free_.empty()) {
			frame = std::move(free_.back());
			free_.pop_back();
		} else if (allocated_ < capacity_) {
			frame = std::make_unique<Frame>();
			++allocated_;
		} else {
			exhausted_.fetch_add(1);
			return nullptr;
		}
		++outstanding_;
	}
	// The deleter keeps the pool alive for as long as any of its frames is.
	auto self = shared_from_this();
	return std::shared_ptr<Frame>(frame.release(), [self](Frame *f) { self->release(f); });
}

void FramePool::release(Frame *frame)
{
	// A buffer waiting in the pool shows nothing: the scene it held (plates that are not
	// hits among it) goes now, not when a later frame happens to overwrite it.
	if (!frame->image.empty() && frame->image.isContinuous())
		std::memset(frame->image.data, 0, frame->image.total() * frame->image.elemSize());
	frame->sequence = 0;
	frame->camera_id.clear();
	std::lock_guard lock(mutex_);
	free_.emplace_back(frame);
	--outstanding_;
}

unsigned FramePool::in_use() const
{
	std::lock_guard lock(mutex_);
	return outstanding_;
}

} // namespace lethe::capture
