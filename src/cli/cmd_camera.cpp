// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe camera list|snapshot|make-replay`: cameras, an annotated aim/focus snapshot, replay sequences.
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/control_client.h"
#include "lethe/capture/frame_source.h"
#include "lethe/capture/image_file.h"
#include "lethe/capture/synthetic.h"
#include "lethe/common/crypto.h"

namespace lethe::cli {
namespace {

nlohmann::json local_cameras()
{
	nlohmann::json j = nlohmann::json::array();
	for (const auto &c : capture::list_cameras())
		j.push_back({{"backend", c.backend}, {"id", c.id}, {"model", c.model},
			     {"detail", c.detail}});
	return j;
}

int list(const std::string &socket, bool json, bool local)
{
	nlohmann::json configured = nlohmann::json::array();
	nlohmann::json available;
	bool from_daemon = false;
	if (!local) {
		auto reply = control_request(socket, {{"command", "camera.list"}});
		if (reply && reply->value("ok", false)) {
			configured = (*reply)["configured"];
			available = (*reply)["available"];
			from_daemon = true;
		} else if (reply) {
			std::fprintf(stderr, "lethe camera list: %s\n",
				     reply->value("error", "refused").c_str());
			return exit_code_for(*reply);
		} else {
			std::fprintf(stderr, "lethe camera list: daemon not reachable (%s); listing "
					     "this machine's cameras\n",
				     reply.error().message.c_str());
		}
	}
	if (!from_daemon)
		available = local_cameras();
	if (json) {
		nlohmann::json out{{"cameras", available}};
		if (from_daemon)
			out["configured"] = configured;
		std::printf("%s\n", out.dump().c_str());
		return kExitOk;
	}
	// The configured cameras are cameras too: the detected ones are listed apart, as "other"
	// cameras when some are configured.
	for (const auto &c : configured)
		std::printf("configured %-10s %-6s %s\n", c.value("id", "").c_str(),
			    c.value("open", false) ? "open" : "DOWN", c.value("source", "").c_str());
	if (available.empty()) {
		std::printf("%s\n", configured.empty() ? "no cameras detected"
						       : "no other cameras detected on this machine");
		return kExitOk;
	}
	std::printf("detected on this machine:\n%-10s %-40s %-24s %s\n", "BACKEND", "ID", "MODEL",
		    "DETAIL");
	for (const auto &c : available)
		std::printf("%-10s %-40s %-24s %s\n", c.value("backend", "").c_str(),
			    c.value("id", "").c_str(), c.value("model", "").c_str(),
			    c.value("detail", "").c_str());
	return kExitOk;
}

/// Can OpenCV write an image named `file` (by its extension)?
bool writable_image_name(const std::string &file)
{
	try {
		return cv::haveImageWriter(file);
	} catch (const cv::Exception &) {
		return false;
	}
}

int snapshot(const std::string &socket, const std::string &camera, const std::string &file,
	     bool json)
{
	// Checked before asking: a snapshot taken (and recorded) for nothing helps nobody.
	if (!file.empty() && !writable_image_name(file)) {
		std::fprintf(stderr,
			     "lethe camera snapshot: %s: unsupported extension '%s' (use .jpg or "
			     ".png)\n",
			     file.c_str(), std::filesystem::path(file).extension().string().c_str());
		return kExitUsage;
	}
	// A snapshot waits for a reader and reads the frame until no plate is legible: on a slow
	// device that can take longer than a status request.
	auto reply = control_request(socket, {{"command", "camera.snapshot"}, {"camera", camera}},
				     std::chrono::seconds(60));
	if (!reply) {
		std::fprintf(stderr, "lethe camera snapshot: %s\n", reply.error().message.c_str());
		return kExitUnavailable;
	}
	const auto &r = *reply;
	if (!r.value("ok", false)) {
		std::fprintf(stderr, "lethe camera snapshot: %s\n", r.value("error", "failed").c_str());
		return exit_code_for(r);
	}
	auto jpeg = crypto::from_base64(r.value("jpeg", ""));
	if (!jpeg) {
		std::fprintf(stderr, "lethe camera snapshot: bad image from the daemon\n");
		return kExitFailure;
	}
	// The one image decoder (header checked, size limited, OpenCV errors caught).
	cv::Mat img;
	const Status decoded = capture::decode_image_into(jpeg->data(), jpeg->size(), img);
	crypto::wipe(jpeg->data(), jpeg->size());
	if (!decoded) {
		std::fprintf(stderr, "lethe camera snapshot: the daemon's image does not decode\n");
		return kExitFailure;
	}
	// Aim and focus aid: detection boxes and a sharpness figure, drawn on the technician's
	// side. No plate text is sent (a technician has no access to reads).
	const auto &plates = r.value("plates", nlohmann::json::array());
	for (const auto &p : plates) {
		const auto &b = p["box"];
		const cv::Rect box(b[0].get<int>(), b[1].get<int>(), b[2].get<int>(), b[3].get<int>());
		cv::rectangle(img, box, cv::Scalar(0, 255, 0), 2);
		char label[32];
		std::snprintf(label, sizeof(label), "%.0f%%", 100.0 * p.value("confidence", 0.0));
		cv::putText(img, label, box.tl() + cv::Point(0, -6), cv::FONT_HERSHEY_SIMPLEX, 0.6,
			    cv::Scalar(0, 255, 0), 2);
	}
	char banner[128];
	std::snprintf(banner, sizeof(banner), "%s  %dx%d  sharpness %.0f  plates %zu",
		      r.value("camera", "").c_str(), img.cols, img.rows, r.value("sharpness", 0.0),
		      plates.size());
	cv::putText(img, banner, {10, 28}, cv::FONT_HERSHEY_SIMPLEX, 0.8, cv::Scalar(0, 0, 0), 4);
	cv::putText(img, banner, {10, 28}, cv::FONT_HERSHEY_SIMPLEX, 0.8, cv::Scalar(255, 255, 255), 2);
	if (!file.empty()) {
		const mode_t old = ::umask(0077); // the image shows the street: owner-only
		std::string why;
		bool ok = false;
		try {
			ok = cv::imwrite(file, img);
		} catch (const cv::Exception &e) {
			why = std::string(": ") + e.err;
		}
		::umask(old);
		if (!ok) {
			std::fprintf(stderr, "lethe camera snapshot: cannot write %s%s\n", file.c_str(),
				     why.c_str());
			return kExitFailure;
		}
	}
	if (json) {
		// Without --annotate only the figures: no file is written.
		nlohmann::json out{{"camera", r.value("camera", "")},
				   {"width", img.cols}, {"height", img.rows},
				   {"frame_width", r.value("frame_width", img.cols)},
				   {"frame_height", r.value("frame_height", img.rows)},
				   {"sharpness", r.value("sharpness", 0.0)}, {"plates", plates}};
		if (!file.empty())
			out["file"] = file;
		std::printf("%s\n", out.dump().c_str());
	} else {
		std::printf("%s written (%zu plate box(es), sharpness %.0f)\n", file.c_str(),
			    plates.size(), r.value("sharpness", 0.0));
	}
	return kExitOk;
}

int run_camera(int argc, char **argv)
{
	CLI::App app{"Cameras: list, annotated aim/focus snapshot, replay sequences", "lethe camera"};
	app.require_subcommand(1);
	bool json = false, local = false;
	std::string socket;

	CLI::App *list_cmd = app.add_subcommand(
		"list", "Configured cameras (from the daemon) and the cameras this machine offers "
			"(libcamera, V4L2); an empty list when there are none");
	list_cmd->add_flag("--json", json, "Machine-readable output");
	list_cmd->add_flag("--local", local, "Do not ask the daemon; enumerate in this process");
	add_socket_option(*list_cmd, socket);

	CLI::App *snap = app.add_subcommand(
		"snapshot", "Fetch the newest frame from the daemon with detection boxes drawn, for "
			    "aiming and focusing (recorded in the audit log)");
	std::string camera, file;
	snap->add_option("--camera", camera, "Camera id (default: the first)");
	snap->add_option("--annotate", file, "Write the annotated image (.jpg or .png) here");
	snap->add_flag("--json", json, "Machine-readable summary (sharpness, plate boxes); "
				       "alone, no image is written");
	add_socket_option(*snap, socket);

	CLI::App *make = app.add_subcommand(
		"make-replay", "Turn still images of vehicles into a replay directory of vehicles "
			       "passing (demos, tests, checking a pipeline without a camera)");
	std::string out;
	std::vector<std::string> stills;
	capture::PassSequenceOptions seq;
	make->add_option("--out", out, "Directory to write frame_NNNNN.jpg into")->required();
	make->add_option("--frames", seq.frames_per_vehicle, "Frames per vehicle (1..200)");
	make->add_option("--gap", seq.gap_frames, "Empty frames between vehicles (0..200)");
	std::string frame_size;
	make->add_option("--size", frame_size, "Frame size WIDTHxHEIGHT (default: the first image's)");
	make->add_option("images", stills, "Still images, one vehicle each")->required();
	if (const auto exit_code = parse_arguments(app, argc, argv))
		return *exit_code;
	if (make->parsed()) {
		if (!frame_size.empty() &&
		    (std::sscanf(frame_size.c_str(), "%dx%d", &seq.width, &seq.height) != 2 ||
		     seq.width < 16 || seq.height < 16 || seq.width > 8192 || seq.height > 8192)) {
			std::fprintf(stderr, "lethe camera make-replay: --size wants WIDTHxHEIGHT, 16..8192\n");
			return kExitUsage;
		}
		std::vector<std::filesystem::path> paths(stills.begin(), stills.end());
		auto n = capture::write_pass_sequence(paths, out, seq);
		if (!n) {
			std::fprintf(stderr, "lethe camera make-replay: %s\n", n.error().message.c_str());
			return kExitFailure;
		}
		std::printf("%u frames written to %s\n", *n, out.c_str());
		return kExitOk;
	}
	if (snap->parsed()) {
		if (file.empty() && !json) {
			std::fprintf(stderr, "lethe camera snapshot: give --annotate FILE, --json, or "
					     "both\n");
			return kExitUsage;
		}
		return snapshot(socket, camera, file, json);
	}
	return list(socket, json, local);
}

} // namespace

LETHE_COMMAND("camera", "List cameras, take an annotated aim/focus snapshot", run_camera);

} // namespace lethe::cli
