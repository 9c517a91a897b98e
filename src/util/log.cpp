#include "util/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace wps::util {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::mutex g_mutex;

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::trace:
      return "trace";
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
    case LogLevel::off:
      return "off";
  }
  return "?";
}
}  // namespace

LogLevel parse_log_level(std::string_view name) noexcept {
  if (name == "trace")
    return LogLevel::trace;
  if (name == "debug")
    return LogLevel::debug;
  if (name == "warn")
    return LogLevel::warn;
  if (name == "error")
    return LogLevel::error;
  if (name == "off")
    return LogLevel::off;
  return LogLevel::info;
}

void set_log_level(LogLevel level) noexcept {
  g_level.store(static_cast<int>(level));
}

bool log_enabled(LogLevel level) noexcept {
  return static_cast<int>(level) >= g_level.load();
}

void log_line(LogLevel level, std::string_view component, std::string_view message) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto t = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "%s.%03dZ %-5s [%.*s] %.*s\n", stamp, static_cast<int>(ms),
               level_name(level), static_cast<int>(component.size()), component.data(),
               static_cast<int>(message.size()), message.data());
}

}  // namespace wps::util
