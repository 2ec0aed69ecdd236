// SPDX-License-Identifier: GPL-3.0-or-later
// The catch boundary of every long-lived thread: log, count, degrade — never std::terminate.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

namespace lethe {

/// Run `body` as a thread's entry. An exception that escapes it (OpenCV, Tesseract and the
/// standard library report errors by throwing, and a thread that lets one out ends the
/// process) is logged with `name`, counted in thread_failures(), and `body` runs again after
/// `pause` unless `stopping()` says the thread should end: the stage loses what it held at
/// that moment (one frame, one read) and goes on. A body that returns ends the thread.
void run_thread(std::string_view name, const std::function<void()> &body,
                const std::function<bool()> &stopping,
                std::chrono::milliseconds pause = std::chrono::milliseconds{100});

/// Exceptions caught by run_thread() in this process (status JSON: thread_failures).
[[nodiscard]] std::uint64_t thread_failures();

} // namespace lethe
