// SPDX-License-Identifier: GPL-3.0-or-later
// ConfidenceCalibration: monotone piecewise-linear map from raw read confidence to P(right).
#include "lethe/ocr/confidence_calibration.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lethe/common/log.h"
#include "lethe/common/model_files.h"

namespace lethe::ocr {

namespace {

constexpr std::size_t kMaxBytes = 64 * 1024;
constexpr std::size_t kMaxRows = 1000;

bool parse_unit(std::string_view s, float &out)
{
	double v = 0.0;
	const char *end = s.data() + s.size();
	auto [p, ec] = std::from_chars(s.data(), end, v);
	if (ec != std::errc() || p != end || !std::isfinite(v) || v < 0.0 || v > 1.0)
		return false;
	out = static_cast<float>(v);
	return true;
}

} // namespace

Result<ConfidenceCalibration> ConfidenceCalibration::parse(std::string_view text,
                                                           std::string_view source)
{
	auto fail = [&](std::size_t line, const std::string &what) {
		std::ostringstream s;
		s << source << ":" << line << ": " << what;
		return make_error(-EINVAL, s.str());
	};
	if (text.size() > kMaxBytes)
		return make_error(-EFBIG, std::string(source) + ": larger than 64 KiB");
	ConfidenceCalibration cal;
	bool header = false;
	std::size_t line_no = 0;
	std::size_t pos = 0;
	while (pos < text.size()) {
		std::size_t nl = text.find('\n', pos);
		if (nl == std::string_view::npos)
			nl = text.size();
		std::string_view line = text.substr(pos, nl - pos);
		pos = nl + 1;
		++line_no;
		if (!line.empty() && line.back() == '\r')
			line.remove_suffix(1);
		if (line.empty() || line.front() == '#')
			continue;
		if (!header) {
			if (line != "raw\tcalibrated")
				return fail(line_no, "expected the header 'raw<TAB>calibrated'");
			header = true;
			continue;
		}
		const auto tab = line.find('\t');
		if (tab == std::string_view::npos ||
		    line.find('\t', tab + 1) != std::string_view::npos)
			return fail(line_no,
			            "expected two tab-separated numbers 'raw<TAB>calibrated'");
		float raw = 0.0F, cal_v = 0.0F;
		if (!parse_unit(line.substr(0, tab), raw))
			return fail(line_no, "raw: must be a number 0..1");
		if (!parse_unit(line.substr(tab + 1), cal_v))
			return fail(line_no, "calibrated: must be a number 0..1");
		if (!cal.knots_.empty()) {
			if (raw <= cal.knots_.back().first)
				return fail(line_no,
				            "raw: must be greater than the previous row's");
			if (cal_v < cal.knots_.back().second)
				return fail(line_no,
				            "calibrated: must not be less than the previous row's "
				            "(the map is monotone)");
		}
		if (cal.knots_.size() >= kMaxRows)
			return fail(line_no, "more than 1000 rows");
		cal.knots_.emplace_back(raw, cal_v);
	}
	if (!header)
		return fail(line_no, "no header 'raw<TAB>calibrated'");
	if (cal.knots_.size() < 2)
		return fail(line_no, "at least two rows are needed");
	cal.source_ = std::string(source);
	return cal;
}

Result<ConfidenceCalibration> ConfidenceCalibration::create(const std::string &path)
{
	std::error_code ec;
	if (!std::filesystem::is_regular_file(path, ec))
		return make_error(-ENOENT, path + ": no such calibration file");
	std::ifstream in(path, std::ios::binary);
	if (!in)
		return make_error(-ENOENT, path + ": cannot open");
	std::string text(kMaxBytes + 1, '\0');
	in.read(text.data(), static_cast<std::streamsize>(text.size()));
	text.resize(static_cast<std::size_t>(in.gcount()));
	return parse(text, path);
}

std::string ConfidenceCalibration::default_path(std::string_view model,
                                                const std::string &models_dir)
{
	const std::string name = "calibration-" + std::string(model) + ".tsv";
	if (models_dir.empty())
		return find_model_file(std::filesystem::path("ocr") / name);
	const auto p = std::filesystem::path(models_dir) / "ocr" / name;
	return readable_file(p) ? p.string() : std::string();
}

float ConfidenceCalibration::apply(float raw) const
{
	if (std::isnan(raw))
		return 0.0F;
	raw = std::clamp(raw, 0.0F, 1.0F);
	if (knots_.empty())
		return raw;
	if (raw <= knots_.front().first)
		return knots_.front().second;
	for (std::size_t i = 1; i < knots_.size(); ++i) {
		const auto [x1, y1] = knots_[i];
		if (raw <= x1) {
			const auto [x0, y0] = knots_[i - 1];
			return y0 + (y1 - y0) * (raw - x0) / (x1 - x0);
		}
	}
	return knots_.back().second;
}

std::string model_name(const RecognizerOptions &options)
{
	if (options.model.empty())
		return options.language;
	std::string name = std::filesystem::path(options.model).filename().string();
	constexpr std::string_view ext = ".traineddata";
	if (name.size() > ext.size() && name.ends_with(ext))
		name.resize(name.size() - ext.size());
	return name;
}

Result<ConfidenceCalibration> load_calibration(const std::string &setting, std::string_view model,
                                               const std::string &models_dir)
{
	if (setting == "none")
		return ConfidenceCalibration{};
	if (!setting.empty())
		return ConfidenceCalibration::create(setting);
	const std::string path = ConfidenceCalibration::default_path(model, models_dir);
	if (path.empty()) {
		LOG(Ocr, Warning) << "no confidence calibration for the recogniser model '" << model
		                  << "' (ocr/calibration-" << model
		                  << ".tsv): confidences are the raw scores";
		return ConfidenceCalibration{};
	}
	return ConfidenceCalibration::create(path);
}

} // namespace lethe::ocr
