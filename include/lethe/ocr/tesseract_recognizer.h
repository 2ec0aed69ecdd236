// SPDX-License-Identifier: GPL-3.0-or-later
// TesseractRecognizer: line OCR with the Tesseract 5 C++ API (LSTM, single-line mode).
#pragma once

#include <memory>

#include "lethe/ocr/plate_recognizer.h"

namespace tesseract {
class TessBaseAPI;
}

namespace lethe::ocr {

/// The directory holding `language`.traineddata: `preferred` if given, else $LETHE_TESSDATA,
/// $TESSDATA_PREFIX (and its tessdata/), the installed and source model folders, then
/// Debian's /usr/share/tesseract-ocr/{5,4.00}/tessdata and /usr/share/tessdata.
[[nodiscard]] Result<std::string> find_tessdata(const std::string &preferred,
					       const std::string &language);

/// Where a Tesseract model lives: the directory to hand to TessBaseAPI::Init and the
/// language (the file's name without .traineddata).
struct TesseractModel {
	std::string dir;
	std::string language;
};

/// Resolve RecognizerOptions::model (see there; empty = `language` via find_tessdata()).
/// A missing file or an unusable name is an error naming what was looked for.
[[nodiscard]] Result<TesseractModel> find_tesseract_model(const RecognizerOptions &options);

/// Tesseract runs its LSTM in OpenMP teams when built with OpenMP (Debian's is). Lethe
/// parallelises across frames instead (one reader per worker thread), and on a busy or small
/// machine those teams only oversubscribe the cores: with `--threads 1` they made a us photo
/// 2-3x slower on the shared 2-core development machine. So every OpenMP parallel region in
/// the calling thread is made inactive (max-active-levels 0, as OMP_MAX_ACTIVE_LEVELS=0 does
/// for all); TesseractRecognizer::recognize_line() calls this in every thread that uses it.
/// Cheap after the first call per thread; false if no OpenMP runtime is loaded.
bool keep_ocr_serial();

/// Does a grey line image binarise (Otsu, dark on light, 8-connected) to exactly one blob?
/// TesseractRecognizer does not read such lines: a plate row is several characters, and what
/// Tesseract reads from one blob (characters merged with a band or frame) is mostly false
/// reads (docs/accuracy.md). Introduced against finding 8, whose leak is now fixed otherwise.
[[nodiscard]] bool binarises_to_one_blob(const cv::Mat &line);

/// One tesseract::TessBaseAPI in page-segmentation mode 7 (one text line), LSTM engine,
/// dictionaries off, the whitelist applied, and per-character alternatives taken from the
/// CTC decoder (lstm_choice_mode 2) through ChoiceIterator. One instance per thread.
class TesseractRecognizer final : public PlateRecognizer
{
public:
	[[nodiscard]] static Result<std::unique_ptr<TesseractRecognizer>>
	create(const RecognizerOptions &options);
	~TesseractRecognizer() override;

	[[nodiscard]] std::string_view name() const override { return "tesseract"; }
	[[nodiscard]] Result<LineRead> recognize_line(const cv::Mat &line) override;

private:
	TesseractRecognizer() = default;
	std::unique_ptr<tesseract::TessBaseAPI> api_;
	std::string whitelist_;
};

} // namespace lethe::ocr
