// Errors as values (host, platform and lib/): a Result<T> holds a value or an
// Error, whose message names what went wrong and whose code says what the
// caller can do about it (LevelDB's Status is the model). Exceptions are kept
// for programming errors. Plugins report errors through the SDK's vigil_status
// instead; the plugin edge (host/plugin) translates.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace vigil {

// What kind of failure, for callers that act differently on some: a code is
// set where the failure is detected and travels with the message.
enum class ErrorCode {
  kFailed,            // nothing more specific is known
  kInvalidArgument,   // refused as it is: sending it again changes nothing
  kNotFound,          // what was asked for does not exist
  kUnauthenticated,   // the other side does not know who is asking
  kPermissionDenied,  // known, but not allowed
  kUnavailable,       // could not be reached or answered; may pass later
  kUnsupported,       // not available here or in this version
  kCancelled,         // stopped on purpose (unload, shutdown, a user)
  kTimedOut,          // outlived its time limit and was stopped
  kIo,                // data could not be read or persisted
};

// The code in words, for logs ("cancelled", "timed out").
constexpr const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kPermissionDenied: return "permission denied";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kTimedOut: return "timed out";
    case ErrorCode::kIo: return "i/o error";
    case ErrorCode::kFailed: break;
  }
  return "failed";
}

struct Error {
  std::string message;
  ErrorCode code = ErrorCode::kFailed;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(state_); }
  const T& value() const { return std::get<T>(state_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const std::string& error() const { return failure().message; }
  ErrorCode code() const { return failure().code; }
  // The whole error, to pass on with its code.
  const Error& failure() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

// A Result with no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  static Status Ok() { return {}; }

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const std::string& error() const { return error_->message; }
  ErrorCode code() const { return error_->code; }
  const Error& failure() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace vigil
