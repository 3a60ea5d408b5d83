// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace fleetscope::util {

/// Why a fallible call failed: what was wrong, and the limit or the expected form.
struct Error {
    std::string message;
};

/// An Error saying `message`: `return util::fail("name: expected ...");`.
inline Error fail(std::string message)
{
    return Error{std::move(message)};
}

namespace detail {
inline const std::string kNoError;
}

/// The one error form of fallible calls (expected failures: bad input, a file that cannot be read): a value,
/// or an Error. [[nodiscard]], so a caller cannot drop the failure by accident. std::expected is C++23.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value)
        : v_(std::in_place_index<0>, std::move(value))
    {}
    Result(Error error)
        : v_(std::in_place_index<1>, std::move(error))
    {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    /// The value; only when ok().
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    /// What failed; empty when ok().
    const std::string& error() const noexcept { return ok() ? detail::kNoError : std::get<1>(v_).message; }

private:
    std::variant<T, Error> v_;
};

/// A fallible call with nothing to return but success.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error)
        : error_(std::move(error.message))
        , failed_(true)
    {}

    bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    /// What failed; empty when ok().
    const std::string& error() const noexcept { return error_; }

private:
    std::string error_;
    bool failed_ = false;
};

} // namespace fleetscope::util
