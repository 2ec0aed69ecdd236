// SPDX-License-Identifier: GPL-3.0-or-later
// Black out every plate a reader can find in a frame, and prove it can then find none.
//
// For frames that leave the device without being a hit (`lethe camera snapshot`, an aiming
// aid for technicians): retention forbids keeping a non-hit plate, so the device may not hand
// one out either (issue 15.1). The mask is opaque (filled, not blurred: blur can be undone in
// part) and padded around each region, and the frame is read again after masking until the
// reader finds nothing; a frame in which a plate stays legible is refused, not sent.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "lethe/common/result.h"
#include "lethe/ocr/plate_reader.h"

namespace lethe::ocr {

/// A plate the reader read before masking: where, and how sure. Never its text.
struct FoundPlate {
	cv::Rect box;           ///< estimated plate rim, frame pixels
	float confidence = 0.F; ///< of the read, 0..1, calibrated
};

struct MaskResult {
	std::vector<FoundPlate> found; ///< the plates read on the unmasked frame (first pass)
	std::vector<cv::Rect> masked;  ///< the filled boxes, frame pixels
	int passes = 0;                ///< detect-and-fill rounds that found something
};

/// Fill, in place, every region the reader's detector proposes and every plate it reads
/// (padded by a quarter of the box's size on each side), then look again, at most
/// `max_passes` times. The first pass's reads are returned as `found` (boxes and
/// confidences: the texts are wiped), so a caller need not read the frame once more. Fails with -EAGAIN if the reader still reads a plate after that (the
/// caller must not release the frame), and with the reader's error if it cannot read.
[[nodiscard]] Result<MaskResult> mask_plates(PlateReader &reader, cv::Mat &frame,
					     int max_passes = 3);

} // namespace lethe::ocr
