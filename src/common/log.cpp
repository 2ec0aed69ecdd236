// SPDX-License-Identifier: GPL-3.0-or-later
// Category/severity logging to stderr, one line per message, levels per category, journald priorities.
#include "lethe/common/log.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

#include "lethe/common/utc_time.h"

namespace lethe::log {
namespace {

constexpr std::size_t kCount = static_cast<std::size_t>(Category::Count);
constexpr std::array<std::string_view, kCount> kNames = {
	"Capture", "Detect", "Ocr", "Track", "Hotlist", "Publish", "Retention",
	"Policy", "Audit", "Store", "Config", "Daemon", "Cli"};

std::array<std::atomic<int>, kCount> &storage()
{
	// Zero-initialised atomics; 0 is "unset" and reads as Info.
	static std::array<std::atomic<int>, kCount> l{};
	return l;
}

bool apply_levels(std::string_view spec);

std::array<std::atomic<int>, kCount> &levels()
{
	static const bool from_env = [] {
		for (auto &x : storage())
			x.store(static_cast<int>(Severity::Info));
		if (const char *spec = std::getenv("LETHE_LOG_LEVELS"))
			(void)apply_levels(spec);
		return true;
	}();
	(void)from_env;
	return storage();
}

bool parse_severity(std::string_view s, Severity &out)
{
	static constexpr std::array<std::string_view, 5> names = {"Debug", "Info", "Warning",
								   "Error", "Fatal"};
	for (std::size_t i = 0; i < names.size(); ++i) {
		if (s == names[i]) {
			out = static_cast<Severity>(i);
			return true;
		}
	}
	return false;
}

} // namespace

std::string_view category_name(Category c)
{
	const auto i = static_cast<std::size_t>(c);
	return i < kCount ? kNames[i] : "?";
}

std::string_view severity_name(Severity s)
{
	switch (s) {
	case Severity::Debug: return "DEBUG";
	case Severity::Info: return "INFO";
	case Severity::Warning: return "WARN";
	case Severity::Error: return "ERROR";
	case Severity::Fatal: return "FATAL";
	}
	return "?";
}

void set_level(Category c, Severity s)
{
	levels()[static_cast<std::size_t>(c)].store(static_cast<int>(s));
}

Severity level(Category c)
{
	return static_cast<Severity>(levels()[static_cast<std::size_t>(c)].load());
}

bool set_levels(std::string_view spec)
{
	(void)levels(); // apply LETHE_LOG_LEVELS first so it cannot override this call
	return apply_levels(spec);
}

namespace {

bool apply_levels(std::string_view spec)
{
	std::array<int, kCount> next{};
	for (std::size_t i = 0; i < kCount; ++i)
		next[i] = storage()[i].load();
	while (!spec.empty()) {
		const auto comma = spec.find(',');
		const std::string_view item = spec.substr(0, comma);
		spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
		const auto colon = item.find(':');
		if (colon == std::string_view::npos)
			return false;
		Severity sev{};
		if (!parse_severity(item.substr(colon + 1), sev))
			return false;
		const std::string_view cat = item.substr(0, colon);
		bool found = cat == "*";
		for (std::size_t i = 0; i < kCount; ++i) {
			if (cat == "*" || cat == kNames[i]) {
				next[i] = static_cast<int>(sev);
				found = true;
			}
		}
		if (!found)
			return false;
	}
	for (std::size_t i = 0; i < kCount; ++i)
		storage()[i].store(next[i]);
	return true;
}

} // namespace

namespace {

/// Is stderr the journal's stream? systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream
/// it connected; a child whose stderr went elsewhere inherits the variable, so it counts only
/// while fstat(2) of stderr still matches (systemd.exec(5)). Checked per line: cheap, and
/// right after stderr is redirected.
bool stderr_is_journal()
{
	const char *env = std::getenv("JOURNAL_STREAM");
	if (!env)
		return false;
	unsigned long long dev = 0, ino = 0;
	int used = 0;
	if (std::sscanf(env, "%llu:%llu%n", &dev, &ino, &used) != 2 || env[used] != '\0')
		return false;
	struct stat st {};
	return ::fstat(STDERR_FILENO, &st) == 0 && static_cast<unsigned long long>(st.st_dev) == dev &&
	       static_cast<unsigned long long>(st.st_ino) == ino;
}

/// The sd-daemon(3) prefix journald reads as the line's priority (syslog levels).
const char *journal_prefix(Severity s)
{
	switch (s) {
	case Severity::Debug: return "<7>";
	case Severity::Info: return "<6>";
	case Severity::Warning: return "<4>";
	case Severity::Error: return "<3>";
	case Severity::Fatal: return "<2>";
	}
	return "<6>";
}

} // namespace

void write_line(Category c, Severity s, const std::string &line)
{
	static std::mutex mutex;
	const std::string ts = format_utc(std::chrono::system_clock::now());
	const char *prefix = stderr_is_journal() ? journal_prefix(s) : "";
	// journald reads each line of the stream on its own: every line carries the priority.
	std::string text = line;
	if (*prefix)
		for (auto at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 4))
			text.insert(at + 1, prefix);
	const std::lock_guard lock(mutex);
	std::fprintf(stderr, "%s%s %s %.*s: %s\n", prefix, ts.c_str(), severity_name(s).data(),
		     static_cast<int>(category_name(c).size()), category_name(c).data(),
		     text.c_str());
}

} // namespace lethe::log
