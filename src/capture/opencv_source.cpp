// SPDX-License-Identifier: GPL-3.0-or-later
// OpenCV VideoCapture backend: V4L2 USB cameras, RTSP/HTTP streams, video files; V4L2 listing.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fcntl.h>
#include <linux/videodev2.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <opencv2/videoio.hpp>

#include "lethe/capture/frame_source.h"
#include "lethe/common/unique_fd.h"

namespace lethe::capture {
namespace {

class OpenCvSource final : public FrameSource
{
public:
	OpenCvSource(SourceSpec spec, std::shared_ptr<FramePool> pool)
		: FrameSource(std::move(spec), std::move(pool))
	{
	}

	Status open() override
	{
		close();
		bool ok = false;
		if (spec_.kind == SourceKind::V4l2) {
			int index = -1;
			const std::string &u = spec_.uri;
			const auto *end = u.data() + u.size();
			if (!u.empty() && std::from_chars(u.data(), end, index).ptr == end)
				ok = cap_.open(index, cv::CAP_V4L2);
			else
				ok = cap_.open(u, cv::CAP_V4L2);
		} else {
			// Streams: FFmpeg (or GStreamer) chosen by OpenCV; bounded open/read timeouts
			// so that a dead stream fails instead of hanging the capture thread.
			const std::vector<int> params = {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, 10000,
							 cv::CAP_PROP_READ_TIMEOUT_MSEC, 5000};
			ok = cap_.open(spec_.uri, cv::CAP_ANY, params);
		}
		if (!ok || !cap_.isOpened()) {
			cap_.release();
			return make_error(-ENODEV, "cannot open " + describe());
		}
		if (spec_.width && spec_.height) {
			cap_.set(cv::CAP_PROP_FRAME_WIDTH, spec_.width);
			cap_.set(cv::CAP_PROP_FRAME_HEIGHT, spec_.height);
		}
		if (spec_.fps > 0 && spec_.kind == SourceKind::V4l2)
			cap_.set(cv::CAP_PROP_FPS, spec_.fps);
		if (spec_.kind == SourceKind::V4l2) {
			// Keep the driver queue short: we want the newest frame, not a backlog.
			cap_.set(cv::CAP_PROP_BUFFERSIZE, 2);
			if (spec_.exposure_us) {
				cap_.set(cv::CAP_PROP_AUTO_EXPOSURE, 1); // V4L2 "manual"
				// V4L2 exposure_absolute is in 100 µs units.
				cap_.set(cv::CAP_PROP_EXPOSURE, *spec_.exposure_us / 100.0);
			}
			if (spec_.gain)
				cap_.set(cv::CAP_PROP_GAIN, *spec_.gain);
		}
		// A video file read as a live source is paced at its own frame rate.
		file_interval_ = {};
		if (spec_.kind == SourceKind::Video) {
			double fps = spec_.fps > 0 ? spec_.fps : cap_.get(cv::CAP_PROP_FPS);
			if (fps <= 0 || fps > 240)
				fps = 25;
			file_interval_ = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
				std::chrono::duration<double>(1.0 / fps));
			next_due_ = std::chrono::steady_clock::now();
		}
		return {};
	}

	Result<FramePtr> next(std::chrono::milliseconds) override
	{
		if (!cap_.isOpened())
			return make_error(-EBADF, "source is not open");
		if (file_interval_.count()) {
			std::this_thread::sleep_until(next_due_);
			next_due_ += file_interval_;
		}
		if (!cap_.grab())
			return make_error(spec_.kind == SourceKind::Video ? -ENODATA : -EIO,
					  "no frame from " + describe());
		auto frame = new_frame();
		if (!frame) {
			// Every buffer is in use downstream: this (newest) frame is skipped.
			return make_error(-EAGAIN, "frame pool exhausted");
		}
		if (!cap_.retrieve(frame->image) || frame->image.empty())
			return make_error(-EIO, "cannot decode a frame from " + describe());
		if (frame->image.channels() != 3 || frame->image.depth() != CV_8U)
			return make_error(-EINVAL, "unexpected pixel format from " + describe());
		return FramePtr(std::move(frame));
	}

	void close() override
	{
		if (cap_.isOpened())
			cap_.release();
	}

	bool finite() const override { return spec_.kind == SourceKind::Video; }

private:
	cv::VideoCapture cap_;
	std::chrono::steady_clock::duration file_interval_{};
	std::chrono::steady_clock::time_point next_due_{};
};

} // namespace

std::unique_ptr<FrameSource> make_opencv_source(SourceSpec spec, std::shared_ptr<FramePool> pool)
{
	return std::make_unique<OpenCvSource>(std::move(spec), std::move(pool));
}

std::vector<CameraInfo> list_v4l2_cameras()
{
	std::vector<CameraInfo> out;
	std::error_code ec;
	std::vector<std::filesystem::path> nodes;
	for (const auto &e : std::filesystem::directory_iterator("/dev", ec)) {
		const std::string name = e.path().filename().string();
		if (name.rfind("video", 0) == 0)
			nodes.push_back(e.path());
	}
	std::sort(nodes.begin(), nodes.end());
	for (const auto &node : nodes) {
		const UniqueFD fd(::open(node.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
		if (!fd.isValid())
			continue;
		v4l2_capability cap{};
		const bool ok = ::ioctl(fd.get(), VIDIOC_QUERYCAP, &cap) == 0;
		if (!ok)
			continue;
		const std::uint32_t caps =
			(cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
		// Only nodes that deliver single-planar video capture (skips metadata nodes and
		// the Pi's ISP/codec nodes, which libcamera drives).
		if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING))
			continue;
		auto text = [](const unsigned char *s, std::size_t n) {
			return std::string(reinterpret_cast<const char *>(s), strnlen(reinterpret_cast<const char *>(s), n));
		};
		out.push_back({"v4l2", node.string(), text(cap.card, sizeof(cap.card)),
			       text(cap.driver, sizeof(cap.driver)) + " " +
				       text(cap.bus_info, sizeof(cap.bus_info))});
	}
	return out;
}

} // namespace lethe::capture
