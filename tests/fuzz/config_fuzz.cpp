// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: the lethed TOML configuration parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lethe/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);
	auto config = lethe::config::parse(text, "fuzz.toml");
	(void)config.ok();
	return 0;
}
