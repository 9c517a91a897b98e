#pragma once
// Random identifiers.

#include <string>

namespace wps::util {

// 32 lower-case hex characters from a CSPRNG-seeded per-thread generator, like the emulator's
// Guid.ToString("N") connection ids. Unpredictable enough to be used as opaque ids; never as
// secrets (reconnection tokens are signed separately).
std::string random_hex_id();

}  // namespace wps::util
