// SPDX-License-Identifier: GPL-3.0-or-later
// TesseractRecognizer: line OCR with the Tesseract 5 C++ API (LSTM, single-line mode).
#include "lethe/ocr/tesseract_recognizer.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <dlfcn.h>
#include <filesystem>
#include <map>

#include <leptonica/allheaders.h>
#include <opencv2/imgproc.hpp>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include "lethe/common/log.h"
#include "lethe/common/model_files.h"

namespace lethe::ocr {

namespace {

bool has_model(const std::filesystem::path &dir, const std::string &language)
{
	std::error_code ec;
	return !dir.empty() && std::filesystem::is_regular_file(dir / (language + ".traineddata"), ec);
}

} // namespace

bool binarises_to_one_blob(const cv::Mat &line)
{
	// Dark on light after Otsu, as Tesseract's own thresholding sees a grey line.
	cv::Mat dark;
	cv::threshold(line, dark, 0, 255, cv::THRESH_BINARY_INV | cv::THRESH_OTSU);
	cv::Mat labels;
	return cv::connectedComponents(dark, labels, 8, CV_32S) == 2; // background + one
}

bool keep_ocr_serial()
{
	// The OpenMP runtime Tesseract was linked against, found at run time so that this works
	// whichever compiler (and OpenMP runtime, if any) built Lethe itself. The setting is
	// per thread (an OpenMP ICV; a new thread starts from the defaults), so every thread
	// that recognises sets it once.
	using SetLevels = void (*)(int);
	static const auto set_levels =
		reinterpret_cast<SetLevels>(dlsym(RTLD_DEFAULT, "omp_set_max_active_levels"));
	thread_local const bool done = [] {
		if (set_levels == nullptr)
			return false;
		set_levels(0);
		return true;
	}();
	return done;
}

Result<std::string> find_tessdata(const std::string &preferred, const std::string &language)
{
	if (!preferred.empty()) {
		if (has_model(preferred, language))
			return preferred;
		return make_error(-ENOENT, "no " + language + ".traineddata in " + preferred);
	}
	std::vector<std::filesystem::path> dirs;
	for (const char *var : {"LETHE_TESSDATA", "TESSDATA_PREFIX"}) {
		if (const char *v = std::getenv(var); v && *v) {
			dirs.emplace_back(v);
			dirs.emplace_back(std::filesystem::path(v) / "tessdata");
		}
	}
	dirs.emplace_back(std::filesystem::path(LETHE_MODEL_DIR) / "tessdata");
	dirs.emplace_back(std::filesystem::path(LETHE_SOURCE_MODEL_DIR) / "tessdata");
	for (const char *d : {"/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
			      "/usr/share/tessdata", "/usr/local/share/tessdata"})
		dirs.emplace_back(d);
	for (const auto &d : dirs)
		if (has_model(d, language))
			return d.string();
	return make_error(-ENOENT, "no " + language +
					   ".traineddata found (install tesseract-ocr-eng or set "
					   "LETHE_TESSDATA)");
}

Result<TesseractModel> find_tesseract_model(const RecognizerOptions &options)
{
	namespace fs = std::filesystem;
	const std::string &m = options.model;
	if (m.empty()) {
		auto dir = find_tessdata(options.data_dir, options.language);
		if (!dir)
			return dir.error();
		return TesseractModel{*dir, options.language};
	}
	constexpr std::string_view kExt = ".traineddata";
	const bool is_path = m.find('/') != std::string::npos ||
			     (m.size() > kExt.size() && m.ends_with(kExt));
	if (is_path) {
		const fs::path p(m);
		std::error_code ec;
		if (!p.string().ends_with(kExt))
			return make_error(-EINVAL, "OCR model file " + m + " does not end in .traineddata");
		if (!fs::is_regular_file(p, ec))
			return make_error(-ENOENT, "no OCR model file " + m);
		const std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
		return TesseractModel{dir, p.stem().string()};
	}
	// A name: Tesseract would read '+' as several languages, '~' as "not"; keep it plain.
	if (!std::all_of(m.begin(), m.end(), [](unsigned char c) {
		    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
	    }) || m.front() == '.' || m.front() == '-')
		return make_error(-EINVAL, "bad OCR model name '" + m +
						   "' (letters, digits, '_', '-', '.'; or a path to a .traineddata file)");
	if (!options.data_dir.empty()) {
		if (has_model(options.data_dir, m))
			return TesseractModel{options.data_dir, m};
		return make_error(-ENOENT, "no OCR model " + m + ".traineddata in " + options.data_dir);
	}
	if (const auto shipped = find_model_file(fs::path("ocr") / (m + std::string(kExt))); !shipped.empty())
		return TesseractModel{fs::path(shipped).parent_path().string(), m};
	if (auto dir = find_tessdata("", m))
		return TesseractModel{*dir, m};
	return make_error(-ENOENT, "no OCR model " + m + ".traineddata (looked in " +
					   (fs::path(LETHE_MODEL_DIR) / "ocr").string() +
					   ", the source models/ocr and the tessdata folders)");
}

Result<std::unique_ptr<TesseractRecognizer>> TesseractRecognizer::create(const RecognizerOptions &options)
{
	auto model = find_tesseract_model(options);
	if (!model)
		return model.error();
	const std::string *dir = &model->dir;
	const std::string &language = model->language;

	std::unique_ptr<TesseractRecognizer> r(new TesseractRecognizer());
	r->api_ = std::make_unique<tesseract::TessBaseAPI>();
	r->whitelist_ = options.whitelist;
	// Init-only settings: no dictionaries (plates are not words).
	std::vector<std::string> names = {"load_system_dawg", "load_freq_dawg", "load_punc_dawg",
					  "load_number_dawg", "load_unambig_dawg", "load_bigram_dawg"};
	std::vector<std::string> values(names.size(), "0");
	if (r->api_->Init(dir->c_str(), language.c_str(), tesseract::OEM_LSTM_ONLY, nullptr, 0,
			  &names, &values, false) != 0)
		return make_error(-EIO, "Tesseract failed to load OCR model " + language + " from " + *dir +
						" (not a Tesseract 4/5 LSTM .traineddata?)");
	r->api_->SetPageSegMode(tesseract::PSM_SINGLE_LINE);
	// textord_restore_underlines off: Tesseract 5.3.0's restore_underlined_blobs() deletes an
	// "underline" blob that has no character part above it without deleting its C_BLOB. In
	// single-line mode a line that is one blob with holes is also laid out as a row of its
	// holes (make_single_row), and such a hole can be taken for an underline: ~100 bytes
	// leaked per line (docs/fuzzing.md finding 8). With the setting off, underlines stay in
	// the block's underline list, which Tesseract frees. A global Tesseract setting: every
	// TesseractRecognizer in the process sets the same value.
	const std::pair<const char *, const char *> vars[] = {
		{"tessedit_char_whitelist", options.whitelist.c_str()},
		{"lstm_choice_mode", "2"},
		{"debug_file", "/dev/null"},
		{"user_defined_dpi", "300"},
		{"textord_restore_underlines", "0"},
	};
	for (const auto &[k, v] : vars) {
		if (!r->api_->SetVariable(k, v)) {
			LOG(Ocr, Warning) << "Tesseract does not know variable " << k;
		}
	}
	LOG(Ocr, Debug) << "Tesseract " << tesseract::TessBaseAPI::Version() << " model " << language
			<< " in " << *dir;
	return r;
}

TesseractRecognizer::~TesseractRecognizer()
{
	if (api_)
		api_->End();
}

Result<LineRead> TesseractRecognizer::recognize_line(const cv::Mat &line)
{
	if (line.empty() || line.type() != CV_8UC1)
		return make_error(-EINVAL, "recognize_line needs a non-empty 8-bit grey image");
	if (!line.isContinuous())
		return recognize_line(line.clone());
	keep_ocr_serial();
	// The renderings are dark characters on light, each its own blob; one blob means the
	// characters merged with a dark band or frame, and what Tesseract reads from it is
	// mostly a false read: with the check, us false reads 18 -> 15 and br top-5 93.4 ->
	// 90.8 (2026-11-27, docs/accuracy.md). (It was added against finding 8, Tesseract
	// 5.3.0's leak on such lines; textord_restore_underlines=0 above now fixes that.)
	if (binarises_to_one_blob(line))
		return LineRead{};

	api_->SetImage(line.data, line.cols, line.rows, 1, static_cast<int>(line.step));
	if (api_->Recognize(nullptr) != 0) {
		api_->Clear();
		return make_error(-EIO, "Tesseract failed to recognise the line");
	}

	LineRead out;
	std::unique_ptr<tesseract::ResultIterator> it(api_->GetIterator());
	if (it) {
		const auto level = tesseract::RIL_SYMBOL;
		do {
			std::unique_ptr<char[]> sym(it->GetUTF8Text(level));
			if (!sym || !sym[0] || sym[1] != '\0')
				continue;
			const char c = sym[0];
			if (whitelist_.find(c) == std::string::npos)
				continue;
			// The symbol's own confidence is the top choice's probability; the CTC
			// alternatives' scores are not probabilities (several are often near 1), so
			// they share the remaining mass in proportion to their scores.
			const float p_top = std::clamp(it->Confidence(level) / 100.0F, 0.01F, 0.999F);
			std::map<char, float> alts;
			tesseract::ChoiceIterator ci(*it);
			do {
				const char *t = ci.GetUTF8Text();
				if (!t || !t[0] || t[1] != '\0' || t[0] == c ||
				    whitelist_.find(t[0]) == std::string::npos)
					continue;
				const float sc = std::clamp(ci.Confidence() / 100.0F, 0.0F, 1.0F);
				alts[t[0]] = std::max(alts[t[0]], sc);
			} while (ci.Next());
			float sum = 0.0F;
			for (const auto &a : alts)
				sum += a.second;
			CharAlternatives ca{{c, p_top}};
			for (const auto &[ch, sc] : alts)
				if (sum > 0.0F && sc > 0.0F)
					ca.push_back({ch, (1.0F - p_top) * sc / sum});
			std::sort(ca.begin() + 1, ca.end(), [](auto &a, auto &b) { return a.p > b.p; });
			int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
			it->BoundingBox(level, &x0, &y0, &x1, &y1);
			out.chars.push_back(std::move(ca));
			out.boxes.emplace_back(x0, y0, x1 - x0, y1 - y0);
		} while (it->Next(level));
	}
	api_->Clear();
	return out;
}

std::string LineRead::text() const
{
	std::string s;
	for (const auto &c : chars)
		if (!c.empty())
			s += c.front().c;
	return s;
}

float LineRead::mean_confidence() const
{
	if (chars.empty())
		return 0.0F;
	float sum = 0.0F;
	for (const auto &c : chars)
		sum += c.empty() ? 0.0F : c.front().p;
	return sum / static_cast<float>(chars.size());
}

Result<std::unique_ptr<PlateRecognizer>> PlateRecognizer::create(std::string_view name,
								  const RecognizerOptions &options)
{
	if (name == "tesseract") {
		auto r = TesseractRecognizer::create(options);
		if (!r)
			return r.error();
		return std::unique_ptr<PlateRecognizer>(std::move(r).value());
	}
	return make_error(-EINVAL, "unknown recognizer '" + std::string(name) + "' (tesseract)");
}

} // namespace lethe::ocr
