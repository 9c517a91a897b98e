// deploy/example-config.json and the Debian package's deploy/package/config.json must stay
// loadable. Found through WPS_SOURCE_DIR if set, else by
// walking up from the working directory (ctest runs in the build tree, usually inside the source
// tree); skipped when it cannot be found.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "config/loader.hpp"

namespace wps::config {
namespace {

namespace fs = std::filesystem;

std::optional<fs::path> find_example(const fs::path& relative = fs::path("deploy") /
                                                                "example-config.json") {
  std::error_code ec;
  if (const char* source_dir = std::getenv("WPS_SOURCE_DIR"); source_dir != nullptr) {
    if (fs::is_regular_file(fs::path(source_dir) / relative, ec)) {
      return fs::path(source_dir) / relative;
    }
  }
  fs::path dir = fs::current_path(ec);
  for (int depth = 0; depth < 6 && !dir.empty(); ++depth) {
    if (fs::is_regular_file(dir / relative, ec)) {
      return dir / relative;
    }
    if (dir == dir.parent_path()) {
      break;
    }
    dir = dir.parent_path();
  }
  return std::nullopt;
}

TEST(ExampleConfig, LoadsAndSaysWhatTheDocsSay) {
  const auto path = find_example();
  if (!path) {
    GTEST_SKIP() << "deploy/example-config.json not found; set WPS_SOURCE_DIR";
  }
  const LoadResult r = load_config({"--config", path->string()}, {});
  ASSERT_TRUE(r.config) << r.error;
  const Config& c = *r.config;
  EXPECT_EQ(r.config_file, path->string());
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.public_origin, "https://pubsub.example.com");
  // No key in the file: with a public host the server refuses to start until one is given.
  EXPECT_TRUE(c.uses_development_key());
  EXPECT_FALSE(c.allow_default_key_on_public_address);
  EXPECT_EQ(c.limits.max_connections, 10000U);
  EXPECT_EQ(c.limits.max_groups_per_connection, 100U);

  ASSERT_TRUE(c.hubs.contains("chat"));
  ASSERT_TRUE(c.hubs.contains("demo"));
  EXPECT_FALSE(c.hub_settings("chat").allow_anonymous);
  ASSERT_EQ(c.hub_settings("chat").event_handlers.size(), 1U);
  EXPECT_EQ(c.hub_settings("chat").event_handlers[0].system_events.size(), 3U);
  EXPECT_TRUE(c.hub_settings("demo").allow_anonymous);
  EXPECT_TRUE(c.hub_settings("demo").event_handlers.empty());
  EXPECT_FALSE(c.hub_settings("other").allow_anonymous);

  // The key comes from the environment, as the file's comment suggests.
  const LoadResult with_key =
      load_config({"--config", path->string()}, {{"WPS_ACCESS_KEY", "a-real-secret-key"}});
  ASSERT_TRUE(with_key.config) << with_key.error;
  EXPECT_FALSE(with_key.config->uses_development_key());
}

TEST(PackageConfig, LoadsLoopbackOnlyWithTheKeyFromTheEnvironment) {
  const auto path = find_example(fs::path("deploy") / "package" / "config.json");
  if (!path) {
    GTEST_SKIP() << "deploy/package/config.json not found; set WPS_SOURCE_DIR";
  }
  const LoadResult r = load_config({"--config", path->string()},
                                   {{"WPS_ACCESS_KEY", "random-key-from-the-environment-file"}});
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_FALSE(r.emulator_format);
  EXPECT_EQ(r.config->host, "localhost");
  EXPECT_EQ(r.config->port, 8080);
  EXPECT_FALSE(r.config->uses_development_key());
  EXPECT_FALSE(r.config->default_hub.allow_anonymous);
  EXPECT_TRUE(r.config->hubs.empty());
}

}  // namespace
}  // namespace wps::config
