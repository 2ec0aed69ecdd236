// SPDX-License-Identifier: GPL-3.0-or-later
// What a core dump of a running process would hold, scanned for needles (issue 15.4).
#include "support/process_memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace lethe::test {
namespace {

struct Mapping {
	unsigned long start = 0, end = 0;
	bool readable = false;
	bool dont_dump = false;
	std::string name;
};

/// /proc/PID/smaps: each mapping's range, permissions, name and VmFlags ("dd": don't dump).
std::vector<Mapping> mappings_of(pid_t pid)
{
	std::vector<Mapping> out;
	std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
	std::string line;
	while (std::getline(in, line)) {
		if (line.rfind("VmFlags:", 0) == 0) {
			if (!out.empty()) {
				std::istringstream flags(line.substr(8));
				std::string f;
				while (flags >> f)
					out.back().dont_dump = out.back().dont_dump || f == "dd";
			}
			continue;
		}
		// A mapping's header: "start-end perms offset dev inode [name]".
		const auto dash = line.find('-');
		const auto space = line.find(' ');
		if (dash == std::string::npos || space == std::string::npos || dash > space ||
		    line.find_first_not_of("0123456789abcdef") != dash)
			continue;
		Mapping m;
		m.start = std::stoul(line.substr(0, dash), nullptr, 16);
		m.end = std::stoul(line.substr(dash + 1, space - dash - 1), nullptr, 16);
		m.readable = line.size() > space + 1 && line[space + 1] == 'r';
		std::istringstream rest(line.substr(space + 1));
		std::string perms, offset, dev, inode;
		rest >> perms >> offset >> dev >> inode;
		std::getline(rest >> std::ws, m.name);
		if (m.name.empty()) { // where, and how large (an 8 MiB one is a thread's stack)
			std::ostringstream anon;
			anon << "anon " << std::hex << m.start << "-" << m.end << std::dec << " ("
			     << (m.end - m.start) / 1024 << " KiB)";
			m.name = anon.str();
		}
		out.push_back(std::move(m));
	}
	return out;
}

} // namespace

MemoryScan scan_process_memory(pid_t pid, const ByteScanner &scanner, std::size_t dont_dump_max)
{
	MemoryScan out;
	const auto maps = mappings_of(pid);
	if (maps.empty()) {
		out.error = "no mappings in /proc/" + std::to_string(pid) + "/smaps";
		return out;
	}
	const int fd =
	    ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		out.error = std::string("/proc/PID/mem: ") + std::strerror(errno);
		return out;
	}
	// Chunks overlap by a needle's length at most (plates are short): 64 bytes is plenty.
	constexpr std::size_t kChunk = 1 << 20, kOverlap = 64;
	std::string buf(kChunk + kOverlap, '\0');
	for (const auto &m : maps) {
		if (!m.readable || m.name == "[vvar]" || m.name == "[vsyscall]" ||
		    m.name == "[vvar_vclock]")
			continue;
		if (m.dont_dump && m.end - m.start > dont_dump_max) {
			++out.dont_dump;
			continue;
		}
		++out.mappings;
		std::size_t carried = 0;
		for (unsigned long at = m.start; at < m.end;) {
			const std::size_t want = std::min<unsigned long>(kChunk, m.end - at);
			const ssize_t n =
			    ::pread(fd, buf.data() + carried, want, static_cast<off_t>(at));
			if (n <= 0) { // unreadable page range (guard pages): skip this chunk
				at += want;
				carried = 0;
				continue;
			}
			const std::size_t have = carried + static_cast<std::size_t>(n);
			out.bytes += static_cast<std::size_t>(n);
			for (auto f : scanner.scan(std::string_view(buf.data(), have), m.name)) {
				f.offset += at - carried - m.start; // offset within the mapping
				out.found.push_back(std::move(f));
			}
			at += static_cast<unsigned long>(n);
			carried = std::min<std::size_t>(kOverlap, have);
			std::memmove(buf.data(), buf.data() + have - carried, carried);
		}
	}
	::close(fd);
	return out;
}

} // namespace lethe::test
