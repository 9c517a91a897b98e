// libFuzzer target for the configuration loader: the JSON config file (comments, trailing commas,
// duplicate-key detection, hubs, event handlers, limits), the command line and the WPS_*
// environment, through the public load_config().
//
// Input: byte 0 selects what the rest is: even = the config file's text (written to a file in
// /tmp and passed with --config); odd = command-line arguments, one per line, or with bit 1 set
// NAME=VALUE environment variables, one per line.
// The environment always holds a valid WPS_ACCESS_KEY.
//
// Invariants (abort otherwise): no exception escapes; exactly one of config / error / help;
// a loaded config passes validate(); no error text repeats the access key of the environment
// (an input that itself holds the key's text may see it echoed as its own value).

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"

namespace {

constexpr std::string_view kSecret = "fuzzSecretAccessKey-DO-NOT-LEAK-0123456789";

void check(bool condition) {
  if (!condition)
    std::abort();
}

std::vector<std::string> lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos)
      break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

const std::string& file_path() {
  static const std::string path = "/tmp/wps-config-fuzz-" + std::to_string(::getpid()) + ".json";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wps::config;
  if (size == 0)
    return 0;
  const std::uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::map<std::string, std::string> env{{"WPS_ACCESS_KEY", std::string(kSecret)}};
  std::vector<std::string> args;
  if ((mode & 1) == 0) {
    {
      std::ofstream out(file_path(), std::ios::binary | std::ios::trunc);
      out.write(rest.data(), static_cast<std::streamsize>(rest.size()));
    }
    args = {"--config", file_path()};
  } else if ((mode & 2) == 0) {
    // No --config here: a fuzzed path could name /dev/zero.
    for (std::string& arg : lines(rest))
      if (!arg.starts_with("--config") && !arg.starts_with("--emulator-config"))
        args.push_back(std::move(arg));
  } else {
    for (const std::string& line : lines(rest)) {
      const std::size_t eq = line.find('=');
      if (eq != std::string::npos && line.compare(0, eq, "WPS_ACCESS_KEY") != 0 &&
          line.compare(0, eq, "WPS_CONFIG") != 0 && line.compare(0, eq, "WPS_EMULATOR_CONFIG") != 0)
        env[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }

  const LoadResult result = load_config(args, env);
  if (result.help) {
    check(!result.config && !result.help_text.empty());
    return 0;
  }
  if (result.version) {
    check(!result.config && result.error.empty());
    return 0;
  }
  check(result.config.has_value() != !result.error.empty());
  if (result.config)
    check(validate(*result.config).empty());
  else if (rest.find(kSecret) == std::string_view::npos)  // the key came from the environment
    check(result.error.find(kSecret) == std::string::npos);
  return 0;
}
