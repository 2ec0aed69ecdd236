// SPDX-License-Identifier: GPL-3.0-or-later
// Daemon: aim snapshots for technicians — plates masked, downscaled, rate-limited per user.
#include "daemon.h"

#include <algorithm>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "lethe/common/crypto.h"

namespace lethe::daemon {

using json = nlohmann::json;
using namespace std::chrono_literals;

bool Daemon::take_snapshot_token(uid_t uid)
{
	// A token bucket per uid: an aiming aid, not a video feed (issue 15.1: 123 frames in 10 s).
	const auto now = std::chrono::steady_clock::now();
	std::lock_guard lock(snapshot_mutex_);
	auto [it, fresh] = snapshot_budget_.try_emplace(uid, SnapshotBudget{kSnapshotBurst, now});
	auto &b = it->second;
	const double refill = std::chrono::duration<double>(now - b.refilled) / kSnapshotEvery;
	b.tokens = std::min(kSnapshotBurst, b.tokens + refill);
	b.refilled = now;
	if (b.tokens < 1)
		return false;
	b.tokens -= 1;
	return true;
}

json Daemon::snapshot_json(const json &request, uid_t uid)
{
	if (request.contains("camera") && !request["camera"].is_string())
		return error_reply("usage", "\"camera\" must be a string");
	if (!take_snapshot_token(uid))
		return error_reply("busy",
		                   "at most " + std::to_string(static_cast<int>(kSnapshotBurst)) +
		                       " snapshots at once and one per " +
		                       std::to_string(kSnapshotEvery.count()) + " s per user");
	const std::string camera = request.value("camera", "");
	Result<SnapshotResult> snap = make_error(-ENODEV, "no pipeline");
	{
		std::lock_guard lock(pipeline_mutex_);
		if (pipeline_)
			snap = pipeline_->snapshot(camera);
	}
	if (!snap)
		return error_reply(snap.error().code == -ENOENT ? "usage" : "failed",
		                   snap.error().message);
	// Downscaled: enough to aim and frame the scene, less to read from (the plates are masked).
	const double scale =
	    std::min(1.0, static_cast<double>(kSnapshotMaxWidth) / snap->frame.cols);
	cv::Mat small;
	cv::resize(snap->frame, small, cv::Size(), scale, scale, cv::INTER_AREA);
	snap->frame.setTo(cv::Scalar::all(0));
	const auto scaled = [scale](const cv::Rect &r) {
		return json::array({static_cast<int>(r.x * scale), static_cast<int>(r.y * scale),
		                    static_cast<int>(r.width * scale),
		                    static_cast<int>(r.height * scale)});
	};
	json plates = json::array();
	for (const auto &p : snap->plates) // boxes and confidence only: no reads for a technician
		plates.push_back({{"box", scaled(p.box)}, {"confidence", p.confidence}});
	json masked = json::array();
	for (const auto &m : snap->masked)
		masked.push_back(scaled(m));
	std::vector<std::uint8_t> jpeg;
	cv::imencode(".jpg", small, jpeg, {cv::IMWRITE_JPEG_QUALITY, 80});
	json reply{{"ok", true},
	           {"camera", snap->camera_id},
	           {"width", small.cols},
	           {"height", small.rows},
	           {"frame_width", snap->frame.cols},
	           {"frame_height", snap->frame.rows},
	           {"sharpness", snap->sharpness},
	           {"plates", plates},
	           {"masked", masked},
	           {"jpeg", crypto::to_base64(jpeg.data(), jpeg.size())}};
	crypto::wipe(jpeg.data(), jpeg.size());
	small.setTo(cv::Scalar::all(0));
	return reply;
}

} // namespace lethe::daemon
