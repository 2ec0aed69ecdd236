// SPDX-License-Identifier: GPL-3.0-or-later
// Crash-safe file writes (temp file, fsync, rename, fsync directory), bounded and secret reads,
// and the low-level pieces they share (write_all, fsync_dir).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "lethe/common/result.h"

namespace lethe::fsutil {

/// Replace `path` atomically: write `dir/.name.tmp-XXXXXX` (mode `mode`), fsync it, rename it
/// over `path`, fsync the directory. A crash leaves either the old or the new content.
[[nodiscard]] Status write_atomic(const std::filesystem::path &path, std::string_view data,
				  unsigned mode = 0600);

/// Create `path` with O_CREAT|O_EXCL|O_NOFOLLOW (never overwrites, never follows a link),
/// mode `mode` regardless of the umask, write, fsync it and its directory.
[[nodiscard]] Status write_exclusive(const std::filesystem::path &path, std::string_view data,
				     unsigned mode = 0600);

/// Read a whole regular file; fails (-EFBIG) if it is larger than max_size.
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path &path,
					    std::size_t max_size = 64u * 1024u * 1024u);

/// Is `path` fit to hold a secret: a regular file (not a link) that group and others can
/// neither read nor write? -EPERM with the mode, or -EINVAL, naming the path.
[[nodiscard]] Status check_private_file(const std::filesystem::path &path);

/// Read a secret (a password) from a file that passes check_private_file(), checked on the
/// open file (O_NOFOLLOW). The caller wipes the result (crypto::wipe) after use.
[[nodiscard]] Result<std::string> read_private_file(const std::filesystem::path &path,
						    std::size_t max_size = 4096);

/// fsync a directory (after creating, renaming or removing entries in it).
[[nodiscard]] Status fsync_dir(const std::filesystem::path &dir);

/// Write all of `data` to `fd`, going on after short writes and EINTR; a write that makes
/// no progress is -EIO. Errors name `path`, the file `fd` is open on.
[[nodiscard]] Status write_all(int fd, std::string_view data, const std::filesystem::path &path);

} // namespace lethe::fsutil
