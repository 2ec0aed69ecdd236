// SPDX-License-Identifier: GPL-3.0-or-later
// Reads tests/data/samples/labels.tsv.
#include "support/samples.h"

#include <fstream>
#include <sstream>

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

} // namespace lethe::test
