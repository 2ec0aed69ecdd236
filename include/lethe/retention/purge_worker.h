// SPDX-License-Identifier: GPL-3.0-or-later
// The purge worker: one thread that runs Retention::purge() at every deadline.
//
// It sleeps until the earliest stored deadline (or key expiry), at most `max_interval`, so a
// record is gone at the latest max_interval (+ the purge's own duration) after its deadline;
// wake() makes it purge at once (e.g. after a policy change). No queue: the only input is
// time, so there is nothing to drop. An observer, if given, sees every cycle's result on the
// worker thread (lethed audits purge batches and applies audit-log retention there).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "lethe/retention/retention.h"

namespace lethe::retention {

class PurgeWorker
{
public:
	/// Called on the worker thread after each cycle, with that cycle's result.
	using Observer = std::function<void(const Result<PurgeResult> &)>;

	/// Start the thread; `retention` is lent and must outlive the worker.
	[[nodiscard]] static std::unique_ptr<PurgeWorker>
	start(Retention &retention,
	      std::chrono::milliseconds max_interval = std::chrono::milliseconds{250},
	      Observer observer = {});
	~PurgeWorker(); ///< stops and joins
	PurgeWorker(const PurgeWorker &) = delete;
	PurgeWorker &operator=(const PurgeWorker &) = delete;

	void wake();
	void stop();

	[[nodiscard]] std::uint64_t cycles() const { return cycles_.load(); }
	[[nodiscard]] std::uint64_t failures() const { return failures_.load(); }
	[[nodiscard]] std::uint64_t purged() const { return purged_.load(); }

private:
	PurgeWorker(Retention &retention, std::chrono::milliseconds max_interval, Observer observer)
		: retention_(retention), max_interval_(max_interval), observer_(std::move(observer))
	{
	}
	void run();

	Retention &retention_;
	std::chrono::milliseconds max_interval_;
	Observer observer_;
	std::mutex mutex_;
	std::condition_variable cv_;
	bool stop_ = false;
	bool woken_ = false;
	std::atomic<std::uint64_t> cycles_{0};
	std::atomic<std::uint64_t> failures_{0};
	std::atomic<std::uint64_t> purged_{0};
	std::thread thread_;
};

} // namespace lethe::retention
