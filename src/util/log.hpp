#pragma once
// A minimal, thread-safe logging facade: one line per record on stderr, with a UTC timestamp,
// as text (the default) or as one JSON object (--log-format json, docs/OPERATIONS.md). Never pass
// secrets (access keys, tokens, signatures) to it.

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace wps::util {

enum class LogLevel : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };
enum class LogFormat : int { text = 0, json = 1 };

// What a record is about, where it applies (empty: not given). JSON lines carry them as the
// fields hub, connectionId, userId and event; text lines append them as key=value.
struct LogFields {
  std::string_view hub;
  std::string_view connection_id;
  std::string_view user_id;
  std::string_view event;
};

// Parses "trace|debug|info|warn|error|off"; unknown names give info.
LogLevel parse_log_level(std::string_view name) noexcept;
void set_log_level(LogLevel level) noexcept;
bool log_enabled(LogLevel level) noexcept;
void set_log_format(LogFormat format) noexcept;
void log_line(LogLevel level, std::string_view component, std::string_view message,
              const LogFields& fields = {});
// The line log_line writes (without its newline), for `time` (Unix milliseconds).
std::string format_log_line(LogFormat format, std::int64_t time_ms, LogLevel level,
                            std::string_view component, std::string_view message,
                            const LogFields& fields);

}  // namespace wps::util

// WPS_LOG(info, "transport") << "accepted " << n;  -- the stream is built only when enabled.
#define WPS_LOG(level, component)                                \
  if (!::wps::util::log_enabled(::wps::util::LogLevel::level)) { \
  } else                                                         \
    ::wps::util::detail::LogRecord(::wps::util::LogLevel::level, component).stream()

// WPS_LOG_AT(info, "handler", (::wps::util::LogFields{.hub = h, .connection_id = id})) << "...";
// the fields' strings must live until the end of the statement.
#define WPS_LOG_AT(level, component, fields)                     \
  if (!::wps::util::log_enabled(::wps::util::LogLevel::level)) { \
  } else                                                         \
    ::wps::util::detail::LogRecord(::wps::util::LogLevel::level, component, fields).stream()

namespace wps::util::detail {
class LogRecord {
 public:
  LogRecord(LogLevel level, std::string_view component, const LogFields& fields = {})
      : level_(level), component_(component), fields_(fields) {}
  LogRecord(const LogRecord&) = delete;
  LogRecord& operator=(const LogRecord&) = delete;
  ~LogRecord() { log_line(level_, component_, stream_.str(), fields_); }
  std::ostringstream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::string_view component_;
  LogFields fields_;
  std::ostringstream stream_;
};
}  // namespace wps::util::detail
