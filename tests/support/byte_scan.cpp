// SPDX-License-Identifier: GPL-3.0-or-later
// Multi-pattern byte scanner for the forensic retention tests.
#include "support/byte_scan.h"

#include <cstring>

#include "support/temp_dir.h"

namespace lethe::test {

void ByteScanner::add(std::string bytes, int id, std::string encoding)
{
	if (bytes.size() < 2)
		return;
	storage_.push_back(std::move(bytes));
	const std::string &b = storage_.back();
	Group &g = groups_[b.size()];
	g.first[static_cast<unsigned char>(b[0])] = true;
	g.second[static_cast<unsigned char>(b[1])] = true;
	g.needles.emplace(std::string_view(b), Needle{id, std::move(encoding)});
}

void ByteScanner::add_text(std::string_view text, int id)
{
	add(std::string(text), id, "ascii");
	std::string le, be;
	for (char c : text) {
		le.push_back(c);
		le.push_back('\0');
		be.push_back('\0');
		be.push_back(c);
	}
	add(std::move(le), id, "utf16le");
	add(std::move(be), id, "utf16be");
}

void ByteScanner::add_raw(std::string_view bytes, int id)
{
	add(std::string(bytes), id, "raw");
}

std::vector<ByteScanner::Found> ByteScanner::scan(std::string_view data,
						  const std::filesystem::path &file) const
{
	std::vector<Found> out;
	if (storage_.size() <= kFewNeedles) {
		// A few needles in much data (a process's memory): libc's memmem, once per needle,
		// is far faster than one pass per length through the tables below.
		for (const auto &[len, g] : groups_)
			for (const auto &[needle, info] : g.needles)
				for (const char *at = data.data(), *end = data.data() + data.size();;) {
					const void *hit = ::memmem(at, static_cast<std::size_t>(end - at),
								   needle.data(), needle.size());
					if (!hit)
						break;
					const auto *p = static_cast<const char *>(hit);
					out.push_back(Found{info.id, info.encoding, file,
							    static_cast<std::size_t>(p - data.data())});
					at = p + 1;
				}
		return out;
	}
	for (const auto &[len, g] : groups_) {
		if (data.size() < len)
			continue;
		for (std::size_t i = 0; i + len <= data.size(); ++i) {
			if (!g.first[static_cast<unsigned char>(data[i])] ||
			    !g.second[static_cast<unsigned char>(data[i + 1])])
				continue;
			auto it = g.needles.find(data.substr(i, len));
			if (it != g.needles.end())
				out.push_back(Found{it->second.id, it->second.encoding, file, i});
		}
	}
	return out;
}

std::vector<ByteScanner::Found> ByteScanner::scan_tree(const std::filesystem::path &dir) const
{
	std::vector<Found> out;
	bytes_ = 0;
	files_ = 0;
	for (const auto &e : std::filesystem::recursive_directory_iterator(dir)) {
		if (!e.is_regular_file())
			continue;
		const std::string data = read_file(e.path());
		bytes_ += data.size();
		++files_;
		auto found = scan(data, e.path());
		out.insert(out.end(), found.begin(), found.end());
	}
	return out;
}

std::vector<std::string> forensic_scan(const std::filesystem::path &dir,
				       const std::vector<std::string> &texts)
{
	ByteScanner scanner;
	for (std::size_t i = 0; i < texts.size(); ++i)
		scanner.add_text(texts[i], static_cast<int>(i));
	std::vector<std::string> found;
	for (const auto &f : scanner.scan_tree(dir))
		found.push_back(texts[static_cast<std::size_t>(f.id)] + " (" + f.encoding +
				") in " + f.file.string() + " at " + std::to_string(f.offset));
	return found;
}

} // namespace lethe::test
