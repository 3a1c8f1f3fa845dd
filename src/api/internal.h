// api/internal.h — private to api/: helpers its files share.
#pragma once

#include <cstddef>
#include <string>

#include "common/status.h"
#include "net/server.h"

namespace veridge::api {

// `bytes` random bytes from the kernel CSPRNG (getrandom(2)) as lower-case hex. Code
// randomness_unavailable (kUnavailable). The caller wipes the result when it is a secret.
Result<std::string> RandomHex(std::size_t bytes);

// Non-empty, at most `max` bytes, each alphanumeric or one of `extra` (ids, idempotency keys).
bool SafeId(const std::string& s, std::size_t max, const char* extra = "._-");

// {"error":{"code","message"}} with the status.
net::Response Err(int status, const std::string& code, const std::string& message);

// A store failure: logged with `what` (which never holds a secret), answered 503 unavailable.
net::Response StoreTrouble(const std::string& what, const Status& st);

}  // namespace veridge::api
