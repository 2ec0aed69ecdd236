// SPDX-License-Identifier: GPL-3.0-or-later
// FrameSource: one interface for every camera backend (libcamera, OpenCV VideoCapture, replay).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lethe/capture/frame.h"
#include "lethe/common/result.h"

namespace lethe::capture {

enum class SourceKind {
	Libcamera, ///< CSI camera through libcamera; uri = libcamera camera id (empty: the first)
	V4l2,      ///< USB/V4L2 camera through OpenCV; uri = /dev/videoN or an index
	Stream,    ///< RTSP/HTTP stream through OpenCV; uri = URL
	Video,     ///< a video file through OpenCV, read at its own pace (live-like)
	Replay,    ///< an image directory or a video file, paced at replay_fps or as fast as possible
};

[[nodiscard]] std::string_view kind_name(SourceKind kind);

/// What a configured camera asks of its backend. 0 / unset = the backend's default.
struct SourceSpec {
	std::string camera_id;          ///< config id, stamped on every frame
	SourceKind kind = SourceKind::Replay;
	std::string uri;
	unsigned width = 0, height = 0; ///< requested frame size in pixels
	double fps = 0;                 ///< requested frame rate (live) / nominal rate (replay, for timestamps)
	std::optional<std::int32_t> exposure_us; ///< manual exposure time (disables AE)
	std::optional<float> gain;      ///< manual analogue gain
	double replay_fps = 0;          ///< replay pacing; 0 = as fast as the pipeline takes frames
	bool loop = false;              ///< replay: start again at the end instead of ending
	bool stills = false;            ///< replay directory: each image is a photo of its own
					///< vehicle, not a video frame (Frame::still)
	bool operator==(const SourceSpec &) const = default;
};

/// A camera or stream. Not thread-safe: one capture thread drives it.
class FrameSource
{
public:
	virtual ~FrameSource() = default;

	/// Open (or reopen after close()) the device/stream/file.
	[[nodiscard]] virtual Status open() = 0;
	/// The next frame. Errors: -EAGAIN no frame within the timeout (try again);
	/// -EBADMSG one input was skipped (a replay file that is not a loadable image; the
	/// message names the file, never its content; try again); -ENODATA a finite source has
	/// ended; anything else: the source failed — close() it and reopen later.
	[[nodiscard]] virtual Result<FramePtr> next(std::chrono::milliseconds timeout) = 0;
	virtual void close() = 0;
	/// True for sources that end (replay without loop).
	[[nodiscard]] virtual bool finite() const { return false; }

	[[nodiscard]] const SourceSpec &spec() const { return spec_; }
	/// For logs and `lethe camera list`: the kind and the uri with any credentials removed.
	[[nodiscard]] std::string describe() const;
	/// Frames this source could not take because every pool buffer was in use.
	[[nodiscard]] std::uint64_t pool_exhausted() const { return pool_->exhausted(); }

protected:
	FrameSource(SourceSpec spec, std::shared_ptr<FramePool> pool)
		: spec_(std::move(spec)), pool_(std::move(pool))
	{
	}
	/// A fresh frame from the pool stamped with camera id, sequence and times (nullptr if
	/// the pool is exhausted).
	std::shared_ptr<Frame> new_frame();

	SourceSpec spec_;
	std::shared_ptr<FramePool> pool_;
	std::uint64_t sequence_ = 0;
};

/// The backend for spec.kind. Fails with -ENOTSUP for libcamera in a build without it.
[[nodiscard]] Result<std::unique_ptr<FrameSource>> create_source(const SourceSpec &spec,
								 std::shared_ptr<FramePool> pool);

/// Backend constructors (one file each).
[[nodiscard]] std::unique_ptr<FrameSource> make_replay_source(SourceSpec spec,
							       std::shared_ptr<FramePool> pool);
[[nodiscard]] std::unique_ptr<FrameSource> make_opencv_source(SourceSpec spec,
							       std::shared_ptr<FramePool> pool);
#ifdef LETHE_HAVE_LIBCAMERA
[[nodiscard]] std::unique_ptr<FrameSource> make_libcamera_source(SourceSpec spec,
								  std::shared_ptr<FramePool> pool);
#endif

/// A camera this machine offers (nothing is opened or acquired to list it).
struct CameraInfo {
	std::string backend; ///< "libcamera" or "v4l2"
	std::string id;      ///< what goes in a camera's `uri`
	std::string model;
	std::string detail;  ///< location / driver / bus
};

/// Every camera found; an empty list (not an error) when there is none.
[[nodiscard]] std::vector<CameraInfo> list_cameras();
[[nodiscard]] std::vector<CameraInfo> list_v4l2_cameras();
#ifdef LETHE_HAVE_LIBCAMERA
[[nodiscard]] std::vector<CameraInfo> list_libcamera_cameras();
#endif

/// Strip user:password@ from a URL for logs.
[[nodiscard]] std::string redact_uri(const std::string &uri);

} // namespace lethe::capture
