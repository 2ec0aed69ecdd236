// SPDX-License-Identifier: GPL-3.0-or-later
// libcamera backend: CSI cameras (Raspberry Pi); size, frame rate, exposure and gain controls.
//
// Coded to the API that Debian's libcamera 0.0.3 and Raspberry Pi OS's newer libcamera both
// provide: CameraManager, generateConfiguration(roles vector), FrameBufferAllocator, Request
// with reuse(ReuseBuffers), requestCompleted signal, ControlList::set with Span controls.
#include <sys/mman.h>

#include <array>
#include <cstdlib>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>

#include <libcamera/libcamera.h>
#include <opencv2/imgproc.hpp>

#include "lethe/capture/frame_source.h"
#include "lethe/common/log.h"

namespace lethe::capture {
namespace {

namespace lc = libcamera;

/// libcamera allows one CameraManager per process: share it between sources and listing.
std::shared_ptr<lc::CameraManager> camera_manager()
{
	static std::mutex mutex;
	static std::weak_ptr<lc::CameraManager> weak;
	std::lock_guard lock(mutex);
	if (auto cm = weak.lock())
		return cm;
	static const bool quiet = [] {
		// libcamera's own INFO/WARN chatter (e.g. "No IPA found" on a PC) goes to
		// stderr; keep its errors unless the user asks for more.
		::setenv("LIBCAMERA_LOG_LEVELS", "*:ERROR", 0);
		lc::logSetLevel("*", "ERROR");
		return true;
	}();
	(void)quiet;
	auto cm = std::shared_ptr<lc::CameraManager>(new lc::CameraManager(),
						     [](lc::CameraManager *m) {
							     m->stop();
							     delete m;
						     });
	if (cm->start() != 0)
		return nullptr;
	weak = cm;
	return cm;
}

class LibcameraSource final : public FrameSource
{
public:
	LibcameraSource(SourceSpec spec, std::shared_ptr<FramePool> pool)
		: FrameSource(std::move(spec), std::move(pool))
	{
	}
	~LibcameraSource() override { close(); }

	Status open() override
	{
		close();
		manager_ = camera_manager();
		if (!manager_)
			return make_error(-ENODEV, "libcamera camera manager failed to start");
		const auto cameras = manager_->cameras();
		if (spec_.uri.empty()) {
			if (!cameras.empty())
				camera_ = cameras.front();
		} else {
			camera_ = manager_->get(spec_.uri);
		}
		if (!camera_)
			return make_error(-ENODEV, spec_.uri.empty() ? "no libcamera camera present"
								      : "libcamera camera '" + spec_.uri + "' not found");
		if (camera_->acquire() != 0) {
			camera_.reset();
			return make_error(-EBUSY, "camera is in use by another process");
		}
		acquired_ = true;
		disconnected_ = false;
		camera_->disconnected.connect(this, &LibcameraSource::on_disconnected);

		std::vector<lc::StreamRole> roles{lc::StreamRole::VideoRecording};
		config_ = camera_->generateConfiguration(roles);
		if (!config_ || config_->size() != 1)
			return fail(-EINVAL, "camera offers no video stream");
		lc::StreamConfiguration &sc = config_->at(0);
		// DRM RGB888 is B,G,R in memory: OpenCV's BGR, no conversion.
		sc.pixelFormat = lc::formats::RGB888;
		if (spec_.width && spec_.height)
			sc.size = lc::Size(spec_.width, spec_.height);
		sc.bufferCount = 4;
		if (config_->validate() == lc::CameraConfiguration::Invalid)
			return fail(-EINVAL, "camera rejected the stream configuration");
		if (sc.pixelFormat != lc::formats::RGB888 && sc.pixelFormat != lc::formats::YUV420) {
			sc.pixelFormat = lc::formats::YUV420;
			if (config_->validate() == lc::CameraConfiguration::Invalid ||
			    (sc.pixelFormat != lc::formats::YUV420))
				return fail(-EINVAL, "camera offers neither RGB888 nor YUV420");
		}
		if (camera_->configure(config_.get()) != 0)
			return fail(-EIO, "camera configure failed");
		stream_ = sc.stream();
		format_ = sc.pixelFormat;
		size_ = cv::Size(static_cast<int>(sc.size.width), static_cast<int>(sc.size.height));
		stride_ = sc.stride;

		allocator_ = std::make_unique<lc::FrameBufferAllocator>(camera_);
		if (allocator_->allocate(stream_) < 0)
			return fail(-ENOMEM, "cannot allocate camera buffers");
		for (const auto &buffer : allocator_->buffers(stream_)) {
			// Map each buffer once; planes of one buffer may share a dmabuf.
			const auto &planes = buffer->planes();
			std::size_t length = 0;
			for (const auto &p : planes)
				length = std::max<std::size_t>(length, p.offset + p.length);
			void *mem = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, planes[0].fd.get(), 0);
			if (mem == MAP_FAILED)
				return fail(-errno, "cannot map a camera buffer");
			maps_.push_back({buffer.get(), static_cast<std::uint8_t *>(mem), length});
			auto request = camera_->createRequest();
			if (!request || request->addBuffer(stream_, buffer.get()) != 0)
				return fail(-ENOMEM, "cannot create a capture request");
			requests_.push_back(std::move(request));
		}

		lc::ControlList controls(camera_->controls());
		if (spec_.fps > 0) {
			const std::int64_t us = static_cast<std::int64_t>(1e6 / spec_.fps);
			const std::array<const std::int64_t, 2> limits{us, us};
			controls.set(lc::controls::FrameDurationLimits,
				     lc::Span<const std::int64_t, 2>(limits));
		}
		if (spec_.exposure_us) {
			controls.set(lc::controls::AeEnable, false);
			controls.set(lc::controls::ExposureTime, *spec_.exposure_us);
		}
		if (spec_.gain)
			controls.set(lc::controls::AnalogueGain, *spec_.gain);

		camera_->requestCompleted.connect(this, &LibcameraSource::on_request_completed);
		if (camera_->start(&controls) != 0)
			return fail(-EIO, "camera start failed");
		started_ = true;
		for (auto &r : requests_)
			if (camera_->queueRequest(r.get()) != 0)
				return fail(-EIO, "cannot queue a capture request");
		return {};
	}

	Result<FramePtr> next(std::chrono::milliseconds timeout) override
	{
		lc::Request *request = nullptr;
		{
			std::unique_lock lock(mutex_);
			if (!cv_.wait_for(lock, timeout,
					  [this] { return !completed_.empty() || disconnected_; }))
				return make_error(-EAGAIN, "no frame yet");
			if (disconnected_)
				return make_error(-ENODEV, "camera disconnected");
			request = completed_.front();
			completed_.pop_front();
		}
		Result<FramePtr> out = make_error(-EAGAIN, "frame dropped");
		if (request->status() == lc::Request::RequestComplete) {
			lc::FrameBuffer *buffer = request->buffers().begin()->second;
			if (buffer->metadata().status == lc::FrameMetadata::FrameSuccess)
				out = convert(buffer);
		} else {
			out = make_error(-EIO, "capture request cancelled");
		}
		request->reuse(lc::Request::ReuseBuffers);
		if (camera_->queueRequest(request) != 0)
			return make_error(-EIO, "cannot requeue a capture request");
		return out;
	}

	void close() override
	{
		if (camera_) {
			if (started_)
				camera_->stop();
			camera_->requestCompleted.disconnect(this);
			camera_->disconnected.disconnect(this);
		}
		started_ = false;
		requests_.clear();
		for (auto &m : maps_)
			::munmap(m.data, m.length);
		maps_.clear();
		if (allocator_ && stream_)
			allocator_->free(stream_);
		allocator_.reset();
		config_.reset();
		if (camera_ && acquired_)
			camera_->release();
		acquired_ = false;
		camera_.reset();
		stream_ = nullptr;
		std::lock_guard lock(mutex_);
		completed_.clear();
	}

private:
	struct Mapping {
		lc::FrameBuffer *buffer;
		std::uint8_t *data;
		std::size_t length;
	};

	Status fail(int code, const std::string &message)
	{
		close();
		return make_error(code, message);
	}

	void on_request_completed(lc::Request *request)
	{
		if (request->status() == lc::Request::RequestCancelled)
			return;
		{
			std::lock_guard lock(mutex_);
			completed_.push_back(request);
		}
		cv_.notify_one();
	}

	void on_disconnected()
	{
		{
			std::lock_guard lock(mutex_);
			disconnected_ = true;
		}
		cv_.notify_one();
	}

	Result<FramePtr> convert(lc::FrameBuffer *buffer)
	{
		const Mapping *map = nullptr;
		for (const auto &m : maps_)
			if (m.buffer == buffer)
				map = &m;
		if (!map)
			return make_error(-EIO, "unknown camera buffer");
		auto frame = new_frame();
		if (!frame)
			return make_error(-EAGAIN, "frame pool exhausted");
		const auto &planes = buffer->planes();
		std::uint8_t *base = map->data + planes[0].offset;
		if (format_ == lc::formats::RGB888) {
			const cv::Mat view(size_, CV_8UC3, base, stride_);
			view.copyTo(frame->image);
		} else {
			// YUV420 (I420): luma rows of `stride`, then the two chroma planes with
			// stride/2, which is the (h*3/2)-row layout OpenCV's I420 conversion reads.
			const cv::Mat yuv(size_.height * 3 / 2, size_.width, CV_8UC1, base, stride_);
			cv::cvtColor(yuv, frame->image, cv::COLOR_YUV2BGR_I420);
		}
		return FramePtr(std::move(frame));
	}

	std::shared_ptr<lc::CameraManager> manager_;
	std::shared_ptr<lc::Camera> camera_;
	std::unique_ptr<lc::CameraConfiguration> config_;
	std::unique_ptr<lc::FrameBufferAllocator> allocator_;
	std::vector<std::unique_ptr<lc::Request>> requests_;
	std::vector<Mapping> maps_;
	lc::Stream *stream_ = nullptr;
	lc::PixelFormat format_;
	cv::Size size_;
	unsigned stride_ = 0;
	bool acquired_ = false;
	bool started_ = false;

	std::mutex mutex_;
	std::condition_variable cv_;
	std::deque<lc::Request *> completed_;
	bool disconnected_ = false;
};

} // namespace

std::unique_ptr<FrameSource> make_libcamera_source(SourceSpec spec, std::shared_ptr<FramePool> pool)
{
	return std::make_unique<LibcameraSource>(std::move(spec), std::move(pool));
}

std::vector<CameraInfo> list_libcamera_cameras()
{
	std::vector<CameraInfo> out;
	auto cm = camera_manager();
	if (!cm)
		return out;
	for (const auto &camera : cm->cameras()) {
		CameraInfo info{"libcamera", camera->id(), "", ""};
		const auto &props = camera->properties();
		if (auto model = props.get(lc::properties::Model))
			info.model = *model;
		if (auto location = props.get(lc::properties::Location)) {
			switch (*location) {
			case lc::properties::CameraLocationFront: info.detail = "front"; break;
			case lc::properties::CameraLocationBack: info.detail = "back"; break;
			default: info.detail = "external"; break;
			}
		}
		out.push_back(std::move(info));
	}
	return out;
}

} // namespace lethe::capture
