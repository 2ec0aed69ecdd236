// SPDX-License-Identifier: GPL-3.0-or-later
// Capture: frame pool recycling, replay of image directories and videos, pacing, and a source
// that disappears and returns (reopened with back-off, the thread never dies).
#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "lethe/capture/capture_thread.h"
#include "lethe/capture/frame_source.h"
#include "lethe/capture/image_file.h"
#include "lethe/capture/synthetic.h"
#include "support/lethed_fixture.h"
#include "support/temp_dir.h"

namespace {

using namespace lethe::capture;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Frame i is a flat grey image of value 10*i with its index drawn on it.
void write_sequence(const fs::path &dir, int count, cv::Size size = {64, 48})
{
	fs::create_directories(dir);
	for (int i = 0; i < count; ++i) {
		cv::Mat m(size, CV_8UC3, cv::Scalar::all(10 * i));
		char name[32];
		std::snprintf(name, sizeof(name), "f%03d.png", i);
		ASSERT_TRUE(cv::imwrite((dir / name).string(), m));
	}
}

std::unique_ptr<FrameSource> must(lethe::Result<std::unique_ptr<FrameSource>> r)
{
	EXPECT_TRUE(r.ok());
	return std::move(r).value();
}

SourceSpec replay_spec(const fs::path &dir)
{
	SourceSpec s;
	s.camera_id = "test";
	s.kind = SourceKind::Replay;
	s.uri = dir.string();
	return s;
}

TEST(FramePool, RecyclesBuffersAndCountsExhaustion)
{
	auto pool = FramePool::create(2);
	ASSERT_TRUE(pool);
	auto a = pool->acquire();
	auto b = pool->acquire();
	ASSERT_TRUE(a && b);
	a->image.create(10, 10, CV_8UC3);
	const uchar *data = a->image.data;
	EXPECT_EQ(pool->in_use(), 2u);
	EXPECT_EQ(pool->acquire(), nullptr);
	EXPECT_EQ(pool->exhausted(), 1u);
	a.reset();
	EXPECT_EQ(pool->in_use(), 1u);
	auto c = pool->acquire();
	ASSERT_TRUE(c);
	c->image.create(10, 10, CV_8UC3); // same size: the very same buffer, no allocation
	EXPECT_EQ(c->image.data, data);
	EXPECT_EQ(FramePool::create(0), nullptr);
}

TEST(FramePool, OutlivesItsOwnerWhileFramesExist)
{
	std::shared_ptr<Frame> f;
	{
		auto pool = FramePool::create(1);
		f = pool->acquire();
	}
	f->image.create(4, 4, CV_8UC3); // the pool is still alive through the deleter
	f.reset();
}

TEST(Replay, DirectoryInOrderThenEnd)
{
	lethe::test::TempDir dir;
	write_sequence(dir / "seq", 5);
	lethe::test::write_file(dir / "seq" / "notes.txt", "not an image");
	auto pool = FramePool::create(3);
	auto src = create_source(replay_spec(dir / "seq"), pool);
	ASSERT_TRUE(src.ok()) << src.error().message;
	ASSERT_TRUE((*src)->open().ok());
	EXPECT_TRUE((*src)->finite());
	std::chrono::steady_clock::time_point last{};
	for (int i = 0; i < 5; ++i) {
		auto f = (*src)->next(1s);
		ASSERT_TRUE(f.ok()) << f.error().message;
		EXPECT_EQ((*f)->sequence, static_cast<std::uint64_t>(i + 1));
		EXPECT_EQ((*f)->camera_id, "test");
		EXPECT_EQ((*f)->image.size(), cv::Size(64, 48));
		EXPECT_EQ((*f)->image.at<cv::Vec3b>(0, 0)[0], 10 * i);
		EXPECT_GT((*f)->monotonic, last);
		last = (*f)->monotonic;
	}
	auto end = (*src)->next(1s);
	ASSERT_FALSE(end.ok());
	EXPECT_EQ(end.error().code, -ENODATA);
	EXPECT_EQ(pool->in_use(), 0u);
}

/// A PNG whose header claims 20000 x 20000 (valid chunks, tiny bogus IDAT): 1.2 GB decoded.
std::string huge_png_header()
{
	auto be = [](std::uint32_t v) {
		return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
				   static_cast<char>(v >> 8), static_cast<char>(v)};
	};
	std::string s = "\x89PNG\r\n\x1a\n";
	s += be(13) + "IHDR" + be(20000) + be(20000) + std::string("\x08\x02\x00\x00\x00", 5) + be(0);
	s += be(4) + "IDAT" + std::string("\x78\x9c\x00\x00", 4) + be(0);
	s += be(0) + "IEND" + be(0);
	return s;
}

TEST(Replay, UnloadableImagesAreSkippedByNameAndCounted)
{
	lethe::test::TempDir dir;
	write_sequence(dir / "seq", 3);
	// Sorted between the good frames: f000.png, f001.png, f001a-huge.png, f001b-cut.jpg, f002.png
	lethe::test::write_file(dir / "seq" / "f001a-huge.png", huge_png_header());
	std::vector<std::uint8_t> jpeg;
	ASSERT_TRUE(cv::imencode(".jpg", cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(50)), jpeg));
	lethe::test::write_file(dir / "seq" / "f001b-cut.jpg",
				std::string(jpeg.begin(), jpeg.begin() + static_cast<long>(jpeg.size() / 2)));
	// Not an extension the loader reads: not listed at all (the old list had .tif).
	ASSERT_TRUE(cv::imwrite((dir / "seq" / "f001c.tif").string(), cv::Mat(48, 64, CV_8UC3)));

	auto pool = FramePool::create(2);
	auto src = must(create_source(replay_spec(dir / "seq"), pool));
	ASSERT_TRUE(src->open().ok());
	std::vector<std::string> skipped;
	int frames = 0;
	for (int i = 0; i < 10; ++i) {
		auto f = src->next(1s);
		if (f.ok()) {
			++frames;
			continue;
		}
		if (f.error().code == -ENODATA)
			break;
		ASSERT_EQ(f.error().code, -EBADMSG) << f.error().message;
		skipped.push_back(f.error().message);
	}
	EXPECT_EQ(frames, 3);
	ASSERT_EQ(skipped.size(), 2u);
	EXPECT_EQ(skipped[0].rfind("f001a-huge.png: image too large: 20000x20000", 0), 0u) << skipped[0];
	EXPECT_EQ(skipped[1].rfind("f001b-cut.jpg: truncated or corrupt JPEG", 0), 0u) << skipped[1];
	src->close();

	// The capture thread counts them and goes on.
	std::atomic<int> delivered{0};
	CaptureThread t(must(create_source(replay_spec(dir / "seq"), FramePool::create(2))),
			Backoff{}, [&](FramePtr) { ++delivered; });
	t.start();
	for (int i = 0; i < 500 && !t.ended(); ++i)
		std::this_thread::sleep_for(10ms);
	ASSERT_TRUE(t.ended());
	t.stop();
	EXPECT_EQ(delivered.load(), 3);
	EXPECT_EQ(t.stats().skipped, 2u);
	EXPECT_EQ(t.stats().failures, 0u);
}

TEST(Replay, StillsAreMarkedAndOnlyForDirectories)
{
	lethe::test::TempDir dir;
	write_sequence(dir / "seq", 2);
	for (bool stills : {false, true}) {
		auto spec = replay_spec(dir / "seq");
		spec.stills = stills;
		auto pool = FramePool::create(2);
		auto src = must(create_source(spec, pool));
		ASSERT_TRUE(src->open().ok());
		for (int i = 0; i < 2; ++i) {
			auto f = src->next(1s);
			ASSERT_TRUE(f.ok()) << f.error().message;
			EXPECT_EQ((*f)->still, stills);
		}
	}
	// A video file is frames, never photos.
	const auto video = dir / "v.avi";
	cv::VideoWriter w(video.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 25, {64, 48});
	ASSERT_TRUE(w.isOpened());
	w.write(cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(9)));
	w.release();
	auto spec = replay_spec(video);
	spec.stills = true;
	auto src = must(create_source(spec, FramePool::create(2)));
	auto st = src->open();
	ASSERT_FALSE(st.ok());
	EXPECT_NE(st.error().message.find("stills = true wants a directory"), std::string::npos)
		<< st.error().message;
}

TEST(ImageFile, OneListOfExtensionsForReadAndReplay)
{
	EXPECT_TRUE(has_image_extension("a/B.JPG"));
	EXPECT_TRUE(has_image_extension("x.jpeg"));
	EXPECT_TRUE(has_image_extension("x.Png"));
	EXPECT_TRUE(has_image_extension("x.bmp"));
	EXPECT_FALSE(has_image_extension("x.tiff"));
	EXPECT_FALSE(has_image_extension("x.webp"));
	EXPECT_FALSE(has_image_extension("jpg"));
	lethe::test::TempDir dir;
	for (const char *n : {"b.png", "a.JPG", "c.txt", "d.webp"})
		lethe::test::write_file(dir / n, "x");
	fs::create_directories(dir / "e.jpg"); // a directory, not a file
	auto files = list_image_files(dir.path());
	ASSERT_TRUE(files.ok());
	ASSERT_EQ(files->size(), 2u);
	EXPECT_EQ((*files)[0].filename(), "a.JPG");
	EXPECT_EQ((*files)[1].filename(), "b.png");
}

TEST(Replay, MissingDirectoryFailsToOpen)
{
	auto src = create_source(replay_spec("/nonexistent/lethe"), FramePool::create(2));
	ASSERT_TRUE(src.ok());
	EXPECT_FALSE((*src)->open().ok());
}

TEST(Replay, PacedAtFpsOrAsFastAsPossible)
{
	lethe::test::TempDir dir;
	write_sequence(dir / "seq", 6);
	auto run = [&](double fps) {
		auto spec = replay_spec(dir / "seq");
		spec.replay_fps = fps;
		auto src = create_source(spec, FramePool::create(2));
		EXPECT_TRUE((*src)->open().ok());
		const auto t0 = std::chrono::steady_clock::now();
		int n = 0;
		while ((*src)->next(1s).ok())
			++n;
		EXPECT_EQ(n, 6);
		return std::chrono::steady_clock::now() - t0;
	};
	EXPECT_GE(run(20), 240ms); // 6 frames at 20 fps: the last is due at 250 ms
	EXPECT_LT(run(0), 240ms);
}

TEST(Replay, TimestampsFollowNominalRate)
{
	lethe::test::TempDir dir;
	write_sequence(dir / "seq", 3);
	auto spec = replay_spec(dir / "seq");
	spec.fps = 10; // as fast as possible, stamped as if 10 fps
	auto src = create_source(spec, FramePool::create(3));
	ASSERT_TRUE((*src)->open().ok());
	auto a = (*src)->next(1s), b = (*src)->next(1s);
	ASSERT_TRUE(a.ok() && b.ok());
	EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>((*b)->monotonic - (*a)->monotonic),
		  100ms);
}

TEST(Replay, LoopsWhenAsked)
{
	lethe::test::TempDir dir;
	write_sequence(dir / "seq", 2);
	auto spec = replay_spec(dir / "seq");
	spec.loop = true;
	auto src = create_source(spec, FramePool::create(2));
	ASSERT_TRUE((*src)->open().ok());
	EXPECT_FALSE((*src)->finite());
	for (int i = 0; i < 5; ++i) {
		auto f = (*src)->next(1s);
		ASSERT_TRUE(f.ok());
		EXPECT_EQ((*f)->image.at<cv::Vec3b>(0, 0)[0], 10 * (i % 2));
	}
}

TEST(Replay, VideoFile)
{
	lethe::test::TempDir dir;
	const auto path = (dir / "clip.avi").string();
	cv::VideoWriter w(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(64, 48));
	if (!w.isOpened())
		GTEST_SKIP() << "this OpenCV has no video writer";
	for (int i = 0; i < 4; ++i)
		w.write(cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(40 * i)));
	w.release();
	auto src = create_source(replay_spec(path), FramePool::create(2));
	ASSERT_TRUE((*src)->open().ok());
	int n = 0;
	for (;;) {
		auto f = (*src)->next(1s);
		if (!f.ok()) {
			EXPECT_EQ(f.error().code, -ENODATA);
			break;
		}
		EXPECT_NEAR((*f)->image.at<cv::Vec3b>(24, 32)[1], 40 * n, 12);
		++n;
	}
	EXPECT_EQ(n, 4);
}

TEST(CaptureThread, FiniteSourceEnds)
{
	lethe::test::TempDir dir;
	write_sequence(dir / "seq", 4);
	std::atomic<int> frames{0};
	CaptureThread t(must(create_source(replay_spec(dir / "seq"), FramePool::create(2))),
			Backoff{}, [&](FramePtr) { ++frames; });
	t.start();
	for (int i = 0; i < 200 && !t.ended(); ++i)
		std::this_thread::sleep_for(10ms);
	EXPECT_TRUE(t.ended());
	EXPECT_EQ(frames.load(), 4);
	t.stop();
	EXPECT_EQ(t.stats().frames, 4u);
}

TEST(CaptureThread, SourceThatDisappearsAndReturnsIsReopened)
{
	lethe::test::TempDir dir;
	write_sequence(dir / "seq", 3);
	auto spec = replay_spec(dir / "seq");
	spec.loop = true;
	spec.replay_fps = 100;
	std::atomic<int> frames{0};
	CaptureThread t(must(create_source(spec, FramePool::create(2))),
			Backoff{20ms, 80ms}, [&](FramePtr f) {
				EXPECT_FALSE(f->image.empty());
				++frames;
			});
	t.start();
	auto wait = [](auto pred) {
		for (int i = 0; i < 500 && !pred(); ++i)
			std::this_thread::sleep_for(10ms);
		return pred();
	};
	ASSERT_TRUE(wait([&] { return frames.load() >= 5; }));

	// The camera goes away (unplugged, mount lost): the thread reports it and keeps trying.
	fs::rename(dir / "seq", dir / "gone");
	ASSERT_TRUE(wait([&] { return !t.stats().open && t.stats().failures >= 2; }))
		<< "failures=" << t.stats().failures;
	const int during = frames.load();
	// Two more reopen attempts failed since: the thread went on trying, and no frame came.
	const auto failures = t.stats().failures;
	ASSERT_TRUE(lethe::test::wait_until([&] { return t.stats().failures >= failures + 2; }, 5s))
		<< "failures=" << t.stats().failures;
	EXPECT_LE(frames.load(), during + 1);
	EXPECT_FALSE(t.stats().last_error.empty());

	// It comes back: frames flow again without restarting anything.
	fs::rename(dir / "gone", dir / "seq");
	ASSERT_TRUE(wait([&] { return frames.load() >= during + 5; }));
	const auto s = t.stats();
	EXPECT_TRUE(s.open);
	EXPECT_GE(s.reopens, 1u);
	t.stop();
}

TEST(CaptureThread, StopInterruptsBackoff)
{
	SourceSpec spec;
	spec.camera_id = "dead";
	spec.kind = SourceKind::V4l2;
	spec.uri = "/dev/video-lethe-none";
	CaptureThread t(must(create_source(spec, FramePool::create(2))),
			Backoff{10000ms, 10000ms}, [](FramePtr) {});
	t.start();
	// The first open has failed: the thread is in (or entering) its 10 s back-off.
	ASSERT_TRUE(lethe::test::wait_until([&] { return t.stats().failures >= 1; }, 5s));
	const auto t0 = std::chrono::steady_clock::now();
	t.stop();
	EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
	EXPECT_GE(t.stats().failures, 1u);
}

TEST(Cameras, ListingWithoutCamerasIsEmptyNotAnError)
{
	// On a machine without cameras this is empty; with cameras every entry names a backend.
	for (const auto &c : list_cameras()) {
		EXPECT_TRUE(c.backend == "libcamera" || c.backend == "v4l2");
		EXPECT_FALSE(c.id.empty());
	}
	auto r = lethe::test::run_command(std::string(LETHE_CLI_PATH) + " camera list --json");
	EXPECT_EQ(r.status, 0);
	EXPECT_EQ(r.output.rfind("{\"cameras\":[", 0), 0u) << r.output;
}

TEST(Sources, UriCredentialsAreRedacted)
{
	EXPECT_EQ(redact_uri("rtsp://admin:secret@10.0.0.5:554/stream"), "rtsp://***@10.0.0.5:554/stream");
	EXPECT_EQ(redact_uri("/dev/video0"), "/dev/video0");
	EXPECT_EQ(redact_uri("http://cam/a@b"), "http://cam/a@b");
}

} // namespace

namespace {

TEST(Synthetic, PassSequenceFramesAndSize)
{
	lethe::test::TempDir dir;
	write_sequence(dir / "stills", 2, {320, 240});
	lethe::capture::PassSequenceOptions o;
	o.frames_per_vehicle = 3;
	o.gap_frames = 2;
	o.width = 640;
	o.height = 360;
	auto n = lethe::capture::write_pass_sequence({dir / "stills" / "f000.png", dir / "stills" / "f001.png"},
						     dir / "seq", o);
	ASSERT_TRUE(n.ok()) << n.error().message;
	EXPECT_EQ(*n, 2u * (2 + 3) + 2);
	auto src = must(create_source(replay_spec(dir / "seq"), FramePool::create(2)));
	ASSERT_TRUE(src->open().ok());
	unsigned frames = 0;
	while (auto f = src->next(1s)) {
		EXPECT_EQ((*f)->image.size(), cv::Size(640, 360));
		++frames;
	}
	EXPECT_EQ(frames, *n);
	EXPECT_FALSE(lethe::capture::write_pass_sequence({}, dir / "x").ok());
	EXPECT_FALSE(lethe::capture::write_pass_sequence({dir / "missing.png"}, dir / "x").ok());
}

} // namespace
