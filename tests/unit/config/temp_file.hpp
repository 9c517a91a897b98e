#pragma once
// A uniquely named file in the temp directory, removed when the object goes away.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

namespace wps::config::test_support {

class TempFile {
 public:
  explicit TempFile(const std::string& content, const std::string& suffix = ".json") {
    static std::atomic<int> counter{0};
    path_ =
        (std::filesystem::temp_directory_path() / ("wps-config-test-" + std::to_string(::getpid()) +
                                                   "-" + std::to_string(counter++) + suffix))
            .string();
    std::ofstream out(path_, std::ios::binary);
    out << content;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace wps::config::test_support
