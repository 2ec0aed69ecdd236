// SPDX-License-Identifier: GPL-3.0-or-later
// What a core dump of a running process would hold, scanned for needles (issue 15.4).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "support/byte_scan.h"

namespace lethe::test {

struct MemoryScan {
	std::vector<ByteScanner::Found> found; ///< file = the mapping ("[heap]", a path, "anon")
	std::size_t bytes = 0;                 ///< bytes read and scanned
	std::size_t mappings = 0;              ///< mappings read
	std::size_t dont_dump = 0;             ///< MADV_DONTDUMP mappings skipped
	std::string error;                     ///< set when the process could not be read at all
};

/// Read every mapping of `pid` that a core dump would include, as gdb's gcore selects them
/// (readable, not MADV_DONTDUMP, not [vvar]/[vsyscall]), through /proc/PID/mem, and scan it.
/// Needs ptrace access to the process (root, or its parent under Yama scope 1).
/// MADV_DONTDUMP mappings up to `dont_dump_max` bytes each are read too (what root could
/// read live: frames are mapped so); larger ones (AddressSanitizer's terabytes of shadow
/// and reserved space) are skipped and counted.
[[nodiscard]] MemoryScan scan_process_memory(pid_t pid, const ByteScanner &scanner,
                                             std::size_t dont_dump_max = 0);

} // namespace lethe::test
