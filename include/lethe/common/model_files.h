// SPDX-License-Identifier: GPL-3.0-or-later
// Where Lethe's shipped model files are: the installed models folder, else the source tree's.
#pragma once

#include <filesystem>
#include <string>

namespace lethe {

/// Is `path` a regular file this process can open for reading?
[[nodiscard]] bool readable_file(const std::filesystem::path &path);

/// The shipped model file `relative` (e.g. "detector/plates.onnx", "ocr/calibration-eng.tsv"):
/// under the installed models folder (LETHE_MODEL_DIR) first, then the source tree's models/
/// (running from a build folder); empty if neither holds a readable one.
[[nodiscard]] std::string find_model_file(const std::filesystem::path &relative);

} // namespace lethe
