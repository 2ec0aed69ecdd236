// SPDX-License-Identifier: GPL-3.0-or-later
// Forensic scan: find any of many strings (ASCII, UTF-16LE, UTF-16BE) in every file of a tree.
#pragma once

#include <array>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lethe::test {

class ByteScanner
{
public:
	struct Found {
		int id;                       ///< the id given to add()
		std::string encoding;         ///< "ascii", "utf16le", "utf16be", "raw"
		std::filesystem::path file;
		std::size_t offset;
	};

	/// Look for `text` in ASCII/UTF-8 and in UTF-16LE and UTF-16BE.
	void add_text(std::string_view text, int id);
	/// Look for exact bytes (e.g. a key).
	void add_raw(std::string_view bytes, int id);

	[[nodiscard]] std::vector<Found> scan(std::string_view data,
					      const std::filesystem::path &file = {}) const;
	/// Every regular file under dir, recursively (database, WAL, journal, keys, logs...).
	[[nodiscard]] std::vector<Found> scan_tree(const std::filesystem::path &dir) const;
	/// Bytes scanned by the last scan_tree().
	[[nodiscard]] std::size_t bytes_scanned() const { return bytes_; }
	[[nodiscard]] std::size_t files_scanned() const { return files_; }

private:
	/// Up to this many needles, scan() searches for each with memmem.
	static constexpr std::size_t kFewNeedles = 64;
	void add(std::string bytes, int id, std::string encoding);
	struct Needle {
		int id;
		std::string encoding;
	};
	struct Group {
		std::array<bool, 256> first{};
		std::array<bool, 256> second{};
		std::unordered_map<std::string_view, Needle> needles;
	};
	std::deque<std::string> storage_;
	std::map<std::size_t, Group> groups_;
	mutable std::size_t bytes_ = 0;
	mutable std::size_t files_ = 0;
};

/// Every byte of every regular file under dir, searched for each text in ASCII/UTF-8, UTF-16LE
/// and UTF-16BE: one line "TEXT (ENCODING) in FILE at OFFSET" per occurrence; empty if none.
[[nodiscard]] std::vector<std::string> forensic_scan(const std::filesystem::path &dir,
						     const std::vector<std::string> &texts);

} // namespace lethe::test
