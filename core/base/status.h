#pragma once
// Status and StatusOr<T>: the error currency of Cairn's own APIs (no exceptions cross module
// boundaries). Codes are chosen so the HTTP layer can map them to status codes one-to-one.

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace cairn {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // 400: the request is malformed.
  kNotFound,         // 404
  kConflict,         // 409: a precondition (CAS, txn check) failed.
  kTooLarge,         // 413
  kUnavailable,      // 500 "No cluster leader" and friends: retry may help.
  kInternal,         // 500: a bug or an environment failure.
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool isOk() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string toString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status notFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
inline Status tooLarge(std::string m) { return {StatusCode::kTooLarge, std::move(m)}; }
inline Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status internalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Holds either a T or a non-OK Status. Accessing value() of an error is a programming error.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) { assert(!status_.isOk()); }  // NOLINT

  bool isOk() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & {
    assert(value_);
    return *value_;
  }
  const T& value() const& {
    assert(value_);
    return *value_;
  }
  T&& value() && {
    assert(value_);
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace cairn

// Propagates a non-OK Status out of the enclosing function.
#define CAIRN_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    ::cairn::Status cairn_status_ = (expr);          \
    if (!cairn_status_.isOk()) return cairn_status_; \
  } while (0)
