// SPDX-License-Identifier: GPL-3.0-or-later
// FrameSource helpers shared by the backends, the backend factory and camera listing.
#include "lethe/capture/frame_source.h"

#include <cerrno>

namespace lethe::capture {

std::string_view kind_name(SourceKind kind)
{
	switch (kind) {
	case SourceKind::Libcamera: return "libcamera";
	case SourceKind::V4l2: return "v4l2";
	case SourceKind::Stream: return "stream";
	case SourceKind::Video: return "video";
	case SourceKind::Replay: return "replay";
	}
	return "?";
}

std::string redact_uri(const std::string &uri)
{
	const auto scheme = uri.find("://");
	if (scheme == std::string::npos)
		return uri;
	const auto host_start = scheme + 3;
	const auto path = uri.find('/', host_start);
	const auto at = uri.rfind('@', path == std::string::npos ? uri.size() : path);
	if (at == std::string::npos || at < host_start)
		return uri;
	return uri.substr(0, host_start) + "***@" + uri.substr(at + 1);
}

std::string FrameSource::describe() const
{
	return std::string(kind_name(spec_.kind)) + ":" + redact_uri(spec_.uri);
}

std::shared_ptr<Frame> FrameSource::new_frame()
{
	auto frame = pool_->acquire();
	if (!frame)
		return nullptr;
	frame->camera_id = spec_.camera_id;
	frame->sequence = ++sequence_;
	frame->monotonic = std::chrono::steady_clock::now();
	frame->wall = std::chrono::system_clock::now();
	frame->still = false;
	return frame;
}

Result<std::unique_ptr<FrameSource>> create_source(const SourceSpec &spec,
						   std::shared_ptr<FramePool> pool)
{
	if (!pool)
		return make_error(-EINVAL, "no frame pool");
	switch (spec.kind) {
	case SourceKind::Replay:
		return make_replay_source(spec, std::move(pool));
	case SourceKind::V4l2:
	case SourceKind::Stream:
	case SourceKind::Video:
		return make_opencv_source(spec, std::move(pool));
	case SourceKind::Libcamera:
#ifdef LETHE_HAVE_LIBCAMERA
		return make_libcamera_source(spec, std::move(pool));
#else
		return make_error(-ENOTSUP, "this build has no libcamera backend "
					    "(libcamera was not found at build time)");
#endif
	}
	return make_error(-EINVAL, "unknown source kind");
}

std::vector<CameraInfo> list_cameras()
{
	std::vector<CameraInfo> all;
#ifdef LETHE_HAVE_LIBCAMERA
	all = list_libcamera_cameras();
#endif
	auto v4l2 = list_v4l2_cameras();
	all.insert(all.end(), v4l2.begin(), v4l2.end());
	return all;
}

} // namespace lethe::capture
