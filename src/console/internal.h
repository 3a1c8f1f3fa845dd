// console/internal.h — private to console/: helpers shared by its files.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace veridge::console {

// n bytes from OpenSSL's CSPRNG. Code randomness_unavailable.
Result<std::string> RandomBytes(std::size_t n);
// Equal length and bytes, in time independent of where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace veridge::console
