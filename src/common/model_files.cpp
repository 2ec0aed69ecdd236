// SPDX-License-Identifier: GPL-3.0-or-later
// Where Lethe's shipped model files are: the installed models folder, else the source tree's.
#include "lethe/common/model_files.h"

#include <fstream>

namespace lethe {

bool readable_file(const std::filesystem::path &path)
{
	std::error_code ec;
	if (!std::filesystem::is_regular_file(path, ec))
		return false;
	const std::ifstream f(path, std::ios::binary);
	return f.good();
}

std::string find_model_file(const std::filesystem::path &relative)
{
	for (const char *dir : {LETHE_MODEL_DIR, LETHE_SOURCE_MODEL_DIR}) {
		const auto p = std::filesystem::path(dir) / relative;
		if (readable_file(p))
			return p.string();
	}
	return {};
}

} // namespace lethe
