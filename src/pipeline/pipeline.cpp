// SPDX-License-Identifier: GPL-3.0-or-later
// Pipeline threads and queues: capture → workers (detect + OCR) → tracker → match sink.
#include "lethe/pipeline/pipeline.h"

#include <algorithm>
#include <filesystem>

#include <opencv2/imgproc.hpp>

#include "lethe/common/crypto.h"
#include "lethe/common/log.h"
#include "lethe/common/memory_wipe.h"
#include "lethe/common/thread_entry.h"
#include "lethe/ocr/plate_mask.h"
#include "lethe/ocr/reader_models.h"

namespace lethe::pipeline {
namespace {

using namespace std::chrono_literals;

std::int64_t steady_ns()
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(
		       std::chrono::steady_clock::now().time_since_epoch())
		.count();
}

cv::Rect to_cv(const config::Rect &r)
{
	return {r.x, r.y, r.width, r.height};
}

track::TrackerOptions tracker_options(const config::Config &c)
{
	track::TrackerOptions o;
	o.iou_min = c.tracker.iou_min;
	o.max_shift = c.tracker.max_shift;
	o.timeout = std::chrono::milliseconds(c.tracker.timeout_ms);
	o.max_missed_frames = c.tracker.max_missed_frames;
	o.min_frames = c.tracker.min_frames;
	o.max_track = std::chrono::milliseconds(c.tracker.max_track_ms);
	o.top = c.reader.top;
	return o;
}

void wipe(ocr::PlateRead &r)
{
	crypto::wipe(r.text);
	for (auto &c : r.candidates)
		crypto::wipe(c.text);
}

/// A frame's reads before any plate is found: which frame, when, from which camera.
track::FrameReads no_reads(const capture::Frame &frame)
{
	track::FrameReads out;
	out.camera_id = frame.camera_id;
	out.sequence = frame.sequence;
	out.monotonic = frame.monotonic;
	out.wall = frame.wall;
	out.still = frame.still;
	return out;
}

} // namespace

Pipeline::Pipeline(const config::Config &config, EventSink sink)
	: config_(config), sink_(std::move(sink)), frames_(config.pipeline.frame_queue),
	  reads_(2 * config.pipeline.workers), events_(config.pipeline.event_queue),
	  tracker_(tracker_options(config))
{
}

Result<std::unique_ptr<Pipeline>> Pipeline::create(const config::Config &config, EventSink sink)
{
	std::unique_ptr<Pipeline> p(new Pipeline(config, std::move(sink)));

	ocr::ReaderOptions ro;
	auto region = ocr::parse_region(config.reader.region);
	if (!region)
		return region.error();
	ro.region = *region;
	ro.top = config.reader.top;
	ro.min_confidence = static_cast<float>(config.reader.min_confidence);
	ro.detector = config.reader.detector;
	if (!config.reader.models_dir.empty())
		ro.detector_options.model_path =
			(std::filesystem::path(config.reader.models_dir) / "detector" / "plates.onnx")
				.string();
	// OCR and verifier models by region unless configured (a NAME is looked up in
	// models_dir/ocr when that is set); reported confidences are calibrated for the model
	// that read them, min_confidence stays on the raw score (docs/reader.md).
	if (auto st = ocr::apply_model_settings(ro, {.ocr_model = config.reader.ocr_model,
						     .verify_model = config.reader.verify_model,
						     .calibration = config.reader.calibration,
						     .models_dir = config.reader.models_dir,
						     .tessdata = {}});
	    !st)
		return make_error(st.error().code, "confidence calibration: " + st.error().message);
	// One reader (an OCR model in memory, about a second to load on a slow core) per worker;
	// snapshots borrow worker 0's, so a restart loads no model that frames do not need.
	for (unsigned i = 0; i < config.pipeline.workers; ++i) {
		auto reader = ocr::PlateReader::create(ro);
		if (!reader)
			return make_error(reader.error().code,
					  "plate reader: " + reader.error().message);
		p->readers_.push_back(std::move(reader).value());
		p->reader_mutexes_.push_back(std::make_unique<std::mutex>());
	}

	for (const auto &cam : config.cameras) {
		// Buffers: the queue, one per worker, one being captured, the snapshot's "latest".
		const unsigned buffers = config.pipeline.frame_queue + config.pipeline.workers + 3;
		auto source = capture::create_source(cam.source, capture::FramePool::create(buffers));
		if (!source)
			return make_error(source.error().code,
					  "camera " + cam.source.camera_id + ": " + source.error().message);
		const bool finite = (*source)->finite();
		Pipeline *self = p.get();
		p->pending_.emplace(cam.source.camera_id, std::make_unique<std::atomic<std::int64_t>>(0));
		auto sink_fn = [self, finite, camera = cam.source.camera_id](capture::FramePtr f) {
			self->last_frame_ns_ = steady_ns();
			++self->frames_captured_;
			self->pending_add(camera, 1);
			bool queued = false;
			std::optional<capture::FramePtr> dropped;
			if (finite)
				queued = self->frames_.push_blocking(std::move(f)); // replay: lossless
			else
				queued = self->frames_.push_drop_oldest(std::move(f), &dropped); // live: stale frames go
			if (!queued)
				self->pending_add(camera, -1);
			if (dropped && *dropped)
				self->pending_add((*dropped)->camera_id, -1);
		};
		p->cameras_.push_back(std::make_unique<capture::CaptureThread>(
			std::move(source).value(), cam.reconnect, sink_fn));
		p->finite_.push_back(finite);
	}
	return p;
}

Pipeline::~Pipeline()
{
	stop(5s);
}

void Pipeline::start()
{
	if (started_.exchange(true))
		return;
	start_time_ = std::chrono::steady_clock::now();
	// Each thread's entry is a catch boundary (run_thread): what escapes a loop is logged and
	// counted, and the loop goes on until its queue is closed.
	match_thread_ = std::thread([this] {
		run_thread("match", [this] { match_loop(); }, [this] { return events_.closed(); });
	});
	tracker_thread_ = std::thread([this] {
		run_thread("tracker", [this] { tracker_loop(); }, [this] { return reads_.closed(); });
	});
	for (unsigned i = 0; i < readers_.size(); ++i)
		workers_.emplace_back([this, i] {
			run_thread("reader " + std::to_string(i), [this, i] { worker(i); },
				   [this] { return frames_.closed(); });
		});
	for (auto &c : cameras_)
		c->start();
	end_thread_ = std::thread([this] {
		run_thread("end watch", [this] { watch_end(); }, [this] { return stopping_.load(); });
	});
	LOG(Daemon, Info) << "pipeline started: " << cameras_.size() << " camera(s), "
			  << readers_.size() << " worker(s)";
}

void Pipeline::stop(std::chrono::milliseconds timeout)
{
	if (!started_ || stopping_.exchange(true))
		return;
	(void)timeout;
	for (auto &c : cameras_)
		c->stop();
	// Queued frames are dropped (nothing recognised in them yet); reads and events drain.
	frames_.close();
	for (auto &w : workers_)
		w.join();
	workers_.clear();
	reads_.close();
	if (tracker_thread_.joinable())
		tracker_thread_.join(); // ends every open track into the event queue
	events_.close();
	if (match_thread_.joinable())
		match_thread_.join();
	if (end_thread_.joinable())
		end_thread_.join();
	const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time_).count();
	LOG(Daemon, Info) << "pipeline stopped: " << frames_read_.load() << " frames read in " << secs
			  << " s (" << (secs > 0 ? static_cast<double>(frames_read_.load()) / secs : 0.0)
			  << " frames/s), " << sightings_.load() << " sightings, " << events_count_.load()
			  << " events, " << frames_.dropped() << " frames dropped";
}

void Pipeline::pending_add(const std::string &camera_id, std::int64_t delta)
{
	if (const auto it = pending_.find(camera_id); it != pending_.end())
		*it->second += delta;
}

void Pipeline::worker(unsigned index)
{
	ocr::PlateReader &reader = *readers_[index];
	for (;;) {
		auto f = frames_.pop(200ms);
		if (!f) {
			if (frames_.closed() && frames_.size() == 0)
				break;
			continue;
		}
		if (stopping_) {
			if (*f)
				pending_add((*f)->camera_id, -1);
			f->reset();
			frames_.done();
			continue;
		}
		track::FrameReads reads;
		try {
			std::lock_guard lock(*reader_mutexes_[index]); // a snapshot may borrow it
			reads = read_frame(reader, **f);
		} catch (const std::exception &e) {
			// OpenCV and Tesseract report some errors by throwing: this frame is lost,
			// the stage goes on (the queue's accounting below still runs).
			reads = no_reads(**f);
			++read_errors_;
			LOG(Detect, Error) << (*f)->camera_id << ": frame " << (*f)->sequence
					   << " not read: " << e.what();
		}
		f->reset(); // the buffer goes back to its pool now
		++frames_read_;
		(void)reads_.push_blocking(std::move(reads));
		frames_.done();
		memory::wipe_stack(); // what Tesseract left below this frame (issue 15.4)
	}
}

track::FrameReads Pipeline::read_frame(ocr::PlateReader &reader, const capture::Frame &frame)
{
	track::FrameReads out = no_reads(frame);

	const config::Camera *cam = nullptr;
	for (const auto &c : config_.cameras)
		if (c.source.camera_id == frame.camera_id)
			cam = &c;
	const cv::Rect whole(0, 0, frame.image.cols, frame.image.rows);
	cv::Rect roi = whole;
	if (cam && cam->roi)
		roi = to_cv(*cam->roi) & whole;
	if (roi.empty())
		return out;

	auto plates = reader.read(frame.image(roi));
	if (!plates) {
		++read_errors_;
		LOG(Detect, Warning) << frame.camera_id << ": frame " << frame.sequence
				     << " not read: " << plates.error().message;
		return out;
	}
	for (auto &p : *plates) {
		cv::Rect box = (p.box + roi.tl()) & whole;
		const cv::Point centre(box.x + box.width / 2, box.y + box.height / 2);
		bool masked = false;
		if (cam)
			for (const auto &m : cam->masks)
				masked = masked || to_cv(m).contains(centre);
		if (!masked && !box.empty() && !p.candidates.empty()) {
			track::Sighting s;
			s.box = box;
			for (const auto &c : p.candidates)
				s.candidates.push_back({c.text, c.confidence});
			s.crop = frame.image(box).clone();
			s.region = config_.reader.region;
			out.sightings.push_back(std::move(s));
		}
		wipe(p);
	}
	sightings_ += out.sightings.size();
	return out;
}

void Pipeline::tracker_loop()
{
	// Replay cameras whose plates ended in too few frames to be an event, told once each:
	// a directory of photos read as video (docs/config.md, `stills`).
	std::vector<std::string> told;
	auto emit = [this, &told](std::vector<track::ReadEvent> events) {
		for (auto &e : events) {
			++events_count_;
			(void)events_.push_blocking(std::move(e)); // never dropped
		}
		tracks_ = tracker_.active();
		for (const auto &c : config_.cameras) {
			const auto &id = c.source.camera_id;
			if (c.source.kind != capture::SourceKind::Replay || c.source.stills ||
			    tracker_.too_short(id) == 0 ||
			    std::find(told.begin(), told.end(), id) != told.end())
				continue;
			told.push_back(id);
			LOG(Track, Warning) << id << ": a plate seen in fewer than "
					    << config_.tracker.min_frames
					    << " frames (tracker.min_frames) gave no event; if this "
					       "replay is a directory of photos, set stills = true on "
					       "the camera";
		}
	};
	for (;;) {
		// Each frame's reads are taken in a frame of their own, below this one; whatever
		// tracking and emitting left on the stack is wiped after every turn.
		const bool took = track_one(emit);
		memory::wipe_stack(64 * 1024);
		if (took)
			continue;
		if (reads_.closed() && reads_.size() == 0) {
			emit(tracker_.flush());
			break;
		}
		if (flush_) {
			emit(tracker_.flush());
			flush_ = false;
			flushed_ = true;
			continue;
		}
		// No frames for a while (camera down, or between vehicles): time still ends tracks.
		emit(tracker_.expire(std::chrono::steady_clock::now(), [this](const std::string &camera) {
			const auto it = pending_.find(camera);
			return it != pending_.end() && it->second->load() > 0;
		}));
	}
}

void Pipeline::match_loop()
{
	// Each event is handled in a frame of its own, below this one: wiped with everything
	// the handling left on the stack (moved-from strings keep their characters).
	while (match_one())
		memory::wipe_stack(64 * 1024);
}

bool Pipeline::track_one(const std::function<void(std::vector<track::ReadEvent>)> &emit)
{
	auto r = reads_.pop(100ms);
	if (!r)
		return false;
	const std::string camera = r->camera_id;
	emit(tracker_.update(std::move(*r)));
	pending_add(camera, -1);
	r.reset();
	reads_.done();
	return true;
}

bool Pipeline::match_one()
{
	auto e = events_.pop(200ms);
	if (!e)
		return !(events_.closed() && events_.size() == 0);
	try {
		sink_(std::move(*e));
	} catch (const std::exception &ex) {
		// The event is lost (its hit, if any, did not reach the outbox): say so loudly.
		++sink_errors_;
		LOG(Daemon, Error) << "a read event was not handled: " << ex.what();
	}
	e.reset();
	events_.done();
	return true;
}

void Pipeline::watch_end()
{
	if (cameras_.empty() || !std::all_of(finite_.begin(), finite_.end(), [](bool b) { return b; }))
		return;
	auto all_ended = [this] {
		return std::all_of(cameras_.begin(), cameras_.end(),
				   [](const auto &c) { return c->ended(); });
	};
	while (!stopping_ && !all_ended())
		std::this_thread::sleep_for(50ms);
	while (!stopping_ && !frames_.wait_drained(100ms)) {
	}
	while (!stopping_ && !reads_.wait_drained(100ms)) {
	}
	if (stopping_)
		return;
	flush_ = true;
	while (!stopping_ && !flushed_)
		std::this_thread::sleep_for(10ms);
	while (!stopping_ && !events_.wait_drained(100ms)) {
	}
	if (!stopping_) {
		LOG(Daemon, Info) << "every source has ended and every read is processed";
		finished_ = true;
	}
}

bool Pipeline::frames_flowing(std::chrono::steady_clock::duration window) const
{
	const auto last = last_frame_ns_.load();
	return last != 0 && steady_ns() - last <=
				    std::chrono::duration_cast<std::chrono::nanoseconds>(window).count();
}

PipelineStats Pipeline::stats() const
{
	PipelineStats s;
	s.frames_captured = frames_captured_;
	s.frames_dropped = frames_.dropped();
	s.frames_read = frames_read_;
	s.read_errors = read_errors_;
	s.event_errors = sink_errors_;
	s.sightings = sightings_;
	s.events = events_count_;
	s.frame_queue = frames_.size();
	s.event_queue = events_.size();
	s.tracks = tracks_;
	for (const auto &c : cameras_)
		s.cameras.push_back(c->stats());
	std::lock_guard lock(rate_mutex_);
	const auto now = std::chrono::steady_clock::now();
	const double dt = std::chrono::duration<double>(now - rate_time_).count();
	if (rate_time_ == std::chrono::steady_clock::time_point{}) {
		// First call: the average since the start.
		const double up = std::chrono::duration<double>(now - start_time_).count();
		rate_ = up > 0 ? static_cast<double>(s.frames_read) / up : 0;
		rate_time_ = now;
		rate_frames_ = s.frames_read;
	} else if (dt >= 1.0) {
		rate_ = static_cast<double>(s.frames_read - rate_frames_) / dt;
		if (dt >= 10.0) {
			rate_time_ = now;
			rate_frames_ = s.frames_read;
		}
	}
	s.frames_per_second = rate_;
	return s;
}

bool Pipeline::has_camera(const std::string &camera_id) const
{
	return std::any_of(cameras_.begin(), cameras_.end(),
			   [&](const auto &c) { return c->camera_id() == camera_id; });
}

Result<SnapshotResult> Pipeline::snapshot(const std::string &camera_id)
{
	capture::CaptureThread *cam = nullptr;
	for (auto &c : cameras_)
		if (camera_id.empty() || c->camera_id() == camera_id) {
			cam = c.get();
			break;
		}
	if (!cam)
		return make_error(-ENOENT, "no camera '" + camera_id + "'");
	capture::FramePtr frame = cam->latest();
	if (!frame)
		return make_error(-EAGAIN, "camera " + cam->camera_id() + " has no frame yet");
	SnapshotResult out;
	out.camera_id = cam->camera_id();
	out.frame = frame->image.clone();
	frame.reset();
	{
		// Focus is judged on the frame as the camera saw it, before anything is masked.
		cv::Mat grey, lap;
		cv::cvtColor(out.frame, grey, cv::COLOR_BGR2GRAY);
		cv::Laplacian(grey, lap, CV_64F);
		cv::Scalar mean, stddev;
		cv::meanStdDev(lap, mean, stddev);
		out.sharpness = stddev[0] * stddev[0];
		grey.setTo(cv::Scalar::all(0));
	}
	std::lock_guard lock(*reader_mutexes_.front()); // worker 0 waits for one read
	// A technician aims with this frame; retention forbids keeping a non-hit plate, so the
	// device does not hand one out either (issue 15.1). The masking's first pass is also
	// the read that reports where the plates are.
	auto masked = ocr::mask_plates(*readers_.front(), out.frame);
	if (!masked) {
		out.frame.setTo(cv::Scalar::all(0));
		return make_error(masked.error().code, "snapshot withheld: " + masked.error().message);
	}
	out.plates = std::move(masked->found);
	out.masked = std::move(masked->masked);
	return out;
}

} // namespace lethe::pipeline
