#include "util/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace wps::util {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::atomic<int> g_format{static_cast<int>(LogFormat::text)};
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

void set_log_format(LogFormat format) noexcept {
  g_format.store(static_cast<int>(format));
}

namespace {
// Appends `text` as the contents of a JSON string (RFC 8259 escapes; other bytes as they are).
void append_json(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty())
    return;
  out += ",\"";
  out += name;
  out += "\":\"";
  append_json(out, value);
  out += '"';
}
}  // namespace

std::string format_log_line(LogFormat format, std::int64_t time_ms, LogLevel level,
                            std::string_view component, std::string_view message,
                            const LogFields& fields) {
  const std::time_t t = static_cast<std::time_t>(time_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[40];
  const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(time_ms % 1000));
  std::string out;
  out.reserve(96 + message.size());
  if (format == LogFormat::json) {
    out += "{\"time\":\"";
    out += stamp;
    out += "\",\"level\":\"";
    out += level_name(level);
    out += "\",\"component\":\"";
    append_json(out, component);
    out += "\",\"message\":\"";
    append_json(out, message);
    out += '"';
    append_field(out, "hub", fields.hub);
    append_field(out, "connectionId", fields.connection_id);
    append_field(out, "userId", fields.user_id);
    append_field(out, "event", fields.event);
    out += '}';
    return out;
  }
  char head[96];
  std::snprintf(head, sizeof head, "%s %-5s [", stamp, level_name(level));
  out += head;
  out += component;
  out += "] ";
  out += message;
  const auto add = [&out](std::string_view name, std::string_view value) {
    if (value.empty())
      return;
    out += ' ';
    out += name;
    out += '=';
    out += value;
  };
  add("hub", fields.hub);
  add("connectionId", fields.connection_id);
  add("userId", fields.user_id);
  add("event", fields.event);
  return out;
}

void log_line(LogLevel level, std::string_view component, std::string_view message,
              const LogFields& fields) {
  using namespace std::chrono;
  const auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  std::string line = format_log_line(static_cast<LogFormat>(g_format.load()), now, level, component,
                                     message, fields);
  line += '\n';
  std::lock_guard lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace wps::util
