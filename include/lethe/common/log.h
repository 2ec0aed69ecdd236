// SPDX-License-Identifier: GPL-3.0-or-later
// Category/severity logging: LOG(Hotlist, Warning) << "..."; levels set per category.
//
// Privacy rule: a log line must never contain a non-hit plate, crop or frame.
// Callers pass digests or counts, never plate text that has not matched a hot list.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace lethe::log {

enum class Severity { Debug = 0, Info = 1, Warning = 2, Error = 3, Fatal = 4 };

/// Log categories: one per pipeline stage plus the binaries.
enum class Category {
	Capture, Detect, Ocr, Track, Hotlist, Publish, Retention, Policy, Audit, Store,
	Config, Daemon, Cli, Count
};

std::string_view category_name(Category c);
std::string_view severity_name(Severity s);

/// Minimum severity printed for a category (default Info).
void set_level(Category c, Severity s);
Severity level(Category c);

/// Parse "Hotlist:Debug,*:Warning" (also from the LETHE_LOG_LEVELS environment variable).
/// Returns false and leaves levels unchanged if the spec is malformed.
[[nodiscard]] bool set_levels(std::string_view spec);

/// Where lines go: stderr. When stderr is the journal (JOURNAL_STREAM names it), each line
/// starts with its sd-daemon(3) priority: <7> Debug, <6> Info, <4> Warning, <3> Error,
/// <2> Fatal, so `journalctl -p warning` works; elsewhere lines are plain.
void write_line(Category c, Severity s, const std::string &line);

class Message
{
public:
	Message(Category c, Severity s) : category_(c), severity_(s) {}
	Message(const Message &) = delete;
	Message &operator=(const Message &) = delete;
	~Message() { write_line(category_, severity_, stream_.str()); }
	std::ostringstream &stream() { return stream_; }

private:
	Category category_;
	Severity severity_;
	std::ostringstream stream_;
};

} // namespace lethe::log

#define LOG(category, severity)                                                           \
	if (::lethe::log::Severity::severity <                                               \
	    ::lethe::log::level(::lethe::log::Category::category)) {                         \
	} else                                                                                \
		::lethe::log::Message(::lethe::log::Category::category,                          \
				      ::lethe::log::Severity::severity)                           \
			.stream()
