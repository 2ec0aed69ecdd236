// SPDX-License-Identifier: GPL-3.0-or-later
// PlateDetector factory: backends by name.
#include "lethe/detect/plate_detector.h"

#include "lethe/detect/classical_detector.h"

namespace lethe::detect {

Result<std::unique_ptr<PlateDetector>> PlateDetector::create(std::string_view name,
							      const DetectorOptions &options)
{
	if (name == "classical")
		return std::unique_ptr<PlateDetector>(new ClassicalDetector(options));
	return make_error(-EINVAL, "unknown detector '" + std::string(name) + "' (classical)");
}

std::vector<std::string> PlateDetector::backends()
{
	return {"classical"};
}

} // namespace lethe::detect
