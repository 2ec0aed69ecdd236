// SPDX-License-Identifier: GPL-3.0-or-later
// `lethe read`: read plates in image files or directories (table or JSON lines).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/arguments.h"
#include "cli/command.h"
#include "lethe/capture/image_file.h"
#include "lethe/common/rounding.h"
#include "lethe/ocr/plate_reader.h"
#include "lethe/ocr/reader_models.h"

namespace lethe::cli {
namespace {

namespace fs = std::filesystem;

/// Files named on the command line as given; directories expanded to their image files
/// (by extension, sorted, not recursive). A path that does not exist stays in the list so
/// that it gets its own error line.
std::vector<std::string> expand(const std::vector<std::string> &paths)
{
	std::vector<std::string> out;
	for (const auto &p : paths) {
		std::error_code ec;
		if (fs::is_directory(p, ec)) {
			auto files = capture::list_image_files(p);
			if (!files || files->empty())
				out.push_back(p); // reported as "no images in directory"
			else
				for (const auto &f : *files)
					out.push_back(f.string());
		} else {
			out.push_back(p);
		}
	}
	return out;
}

struct Outcome {
	std::string file;
	double ms = 0.0;
	bool failed = false;
	std::string error;
	std::vector<ocr::PlateRead> plates;
};

Outcome read_one(ocr::PlateReader &reader, const std::string &file)
{
	Outcome o;
	o.file = file;
	const auto t0 = std::chrono::steady_clock::now();
	std::error_code ec;
	if (fs::is_directory(file, ec)) {
		o.failed = true;
		o.error = "no images in directory";
	} else if (auto img = capture::load_image_file(file); !img) {
		o.failed = true;
		o.error = img.error().message;
	} else if (auto reads = reader.read(*img); !reads) {
		o.failed = true;
		o.error = reads.error().message;
	} else {
		o.plates = std::move(reads).value();
	}
	o.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
	return o;
}

std::string json_line(const Outcome &o)
{
	nlohmann::json j;
	j["file"] = o.file;
	j["ms"] = round_decimals(o.ms, 2);
	if (o.failed) {
		j["error"] = o.error;
	} else {
		auto plates = nlohmann::json::array();
		for (const auto &p : o.plates) {
			nlohmann::json jp;
			jp["text"] = p.text;
			jp["confidence"] = round_decimals(p.confidence, 3);
			jp["box"] = {p.box.x, p.box.y, p.box.width, p.box.height};
			auto cands = nlohmann::json::array();
			for (const auto &c : p.candidates)
				cands.push_back({{"text", c.text},
						 {"confidence", round_decimals(c.confidence, 3)}});
			jp["candidates"] = std::move(cands);
			plates.push_back(std::move(jp));
		}
		j["plates"] = std::move(plates);
	}
	return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string table_lines(const Outcome &o)
{
	char buf[512];
	std::string s;
	if (o.failed) {
		std::snprintf(buf, sizeof buf, "%s\t%.1f ms\terror: %s\n", o.file.c_str(), o.ms,
			      o.error.c_str());
		return buf;
	}
	if (o.plates.empty()) {
		std::snprintf(buf, sizeof buf, "%s\t%.1f ms\t(no plate)\n", o.file.c_str(), o.ms);
		return buf;
	}
	for (const auto &p : o.plates) {
		std::string alts;
		for (std::size_t i = 1; i < p.candidates.size(); ++i) {
			std::snprintf(buf, sizeof buf, "%s%s %.2f", alts.empty() ? "" : ", ",
				      p.candidates[i].text.c_str(), p.candidates[i].confidence);
			alts += buf;
		}
		std::snprintf(buf, sizeof buf, "%s\t%.1f ms\t%-9s %.2f  [%d,%d,%d,%d]  %s\n",
			      o.file.c_str(), o.ms, p.text.c_str(), p.confidence, p.box.x, p.box.y,
			      p.box.width, p.box.height, alts.c_str());
		s += buf;
	}
	return s;
}

int run_read(int argc, char **argv)
{
	CLI::App app{"Read licence plates in image files (JPEG, PNG, BMP) or directories of them",
		     "lethe read"};
	std::string region = "us";
	std::size_t top = 5;
	unsigned threads = 1;
	bool json = false;
	std::string tessdata;
	std::string ocr_model;
	std::string verify_model;
	std::string detector = "both";
	std::string detector_model;
	float detector_threshold = detect::DetectorOptions{}.dnn_threshold;
	std::string calibration;
	std::vector<std::string> paths;
	app.add_option("--region", region, "Plate syntax: us, eu or br")
		->check(CLI::IsMember({"us", "eu", "br"}))
		->capture_default_str();
	app.add_option("--top", top, "Candidates per plate")->check(CLI::Range(1, 50))->capture_default_str();
	app.add_option("--threads", threads, "Worker threads (each with its own Tesseract)")
		->check(CLI::Range(1, 64))
		->capture_default_str();
	app.add_flag("--json", json,
		     "One JSON object per image per line: {file, ms, plates:[{text, confidence, "
		     "box:[x,y,w,h], candidates:[{text, confidence}]}]} or {file, ms, error}");
	app.add_option("--tessdata", tessdata,
		       "Directory with eng.traineddata (default: $LETHE_TESSDATA, Debian's)");
	app.add_option("--ocr-model", ocr_model,
		       "Tesseract model: NAME (NAME.traineddata in --tessdata, else the installed "
		       "models/ocr/, else the tessdata folders), eng (Debian's) or PATH to a "
		       ".traineddata file (default: the shipped plate model plates for us, eng for "
		       "eu and br)");
	app.add_option("--verify-model", verify_model,
		       "Second Tesseract model that must also read a row before it is reported "
		       "(NAME, eng, PATH as --ocr-model, or none; default: eng when the OCR model "
		       "is not eng, else none)");
	app.add_option("--detector", detector,
		       "Plate detector: classical (rows of character-like blobs), dnn (the trained "
		       "CNN) or both (classical rows plus the CNN's other plates)")
		->check(CLI::IsMember(detect::PlateDetector::backends()))
		->capture_default_str();
	app.add_option("--detector-model", detector_model,
		       "ONNX plate detector for dnn/both (default: the installed "
		       "models/detector/plates.onnx)");
	app.add_option("--detector-threshold", detector_threshold,
		       "Plate-centre heat (0..1) the trained CNN needs to propose a region: lower "
		       "finds more plates and more false regions")
		->check(CLI::Range(0.05F, 1.0F))
		->capture_default_str();
	app.add_option("--calibration", calibration,
		       "Confidence calibration: a TSV file, or none for raw scores (default: the "
		       "installed models/ocr/calibration-MODEL.tsv for the recogniser model)");
	app.add_option("PATH", paths, "Image files or directories")->required();
	app.footer("Exit status: 0 all files read (with or without plates), 1 a file could not be "
		   "read, 2 usage.");
	if (const auto exit_code = parse_arguments(app, argc, argv))
		return *exit_code;

	// Parallelism is across files (--threads workers, each with its own reader); each worker
	// runs single-threaded (PlateReader::create() makes OpenCV serial, keep_ocr_serial()
	// Tesseract), so `--threads 1` means one core.

	ocr::ReaderOptions options;
	options.region = ocr::parse_region(region).value();
	options.top = top;
	options.detector = detector;
	options.detector_options.model_path = detector_model;
	options.detector_options.dnn_threshold = detector_threshold;

	// Models by region unless given; reported confidences are calibrated for the model that
	// read them (docs/reader.md).
	if (auto st = ocr::apply_model_settings(options, {.ocr_model = ocr_model,
							  .verify_model = verify_model,
							  .calibration = calibration,
							  .models_dir = {},
							  .tessdata = tessdata});
	    !st) {
		std::fprintf(stderr, "lethe read: %s\n", st.error().message.c_str());
		return kExitFailure;
	}

	const auto started = std::chrono::steady_clock::now();
	const std::vector<std::string> files = expand(paths);
	threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(1, files.size())));
	std::vector<std::unique_ptr<ocr::PlateReader>> readers;
	for (unsigned i = 0; i < threads; ++i) {
		auto r = ocr::PlateReader::create(options);
		if (!r) {
			std::fprintf(stderr, "lethe read: %s\n", r.error().message.c_str());
			return kExitFailure;
		}
		readers.push_back(std::move(r).value());
	}

	// A fixed pool: the main thread queues file indices (bounded queue, and at most
	// `window` files in flight or waiting to print, so memory stays bounded) and prints
	// results in input order as they complete. Nothing is dropped.
	const std::size_t queue_cap = 2 * threads;
	const std::size_t window = 4 * threads;
	std::mutex m;
	std::condition_variable cv;
	std::deque<std::size_t> queue;
	std::map<std::size_t, Outcome> done;
	bool closed = false;
	std::size_t images = 0, failed = 0, plates = 0; // for the summary

	std::vector<std::thread> workers;
	for (unsigned t = 0; t < threads; ++t) {
		workers.emplace_back([&, t] {
			for (;;) {
				std::size_t idx = 0;
				{
					std::unique_lock lock(m);
					cv.wait(lock, [&] { return !queue.empty() || closed; });
					if (queue.empty())
						return;
					idx = queue.front();
					queue.pop_front();
				}
				cv.notify_all();
				Outcome o = read_one(*readers[t], files[idx]);
				{
					std::lock_guard lock(m);
					done.emplace(idx, std::move(o));
				}
				cv.notify_all();
			}
		});
	}

	std::size_t next_print = 0;
	auto flush = [&](std::unique_lock<std::mutex> &lock) {
		std::vector<Outcome> ready;
		for (auto it = done.find(next_print); it != done.end(); it = done.find(next_print)) {
			ready.push_back(std::move(it->second));
			done.erase(it);
			++next_print;
		}
		if (ready.empty())
			return;
		lock.unlock();
		for (const auto &o : ready) {
			if (o.failed)
				++failed;
			else
				++images;
			plates += o.plates.size();
			const std::string s = json ? json_line(o) : table_lines(o);
			std::fwrite(s.data(), 1, s.size(), stdout);
		}
		std::fflush(stdout);
		lock.lock();
		cv.notify_all();
	};

	{
		std::unique_lock lock(m);
		for (std::size_t idx = 0; idx < files.size(); ++idx) {
			for (;;) {
				flush(lock);
				if (queue.size() < queue_cap && idx - next_print < window)
					break;
				cv.wait(lock);
			}
			queue.push_back(idx);
			cv.notify_all();
		}
		closed = true;
		cv.notify_all();
		while (next_print < files.size()) {
			flush(lock);
			if (next_print < files.size())
				cv.wait(lock, [&] { return done.count(next_print) > 0; });
		}
	}
	for (auto &w : workers)
		w.join();
	// One line on stderr (stdout stays the results): counts and time, never a plate.
	const double secs =
		std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
	std::fprintf(stderr,
		     "lethe read: %zu image(s) read, %zu plate(s) found, %zu failed, %.2f s\n",
		     images, plates, failed, secs);
	return failed > 0 ? kExitFailure : kExitOk;
}

} // namespace

LETHE_COMMAND("read", "Read licence plates in image files or directories", run_read);

} // namespace lethe::cli
