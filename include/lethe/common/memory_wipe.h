// SPDX-License-Identifier: GPL-3.0-or-later
// Freed memory is wiped, and frame-sized buffers stay out of core dumps (issue 15.4).
//
// Retention forgets a non-hit plate by purging its digest; the process that read the plate
// must not keep it either, after the buffers that held it are freed. Plate text and pixels
// pass through our code, OpenCV, Tesseract and Leptonica, in objects that are copied, moved
// and reallocated: wiping each where it dies cannot be complete. So freed memory is wiped
// where it is released instead:
//   - every C++ `operator delete` (our strings and vectors, Tesseract's objects, OpenCV's
//     AutoBuffers) zeroes the block first (release builds; under AddressSanitizer, whose own
//     operator delete must stay, lethed asks ASan to fill freed blocks instead);
//   - every OpenCV matrix (frames, crops, every intermediate image) is zeroed when released;
//     matrices from 256 KiB up are mapped on their own and marked MADV_DONTDUMP (up to 32 MiB
//     of them, zeroed, are kept for reuse; the rest are unmapped);
//   - Leptonica's pixel buffers (Tesseract's copies of a crop) are zeroed when freed.
// Stale stack frames are the last hiding place: threads that touched a plate call
// wipe_stack() when they go idle.
#pragma once

#include <cstddef>

namespace lethe::memory {

/// Install the wiping allocators for OpenCV and Leptonica (the C++ operator delete is
/// replaced at link time wherever this file's object is linked). Call once, first thing in
/// main(), before any image exists. Idempotent.
void install_wiping_allocators();

/// Who zeroes freed C++ blocks in this build: "operator delete" (release builds),
/// "AddressSanitizer free fill" (debug preset), or "none" (ThreadSanitizer builds, for tests).
[[nodiscard]] const char *freed_block_wiper();

/// Zero `bytes` of this thread's stack below the caller's frame: what deeper calls left
/// there (a plate read by Tesseract a frame ago) is gone. Cheap enough to call per frame.
void wipe_stack(std::size_t bytes = 256 * 1024);

/// Bytes released through the OpenCV allocator since start (a test's proof it is in use).
[[nodiscard]] std::size_t mat_bytes_wiped();

} // namespace lethe::memory
