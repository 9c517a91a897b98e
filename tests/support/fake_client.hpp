#pragma once
// A core::Client that records what the hub delivers to it and the closes it asks for (unit tests
// of the core), and an Encoder whose frames say which encoder made them.

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/client.hpp"

namespace wps::test {

class FakeClient final : public core::Client {
 public:
  void deliver(const core::SharedFrame& frame) override {
    std::lock_guard lock(mutex_);
    frames_.push_back(frame);
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

// Encodes a message as "<tag>:<payload bytes>" and counts its calls.
class TagEncoder final : public core::Encoder {
 public:
  explicit TagEncoder(std::string tag) : tag_(std::move(tag)) {}
  core::SharedFrame encode(const core::Message& message) const override {
    ++calls_;
    return protocol::make_frame(tag_ + ":" + message.payload.bytes, false, message.expires_at);
  }
  int calls() const { return calls_; }

 private:
  const std::string tag_;
  mutable std::atomic<int> calls_{0};
};

// One encoder per protocol for the hub tests (tests compare its call count before and after).
inline const TagEncoder& json_encoder() {
  static const TagEncoder encoder("json");
  return encoder;
}
inline const TagEncoder& raw_encoder() {
  static const TagEncoder encoder("raw");
  return encoder;
}

}  // namespace wps::test
