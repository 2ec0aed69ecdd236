// SPDX-License-Identifier: GPL-3.0-or-later
// Result<T>: an std::expected-style value-or-error for code paths that must not throw.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace lethe {

/// An error: a negative errno-style code plus a message for humans.
struct Error {
	int code = -EINVAL;
	std::string message;
};

[[nodiscard]] inline Error make_error(int code, std::string message)
{
	return Error{code, std::move(message)};
}

/// Value or Error. Modelled on C++23 std::expected, which GCC 12 lacks in C++20 mode.
template<typename T>
class [[nodiscard]] Result
{
public:
	Result(T value) : v_(std::move(value)) {} // NOLINT(google-explicit-constructor)
	Result(Error error) : v_(std::move(error)) {} // NOLINT(google-explicit-constructor)

	[[nodiscard]] bool ok() const { return v_.index() == 0; }
	explicit operator bool() const { return ok(); }

	[[nodiscard]] T &value() & { return std::get<0>(v_); }
	[[nodiscard]] const T &value() const & { return std::get<0>(v_); }
	[[nodiscard]] T &&value() && { return std::get<0>(std::move(v_)); }
	T *operator->() { return &std::get<0>(v_); }
	const T *operator->() const { return &std::get<0>(v_); }
	T &operator*() & { return std::get<0>(v_); }
	const T &operator*() const & { return std::get<0>(v_); }

	[[nodiscard]] const Error &error() const { return std::get<1>(v_); }

private:
	std::variant<T, Error> v_;
};

/// Result of an operation that yields nothing but may fail.
template<>
class [[nodiscard]] Result<void>
{
public:
	Result() = default;
	Result(Error error) : error_(std::move(error)), failed_(true) {} // NOLINT(google-explicit-constructor)

	[[nodiscard]] bool ok() const { return !failed_; }
	explicit operator bool() const { return ok(); }
	[[nodiscard]] const Error &error() const { return error_; }

private:
	Error error_;
	bool failed_ = false;
};

using Status = Result<void>;

} // namespace lethe
