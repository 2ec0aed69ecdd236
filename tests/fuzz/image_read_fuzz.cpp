// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: the image path of `lethe read` — header probe, limits, decode, plate reader.
//
// The same calls as `lethe read FILE` after the file is read (capture::load_image_file ends in
// capture::decode_image), with the limits lowered so that one input stays well under a second:
// the reader (classical detector + Tesseract) runs on at most 320x240 pixels.
#include <cstddef>
#include <cstdint>
#include <memory>

#include <opencv2/core.hpp>

#include "lethe/capture/image_file.h"
#include "lethe/ocr/plate_reader.h"

namespace {

constexpr lethe::capture::ImageLimits kLimits{1U << 20, 320 * 240, 640};

lethe::ocr::PlateReader &reader()
{
	static std::unique_ptr<lethe::ocr::PlateReader> r = [] {
		lethe::ocr::ReaderOptions options;
		options.top = 3;
		auto created = lethe::ocr::PlateReader::create(options);
		if (!created)
			__builtin_trap(); // no Tesseract data: the target cannot run
		return std::move(created).value();
	}();
	return *r;
}

bool plate_text(const std::string &s)
{
	for (const char c : s)
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	auto &r = reader();
	const auto header = lethe::capture::probe_image(data, size);
	auto img = lethe::capture::decode_image(data, size, kLimits);
	if (!img)
		return 0;
	// Whatever decodes passed the header checks and the limits, and is what the header said.
	if (!header || img->cols != header->width || img->rows != header->height ||
	    img->cols > kLimits.max_side || img->rows > kLimits.max_side ||
	    static_cast<std::uint64_t>(img->total()) > kLimits.max_pixels || img->type() != CV_8UC3)
		__builtin_trap();
	auto reads = r.read(*img);
	if (!reads)
		return 0;
	for (const auto &p : *reads) {
		// The reader's contract (plate_reader.h): A-Z0-9 text, confidence 0..1, ranked
		// candidates.
		if (p.text.empty() || !plate_text(p.text) ||
		    !(p.confidence >= 0.0F && p.confidence <= 1.0F))
			__builtin_trap();
		for (const auto &c : p.candidates)
			if (!plate_text(c.text) || !(c.confidence >= 0.0F && c.confidence <= 1.0F))
				__builtin_trap();
	}
	return 0;
}
