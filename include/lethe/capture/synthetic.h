// SPDX-License-Identifier: GPL-3.0-or-later
// Synthetic replay sequences: still images of vehicles turned into "vehicles passing" frames.
#pragma once

#include <filesystem>
#include <vector>

#include "lethe/common/result.h"

namespace lethe::capture {

struct PassSequenceOptions {
	unsigned frames_per_vehicle = 8; ///< 1..200 frames showing each vehicle
	unsigned gap_frames = 6;         ///< 0..200 empty frames before and after each vehicle
	int shift_px = 5;                ///< vertical movement per frame (px, -50..50)
	double zoom_per_frame = 0.01;    ///< approach: scale grows by this per frame (0..0.1)
	int width = 0, height = 0;       ///< frame size (0: the first still's); stills are
					 ///< scaled to fit, centred on the empty scene
};

/// Write a replay directory (frame_00001.jpg …): for each still, gap frames of an empty
/// scene, then the still moving and growing slightly frame by frame, then a final gap.
/// Frames take options' size, else the size of the first still. Returns the number of frames written.
[[nodiscard]] Result<unsigned> write_pass_sequence(const std::vector<std::filesystem::path> &stills,
						   const std::filesystem::path &out_dir,
						   const PassSequenceOptions &options = {});

} // namespace lethe::capture
