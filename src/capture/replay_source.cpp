// SPDX-License-Identifier: GPL-3.0-or-later
// Replay backend: an image directory (sorted by name) or a video file, paced or as fast as possible.
#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <thread>

#include <opencv2/videoio.hpp>

#include "lethe/capture/frame_source.h"
#include "lethe/capture/image_file.h"

namespace lethe::capture {
namespace {

namespace fs = std::filesystem;

class ReplaySource final : public FrameSource
{
public:
	ReplaySource(SourceSpec spec, std::shared_ptr<FramePool> pool)
		: FrameSource(std::move(spec), std::move(pool))
	{
	}

	Status open() override
	{
		close();
		std::error_code ec;
		const fs::path path = spec_.uri;
		if (fs::is_directory(path, ec)) {
			auto files = list_image_files(path);
			if (!files)
				return files.error();
			files_ = std::move(files).value();
			if (files_.empty())
				return make_error(-ENOENT, "no images in " + path.string());
		} else if (fs::is_regular_file(path, ec)) {
			if (spec_.stills)
				return make_error(-EINVAL, path.string() + " is a file; stills = true "
							      "wants a directory of photos");
			if (!video_.open(path.string(), cv::CAP_ANY) || !video_.isOpened())
				return make_error(-EIO, "cannot open video " + path.string());
		} else {
			return make_error(-ENOENT, path.string() + " does not exist");
		}
		index_ = 0;
		base_ = emitted_;
		start_ = std::chrono::steady_clock::now();
		wall_start_ = std::chrono::system_clock::now();
		// Keep timestamps increasing across a reopen even when replay ran ahead of them.
		if (emitted_ > 0 && start_ <= last_monotonic_) {
			const auto ahead = last_monotonic_ - start_ + std::chrono::milliseconds(40);
			start_ += ahead;
			wall_start_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(ahead);
		}
		opened_ = true;
		return {};
	}

	Result<FramePtr> next(std::chrono::milliseconds timeout) override
	{
		if (!opened_)
			return make_error(-EBADF, "replay source is not open");
		if (done())
			return make_error(-ENODATA, "end of replay");

		// Pacing: frame n is due at start + n / replay_fps.
		if (spec_.replay_fps > 0) {
			const auto due = start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
							  std::chrono::duration<double>(static_cast<double>(emitted_ - base_) / spec_.replay_fps));
			const auto now = std::chrono::steady_clock::now();
			if (due > now + timeout) {
				std::this_thread::sleep_for(timeout);
				return make_error(-EAGAIN, "not yet due");
			}
			std::this_thread::sleep_until(due);
		}

		// Replay is lossless: wait for a free buffer rather than skip a frame.
		auto frame = new_frame();
		const auto give_up = std::chrono::steady_clock::now() + timeout;
		while (!frame) {
			if (std::chrono::steady_clock::now() >= give_up) {
				return make_error(-EAGAIN, "no free frame buffer");
			}
			std::this_thread::sleep_for(std::chrono::milliseconds(2));
			frame = new_frame();
		}
		frame->sequence = emitted_ + 1;
		sequence_ = frame->sequence;

		Status st = files_.empty() ? read_video(*frame) : read_image(*frame);
		if (!st) {
			if (st.error().code == -ENODATA)
				return st.error();
			// The directory itself vanished (unmounted, removed): a source failure.
			std::error_code ec;
			if (!fs::is_directory(spec_.uri, ec) && !files_.empty())
				return make_error(-ENODEV, spec_.uri + " has gone");
			// A bad file in a directory is skipped, not fatal (and named in the log).
			if (!files_.empty())
				return st.error();
			return st.error();
		}

		// Timestamps follow the nominal rate so tracking does not depend on how fast we run.
		const double rate = spec_.replay_fps > 0 ? spec_.replay_fps : (spec_.fps > 0 ? spec_.fps : 25.0);
		const auto offset = std::chrono::duration<double>(static_cast<double>(emitted_ - base_) / rate);
		frame->monotonic = start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(offset);
		frame->still = spec_.stills && !files_.empty();
		frame->wall = wall_start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(offset);
		last_monotonic_ = frame->monotonic;
		++emitted_;
		return FramePtr(std::move(frame));
	}

	void close() override
	{
		files_.clear();
		if (video_.isOpened())
			video_.release();
		opened_ = false;
	}

	bool finite() const override { return !spec_.loop; }

private:
	bool done() const { return files_.empty() ? false : (!spec_.loop && index_ >= files_.size()); }

	Status read_image(Frame &frame)
	{
		if (index_ >= files_.size()) {
			if (!spec_.loop)
				return make_error(-ENODATA, "end of replay");
			index_ = 0;
		}
		const fs::path &p = files_[index_++];
		// Header checked against the pixel limit before decoding; decoded straight into
		// the pooled buffer (reused when the size is unchanged). Only the file's name is
		// reported, never its content.
		if (Status st = load_image_file_into(p.string(), frame.image); !st)
			return make_error(-EBADMSG, p.filename().string() + ": " + st.error().message);
		return {};
	}

	Status read_video(Frame &frame)
	{
		if (!video_.read(frame.image) || frame.image.empty()) {
			if (!spec_.loop || emitted_ == 0)
				return make_error(-ENODATA, "end of video");
			video_.set(cv::CAP_PROP_POS_FRAMES, 0);
			if (!video_.read(frame.image) || frame.image.empty())
				return make_error(-EIO, "video cannot be rewound");
		}
		return {};
	}

	std::vector<fs::path> files_;
	cv::VideoCapture video_;
	std::size_t index_ = 0;
	std::uint64_t emitted_ = 0;
	std::uint64_t base_ = 0;
	bool opened_ = false;
	std::chrono::steady_clock::time_point start_{};
	std::chrono::steady_clock::time_point last_monotonic_{};
	std::chrono::system_clock::time_point wall_start_{};
};

} // namespace

std::unique_ptr<FrameSource> make_replay_source(SourceSpec spec, std::shared_ptr<FramePool> pool)
{
	return std::make_unique<ReplaySource>(std::move(spec), std::move(pool));
}

} // namespace lethe::capture
