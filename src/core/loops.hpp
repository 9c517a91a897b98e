#pragma once
// The event loops as the core sees them: an opaque index per loop and a way to run a function on
// one. The transport runs one event loop per thread (transport::EventLoops), each owning its
// connections for their whole life; the hub hands a publication to each loop that has recipients
// once, and the publisher's own loop delivers inline. Nothing here knows Asio.

#include <cstdint>
#include <functional>
#include <limits>

namespace wps::core {

using LoopIndex = std::uint32_t;
// Not an event loop thread (tests, the REST pool of a cluster, helper threads).
inline constexpr LoopIndex kNoLoop = std::numeric_limits<LoopIndex>::max();

// The loop the calling thread runs, or kNoLoop.
LoopIndex this_loop();
// Marks the calling thread as running `loop` (kNoLoop: none) until the object is destroyed; the
// event loops' threads hold one for their life, tests use it to play a loop.
class ThisLoop {
 public:
  explicit ThisLoop(LoopIndex loop);
  ~ThisLoop();
  ThisLoop(const ThisLoop&) = delete;
  ThisLoop& operator=(const ThisLoop&) = delete;

 private:
  LoopIndex previous_;
};

class Loops {
 public:
  virtual ~Loops() = default;
  // Runs `work` on loop `loop` (< count()), after what was posted to it before, from any thread.
  virtual void post(LoopIndex loop, std::function<void()> work) = 0;
};

}  // namespace wps::core
