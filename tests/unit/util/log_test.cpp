// The log line formats: text (the default) and one JSON object a line.

#include "util/log.hpp"

#include <gtest/gtest.h>

namespace wps::util {
namespace {

// 2026-12-05T08:01:02.345Z
constexpr std::int64_t kTime = 1796457662345;

TEST(LogFormat, JsonCarriesTheFieldsThatApplyEscaped) {
  const LogFields fields{"chat", "c\"1", "ann\n", "connected"};
  EXPECT_EQ(format_log_line(LogFormat::json, kTime, LogLevel::warn, "handler",
                            "said \"hi\"\\ \t\x01", fields),
            "{\"time\":\"2026-12-05T08:01:02.345Z\",\"level\":\"warn\",\"component\":\"handler\","
            "\"message\":\"said \\\"hi\\\"\\\\ \\t\\u0001\",\"hub\":\"chat\","
            "\"connectionId\":\"c\\\"1\",\"userId\":\"ann\\n\",\"event\":\"connected\"}");
}

TEST(LogFormat, JsonLeavesOutFieldsThatDoNotApply) {
  EXPECT_EQ(format_log_line(LogFormat::json, kTime, LogLevel::info, "server", "up", {}),
            "{\"time\":\"2026-12-05T08:01:02.345Z\",\"level\":\"info\",\"component\":\"server\","
            "\"message\":\"up\"}");
}

TEST(LogFormat, TextStaysAsItWasWithFieldsAppended) {
  EXPECT_EQ(format_log_line(LogFormat::text, kTime, LogLevel::info, "server", "up", {}),
            "2026-12-05T08:01:02.345Z info  [server] up");
  EXPECT_EQ(format_log_line(LogFormat::text, kTime, LogLevel::debug, "handler", "connected",
                            {"chat", "c1", {}, "connected"}),
            "2026-12-05T08:01:02.345Z debug [handler] connected hub=chat connectionId=c1 "
            "event=connected");
}

}  // namespace
}  // namespace wps::util
