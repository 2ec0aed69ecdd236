// SPDX-License-Identifier: GPL-3.0-or-later
// BoundedQueue: a fixed-capacity MPMC queue with two push policies, drop-oldest and block.
//
// The pipeline's drop policy (docs/pipeline.md) is built from these two policies: live frames
// are pushed with push_drop_oldest() (under load the stalest frame goes), everything that
// carries a recognised read is pushed with push_blocking() (backpressure, never dropped).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace lethe {

template<typename T>
class BoundedQueue
{
public:
	explicit BoundedQueue(std::size_t capacity) : capacity_(capacity ? capacity : 1) {}

	/// Push; when full, discard the oldest item (returned so the caller can count it).
	/// Returns false (and discards `item`) only when the queue is closed.
	bool push_drop_oldest(T item, std::optional<T> *dropped = nullptr)
	{
		{
			std::lock_guard lock(mutex_);
			if (closed_)
				return false;
			if (items_.size() >= capacity_) {
				if (dropped)
					*dropped = std::move(items_.front());
				items_.pop_front();
				++dropped_;
			}
			items_.push_back(std::move(item));
		}
		not_empty_.notify_one();
		return true;
	}

	/// Push; wait while full. Returns false only when the queue is closed.
	bool push_blocking(T item)
	{
		{
			std::unique_lock lock(mutex_);
			not_full_.wait(lock, [this] { return closed_ || items_.size() < capacity_; });
			if (closed_)
				return false;
			items_.push_back(std::move(item));
		}
		not_empty_.notify_one();
		return true;
	}

	/// Pop, waiting up to `timeout`. Empty optional on timeout, or when closed and drained.
	std::optional<T> pop(std::chrono::milliseconds timeout)
	{
		std::unique_lock lock(mutex_);
		if (!not_empty_.wait_for(lock, timeout, [this] { return closed_ || !items_.empty(); }))
			return std::nullopt;
		if (items_.empty())
			return std::nullopt;
		std::optional<T> out(std::move(items_.front()));
		items_.pop_front();
		// Drained: give the storage back. A deque keeps its last node, and the moved-from
		// items in it keep bytes of what they held (a short string's characters stay where
		// they were); freed, the node is wiped (common/memory_wipe.h).
		if (items_.empty())
			std::deque<T>().swap(items_);
		++in_flight_;
		lock.unlock();
		not_full_.notify_one();
		return out;
	}

	/// A consumer finished the item it popped (for drained()).
	void done()
	{
		{
			std::lock_guard lock(mutex_);
			if (in_flight_)
				--in_flight_;
		}
		idle_.notify_all();
	}

	/// Wait until empty and no popped item is still being worked on, or timeout.
	bool wait_drained(std::chrono::milliseconds timeout)
	{
		std::unique_lock lock(mutex_);
		return idle_.wait_for(lock, timeout, [this] { return items_.empty() && !in_flight_; });
	}

	/// Wake everyone; pushes fail from now on, pops drain what is left.
	void close()
	{
		{
			std::lock_guard lock(mutex_);
			closed_ = true;
		}
		not_empty_.notify_all();
		not_full_.notify_all();
		idle_.notify_all();
	}

	/// Open again after close() (keeps queued items).
	void reopen()
	{
		std::lock_guard lock(mutex_);
		closed_ = false;
	}

	[[nodiscard]] std::size_t size() const
	{
		std::lock_guard lock(mutex_);
		return items_.size();
	}
	[[nodiscard]] std::size_t capacity() const { return capacity_; }
	[[nodiscard]] std::uint64_t dropped() const
	{
		std::lock_guard lock(mutex_);
		return dropped_;
	}
	[[nodiscard]] bool closed() const
	{
		std::lock_guard lock(mutex_);
		return closed_;
	}

private:
	const std::size_t capacity_;
	mutable std::mutex mutex_;
	std::condition_variable not_empty_, not_full_, idle_;
	std::deque<T> items_;
	std::size_t in_flight_ = 0;
	std::uint64_t dropped_ = 0;
	bool closed_ = false;
};

} // namespace lethe
