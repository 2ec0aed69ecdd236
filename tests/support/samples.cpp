// SPDX-License-Identifier: GPL-3.0-or-later
// Reads tests/data/samples/labels.tsv.
#include "support/samples.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "lethe/capture/image_file.h"

namespace lethe::test {

std::vector<LabelledSample> labelled_samples()
{
	std::ifstream in(std::string(LETHE_TEST_DATA_DIR) + "/samples/labels.tsv");
	std::string line;
	std::getline(in, line); // header
	std::vector<LabelledSample> out;
	while (std::getline(in, line)) {
		std::istringstream ss(line);
		LabelledSample s;
		ss >> s.file >> s.box.x >> s.box.y >> s.box.width >> s.box.height >> s.plate >> s.region;
		out.push_back(s);
	}
	return out;
}

cv::Mat load_sample(const std::string &file)
{
	auto m = capture::load_image_file(std::string(LETHE_TEST_DATA_DIR) + "/samples/" + file);
	EXPECT_TRUE(m.ok()) << file << ": " << (m.ok() ? "" : m.error().message);
	return m.ok() ? *m : cv::Mat();
}

} // namespace lethe::test
