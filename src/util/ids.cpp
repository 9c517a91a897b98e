#include "util/ids.hpp"

#include <array>
#include <cstdint>
#include <random>

namespace wps::util {

std::string random_hex_id() {
  thread_local std::mt19937_64 generator = [] {
    std::random_device device;
    std::seed_seq seq{device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seq);
  }();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (std::size_t half = 0; half < 2; ++half) {
    std::uint64_t value = generator();
    for (std::size_t i = 0; i < 16; ++i) {
      id[half * 16 + i] = kHex[value & 0xF];
      value >>= 4;
    }
  }
  return id;
}

}  // namespace wps::util
