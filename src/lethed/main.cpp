// SPDX-License-Identifier: GPL-3.0-or-later
// `lethed`: the Lethe daemon (capture → detect → OCR → track → match → publish / forget).
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

int main(int argc, char **argv)
{
	CLI::App app{"Lethe daemon: reads plates, publishes hits, forgets everything else",
		     "lethed"};
	std::string config_path = "/etc/lethe/lethed.toml";
	bool exit_when_done = false;
	app.add_option("--config", config_path, "Configuration file (TOML)");
	app.add_flag("--exit-when-done", exit_when_done,
		     "For finite sources: process everything, flush the outbox, exit 0");
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		return app.exit(e);
	}
	try {
		std::fprintf(stderr, "lethed: the pipeline is not assembled yet (issue 5)\n");
		return 1;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "lethed: fatal: %s\n", e.what());
		return 1;
	}
}
