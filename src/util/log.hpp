#pragma once
// A minimal, thread-safe logging facade: one line per record on stderr, with a UTC timestamp.
// Never pass secrets (access keys, tokens) to it.

#include <sstream>
#include <string>
#include <string_view>

namespace wps::util {

enum class LogLevel : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

// Parses "trace|debug|info|warn|error|off"; unknown names give info.
LogLevel parse_log_level(std::string_view name) noexcept;
void set_log_level(LogLevel level) noexcept;
bool log_enabled(LogLevel level) noexcept;
void log_line(LogLevel level, std::string_view component, std::string_view message);

}  // namespace wps::util

// WPS_LOG(info, "transport") << "accepted " << n;  -- the stream is built only when enabled.
#define WPS_LOG(level, component)                                \
  if (!::wps::util::log_enabled(::wps::util::LogLevel::level)) { \
  } else                                                         \
    ::wps::util::detail::LogRecord(::wps::util::LogLevel::level, component).stream()

namespace wps::util::detail {
class LogRecord {
 public:
  LogRecord(LogLevel level, std::string_view component) : level_(level), component_(component) {}
  LogRecord(const LogRecord&) = delete;
  LogRecord& operator=(const LogRecord&) = delete;
  ~LogRecord() { log_line(level_, component_, stream_.str()); }
  std::ostringstream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::string_view component_;
  std::ostringstream stream_;
};
}  // namespace wps::util::detail
