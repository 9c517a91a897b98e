#pragma once
// A core::Connection that records what the core sends it (unit tests of the core).

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/connection.hpp"

namespace wps::test {

class FakeConnection final : public core::Connection {
 public:
  void send(core::SharedFrame frame) override {
    std::lock_guard lock(mutex_);
    frames_.push_back(std::move(frame));
  }
  void close(std::uint16_t code, std::string reason) override {
    std::lock_guard lock(mutex_);
    closes_.push_back({code, std::move(reason)});
  }

  std::vector<core::SharedFrame> frames() const {
    std::lock_guard lock(mutex_);
    return frames_;
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& f : frames())
      out.push_back(f->data);
    return out;
  }
  std::optional<std::string> last_text() const {
    auto all = texts();
    if (all.empty())
      return std::nullopt;
    return all.back();
  }
  void clear() {
    std::lock_guard lock(mutex_);
    frames_.clear();
  }
  struct Close {
    std::uint16_t code;
    std::string reason;
  };
  std::vector<Close> closes() const {
    std::lock_guard lock(mutex_);
    return closes_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<core::SharedFrame> frames_;
  std::vector<Close> closes_;
};

}  // namespace wps::test
