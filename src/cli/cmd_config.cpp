// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe config check FILE`: parse a lethed configuration, check what it names, report FILE:LINE.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/arguments.h"
#include "cli/command.h"
#include "lethe/config/config.h"

namespace lethe::cli {
namespace {

int run_config(int argc, char **argv)
{
	CLI::App app{"Check lethed configuration files", "lethe config"};
	app.require_subcommand(1);
	std::string file = config::kDefaultPath;
	bool json = false;
	bool text_only = false;
	CLI::App *check = app.add_subcommand(
		"check", "Parse FILE (default /etc/lethe/lethed.toml) and check every file it names "
			 "as lethed would; exit 0 if valid, 1 with FILE:LINE errors if not");
	check->add_option("file", file, "Configuration file (TOML)");
	check->add_flag("--json", json, "Machine-readable result");
	check->add_flag("--text-only", text_only,
			"Check the text only, not the files it names (e.g. on another machine)");
	if (const auto exit_code = parse_arguments(app, argc, argv))
		return *exit_code;

	auto cfg = config::load(file);
	if (cfg && !text_only)
		if (Status files = config::check_files(*cfg); !files)
			cfg = files.error();
	if (json) {
		nlohmann::json j{{"file", file}, {"valid", cfg.ok()}};
		if (cfg) {
			j["device_id"] = cfg->device.id;
			j["cameras"] = cfg->cameras.size();
			j["brokers"] = cfg->brokers.size();
		} else {
			j["errors"] = nlohmann::json::array();
			std::string::size_type start = 0;
			const std::string &m = cfg.error().message;
			while (start <= m.size()) {
				const auto end = m.find('\n', start);
				j["errors"].push_back(m.substr(start, end - start));
				if (end == std::string::npos)
					break;
				start = end + 1;
			}
		}
		std::printf("%s\n", j.dump().c_str());
		return cfg ? kExitOk : kExitFailure;
	}
	if (!cfg) {
		std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
		return kExitFailure;
	}
	std::printf("%s: valid (device %s, %zu camera(s), %zu broker(s))\n", file.c_str(),
		    cfg->device.id.c_str(), cfg->cameras.size(), cfg->brokers.size());
	return kExitOk;
}

} // namespace

LETHE_COMMAND("config", "Check a lethed configuration file", run_config);

} // namespace lethe::cli
