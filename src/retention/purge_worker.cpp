// SPDX-License-Identifier: GPL-3.0-or-later
// The purge worker thread: purge at each deadline, at most max_interval apart.
#include "lethe/retention/purge_worker.h"

#include <algorithm>

#include "lethe/common/thread_entry.h"
#include "lethe/common/log.h"

namespace lethe::retention {

std::unique_ptr<PurgeWorker> PurgeWorker::start(Retention &retention,
						std::chrono::milliseconds max_interval,
						Observer observer)
{
	std::unique_ptr<PurgeWorker> w(new PurgeWorker(retention, max_interval, std::move(observer)));
	w->thread_ = std::thread([p = w.get()] {
		run_thread("purge", [p] { p->run(); }, [p] {
			std::lock_guard lock(p->mutex_);
			return p->stop_;
		});
	});
	return w;
}

PurgeWorker::~PurgeWorker()
{
	stop();
}

void PurgeWorker::wake()
{
	{
		std::lock_guard<std::mutex> lock(mutex_);
		woken_ = true;
	}
	cv_.notify_one();
}

void PurgeWorker::stop()
{
	{
		std::lock_guard<std::mutex> lock(mutex_);
		stop_ = true;
	}
	cv_.notify_one();
	if (thread_.joinable())
		thread_.join();
}

void PurgeWorker::run()
{
	for (;;) {
		auto r = retention_.purge();
		++cycles_;
		if (!r) {
			++failures_;
			LOG(Retention, Error) << "purge failed: " << r.error().message;
		} else {
			purged_ += static_cast<std::uint64_t>(r->total());
		}
		if (observer_)
			observer_(r);

		auto wait = max_interval_;
		auto next = r ? retention_.next_deadline() : std::nullopt;
		if (next) {
			const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
				*next - retention_.now());
			// +1 ms: wake just after the deadline, not just before it.
			wait = std::clamp(until + std::chrono::milliseconds{1},
					  std::chrono::milliseconds{2}, max_interval_);
		}
		std::unique_lock<std::mutex> lock(mutex_);
		cv_.wait_for(lock, wait, [this] { return stop_ || woken_; });
		if (stop_)
			return;
		woken_ = false;
	}
}

} // namespace lethe::retention
