// SPDX-License-Identifier: GPL-3.0-or-later
// PlateDetector factory: backends by name.
#include "lethe/detect/plate_detector.h"

#include "lethe/detect/classical_detector.h"
#include "lethe/detect/combined_detector.h"
#include "lethe/detect/dnn_detector.h"

namespace lethe::detect {

Result<std::unique_ptr<PlateDetector>> PlateDetector::create(std::string_view name,
							      const DetectorOptions &options)
{
	if (name == "classical")
		return std::unique_ptr<PlateDetector>(new ClassicalDetector(options));
	if (name == "dnn" || name == "both") {
		auto dnn = DnnDetector::create(options);
		if (!dnn)
			return dnn.error();
		if (name == "dnn")
			return std::unique_ptr<PlateDetector>(std::move(dnn).value());
		return std::unique_ptr<PlateDetector>(new CombinedDetector(
			std::make_unique<ClassicalDetector>(options), std::move(dnn).value()));
	}
	return make_error(-EINVAL,
			  "unknown detector '" + std::string(name) + "' (classical, dnn, both)");
}

std::vector<std::string> PlateDetector::backends()
{
	return {"classical", "dnn", "both"};
}

} // namespace lethe::detect
