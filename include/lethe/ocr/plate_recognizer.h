// SPDX-License-Identifier: GPL-3.0-or-later
// PlateRecognizer: the interface every line-OCR backend implements, and its factory.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "lethe/common/result.h"
#include "lethe/ocr/plate_syntax.h"

namespace lethe::ocr {

/// What a recogniser read on one line: per character position its alternatives (best
/// first, probabilities in 0..1) and its box in line-image pixels.
struct LineRead {
	std::vector<CharAlternatives> chars;
	std::vector<cv::Rect> boxes;

	/// The best alternative of every position.
	[[nodiscard]] std::string text() const;
	/// Mean of the best alternatives' probabilities (0 for an empty read).
	[[nodiscard]] float mean_confidence() const;
};

struct RecognizerOptions {
	/// Tesseract: directory holding `<language>.traineddata`; empty = search (see
	/// find_tessdata()).
	std::string data_dir;
	std::string language = "eng";
	/// Tesseract: the plate model to load instead of `language` from `data_dir`; empty = that
	/// (Debian's eng). A NAME (letters, digits, '_', '-', '.') is NAME.traineddata in
	/// `data_dir` if given, else in the installed and the source models/ocr/, else where
	/// find_tessdata() looks; a PATH (with a '/' or ending in .traineddata) is that file.
	std::string model;
	/// Characters the recogniser may emit.
	std::string whitelist = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
};

/// Reads one isolated line of plate characters (8-bit grey, dark text on a light
/// background, the characters 20-60 px tall). Not thread-safe: use one per thread.
class PlateRecognizer
{
public:
	virtual ~PlateRecognizer() = default;
	PlateRecognizer(const PlateRecognizer &) = delete;
	PlateRecognizer &operator=(const PlateRecognizer &) = delete;

	[[nodiscard]] virtual std::string_view name() const = 0;
	[[nodiscard]] virtual Result<LineRead> recognize_line(const cv::Mat &line) = 0;

	/// Backends by name: "tesseract" (Tesseract 5 LSTM through its C++ API).
	[[nodiscard]] static Result<std::unique_ptr<PlateRecognizer>>
	create(std::string_view name, const RecognizerOptions &options = {});

protected:
	PlateRecognizer() = default;
};

} // namespace lethe::ocr
