// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe camera list`: cameras this machine offers (libcamera and V4L2); empty list without any.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "lethe/capture/frame_source.h"

namespace lethe::cli {
namespace {

int list_local(bool json)
{
	const auto cameras = capture::list_cameras();
	if (json) {
		nlohmann::json j = nlohmann::json::array();
		for (const auto &c : cameras)
			j.push_back({{"backend", c.backend}, {"id", c.id}, {"model", c.model},
				     {"detail", c.detail}});
		std::printf("%s\n", nlohmann::json{{"cameras", j}}.dump().c_str());
		return kExitOk;
	}
	if (cameras.empty()) {
		std::printf("no cameras found\n");
		return kExitOk;
	}
	std::printf("%-10s %-40s %-24s %s\n", "BACKEND", "ID", "MODEL", "DETAIL");
	for (const auto &c : cameras)
		std::printf("%-10s %-40s %-24s %s\n", c.backend.c_str(), c.id.c_str(),
			    c.model.c_str(), c.detail.c_str());
	return kExitOk;
}

int run_camera(int argc, char **argv)
{
	CLI::App app{"Cameras: list what this machine offers", "lethe camera"};
	app.require_subcommand(1);
	bool json = false;
	CLI::App *list = app.add_subcommand("list", "List cameras (libcamera and V4L2)");
	list->add_flag("--json", json, "Machine-readable output");
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		return app.exit(e) == 0 ? kExitOk : kExitUsage;
	}
	return list_local(json);
}

} // namespace

LETHE_COMMAND("camera", "List cameras, take an annotated aim/focus snapshot", run_camera);

} // namespace lethe::cli
