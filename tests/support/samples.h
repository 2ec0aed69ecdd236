// SPDX-License-Identifier: GPL-3.0-or-later
// The shipped synthetic sample photos (tests/data/samples) and their labels.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace lethe::test {

/// One row of tests/data/samples/labels.tsv: the photo, its plate rim box, text and region.
struct LabelledSample {
	std::string file; ///< name inside tests/data/samples
	cv::Rect box;
	std::string plate;
	std::string region; ///< "us", "eu", "br"
};

/// Every labelled sample, in file order (the header line skipped).
[[nodiscard]] std::vector<LabelledSample> labelled_samples();

/// The sample photo `file` (a name inside tests/data/samples) as 8-bit BGR, loaded the way
/// `lethe read` loads files; a failed gtest expectation and an empty Mat if it cannot be.
[[nodiscard]] cv::Mat load_sample(const std::string &file);

} // namespace lethe::test
