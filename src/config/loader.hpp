#pragma once
// Builds a Config from defaults, a JSON config file, WPS_* environment variables and
// command-line flags (in increasing precedence), and validates it.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace wps::config {

struct LoadResult {
  std::optional<Config> config;  // set on success
  std::string error;             // on failure: one line naming the setting and the problem
  bool help = false;             // --help was given: print help_text and exit 0
  std::string help_text;
  std::string config_file;       // the file that was read, if any (for reload and logging)
  bool emulator_format = false;  // that file was Microsoft's emulator's appsettings.json
  bool version = false;          // --version was given: print the version and exit 0
};

// `args` excludes argv[0]. `env` is the process environment (injected for tests).
LoadResult load_config(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env);

// Validates a complete config; returns an error line or empty.
std::string validate(const Config& config);

}  // namespace wps::config
