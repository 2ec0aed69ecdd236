// SPDX-License-Identifier: GPL-3.0-or-later
// UniqueFD: the one owner of a file descriptor, closed when the owner goes (after libcamera's).
#pragma once

namespace lethe {

/// Owns a file descriptor: move-only, closes it in the destructor. -1 means "none".
class UniqueFD
{
public:
	UniqueFD() = default;
	explicit UniqueFD(int fd) : fd_(fd) {}
	UniqueFD(UniqueFD &&other) noexcept : fd_(other.release()) {}
	UniqueFD &operator=(UniqueFD &&other) noexcept
	{
		reset(other.release());
		return *this;
	}
	~UniqueFD() { reset(); }

	UniqueFD(const UniqueFD &) = delete;
	UniqueFD &operator=(const UniqueFD &) = delete;

	[[nodiscard]] int get() const { return fd_; }
	[[nodiscard]] bool isValid() const { return fd_ >= 0; }

	/// Give up ownership without closing; the caller closes what this returns.
	[[nodiscard]] int release()
	{
		const int fd = fd_;
		fd_ = -1;
		return fd;
	}

	/// Close the descriptor held (if any) and own `fd` instead.
	void reset(int fd = -1);

	/// Close now and return close(2)'s result (errno set on failure): after a write, a
	/// delayed write-back error shows only here. Owns nothing afterwards.
	[[nodiscard]] int close();

private:
	int fd_ = -1;
};

} // namespace lethe
