#include "core/loops.hpp"

namespace wps::core {

namespace {
thread_local LoopIndex current_loop = kNoLoop;
}  // namespace

LoopIndex this_loop() {
  return current_loop;
}

ThisLoop::ThisLoop(LoopIndex loop) : previous_(current_loop) {
  current_loop = loop;
}

ThisLoop::~ThisLoop() {
  current_loop = previous_;
}

}  // namespace wps::core
