// common/status.h — the one result type for fallible calls in Veridge.
//
// Contract
//  * `Status` is cheap to copy when ok (no allocation) and carries, when not ok:
//      - a `Kind` (what sort of failure: maps onto the CLI exit codes),
//      - a stable machine `code` in snake_case ("no_face", "decode_failed", "expired" ...) that
//        callers, JSON output and tests match on — never change a published code,
//      - a human `message` that says what happened and what to do. Messages never contain
//        secrets (keys, PINs, webhook secrets) or biometric data.
//  * `Result<T>` holds either a T or a non-ok Status.
//  * Error policy (written once, here): Veridge code does not throw across module boundaries.
//    Third-party exceptions (OpenCV, dlib, toml++, Boost) are caught at the boundary of the
//    module that owns the vendor and translated into a Status with context.
//  * Thread-safety: plain values; safe to pass between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace veridge {

class Status {
 public:
  // Kinds map onto the CLI contract: kInvalidInput -> exit 2; kInternal/kUnavailable/kIo -> 3.
  // A *negative verdict* (no match, not live, invalid certificate) is not an error: it is a
  // successful call that returns a verdict; the CLI maps verdicts to exit 1.
  enum class Kind {
    kOk = 0,
    kInvalidInput,   // the caller's input is bad: usage, unreadable image, malformed certificate
    kNotFound,       // a file, model, key or token the caller named does not exist
    kPermission,     // a file has unsafe permissions, a PIN was refused, a token is locked
    kIo,             // the OS failed us: disk full, read/write error
    kUnavailable,    // a dependency is down or timed out: lender endpoint, PKCS#11 module
    kCorruption,     // stored data fails its integrity check
    kInternal,       // a bug or an impossible state: fail closed
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidInput(std::string code, std::string msg) { return {Kind::kInvalidInput, std::move(code), std::move(msg)}; }
  static Status NotFound(std::string code, std::string msg) { return {Kind::kNotFound, std::move(code), std::move(msg)}; }
  static Status Permission(std::string code, std::string msg) { return {Kind::kPermission, std::move(code), std::move(msg)}; }
  static Status Io(std::string code, std::string msg) { return {Kind::kIo, std::move(code), std::move(msg)}; }
  static Status Unavailable(std::string code, std::string msg) { return {Kind::kUnavailable, std::move(code), std::move(msg)}; }
  static Status Corruption(std::string code, std::string msg) { return {Kind::kCorruption, std::move(code), std::move(msg)}; }
  static Status Internal(std::string code, std::string msg) { return {Kind::kInternal, std::move(code), std::move(msg)}; }

  bool ok() const { return kind_ == Kind::kOk; }
  explicit operator bool() const { return ok(); }
  Kind kind() const { return kind_; }
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }

  // Adds context in front of the message ("loading model X: ..."), keeping kind and code.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(kind_, code_, context + ": " + message_);
  }

  // "code: message", for logs and human output.
  std::string ToString() const { return ok() ? std::string("ok") : code_ + ": " + message_; }

  // Process exit code for this failure under the CLI contract (0 ok, 2 bad input, 3 internal).
  int ExitCode() const {
    switch (kind_) {
      case Kind::kOk: return 0;
      case Kind::kInvalidInput:
      case Kind::kNotFound:
      case Kind::kPermission: return 2;
      default: return 3;
    }
  }

 private:
  Status(Kind k, std::string code, std::string msg) : kind_(k), code_(std::move(code)), message_(std::move(msg)) {}
  Kind kind_ = Kind::kOk;
  std::string code_;
  std::string message_;
};

// Either a value or a non-ok Status. Access to value() on an error is a programming error.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}                    // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace veridge

// Early return of a non-ok Status from an expression yielding Status.
#define VERIDGE_RETURN_IF_ERROR(expr)          \
  do {                                         \
    ::veridge::Status _st = (expr);            \
    if (!_st.ok()) return _st;                 \
  } while (0)
