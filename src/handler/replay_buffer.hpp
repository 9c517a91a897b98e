#pragma once
// The reliability of one reliable session (spec §6.4): every data message gets the next
// sequenceId and is kept until the client acknowledges it (cumulatively, with sequenceAck), so
// that a recovered socket can be given everything it may have missed, in order. Bounded by
// message count and bytes: past either, the session cannot stay lossless and must end. Not
// thread-safe: its session serialises access.

#include <cstddef>
#include <cstdint>
#include <unordered_set>
#include <vector>

#include "handler/codec.hpp"
#include "util/fifo.hpp"

namespace wps::handler {

class ReplayBuffer {
 public:
  ReplayBuffer(std::size_t max_messages, std::size_t max_bytes)
      : max_messages_(max_messages), max_bytes_(max_bytes) {}

  // `frame` (a data message of `codec`'s format) stamped with the next sequence id and kept
  // until acknowledged; null when keeping it would pass a bound (the id is used up either way).
  SharedFrame stamp(const PubSubCodec& codec, const Frame& frame);
  // The same with sequence id `sequence_id` (greater than every id so far): a cluster's reliable
  // session numbers its messages with their hub's log numbers (core/session_store.hpp).
  SharedFrame stamp_as(const PubSubCodec& codec, const Frame& frame, std::uint64_t sequence_id);
  // The client has every message up to `sequence_id`.
  void acknowledge(std::uint64_t sequence_id);

  // The unacknowledged messages, oldest first.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < kept_.size(); ++i)
      f(kept_[i].frame);
  }
  std::size_t size() const { return kept_.size(); }
  std::size_t bytes() const { return bytes_; }
  void clear();

 private:
  struct Kept {
    std::uint64_t sequence_id;
    SharedFrame frame;
  };
  const std::size_t max_messages_;
  const std::size_t max_bytes_;
  std::uint64_t next_sequence_id_ = 1;
  util::Fifo<Kept> kept_;
  std::size_t bytes_ = 0;
};

// The ackIds of a connection's successful messages (spec §6.3.2: a repeated one is answered
// `Duplicate`). Bounded: past `max` ids the oldest are forgotten. Not thread-safe.
class AckHistory {
 public:
  explicit AckHistory(std::size_t max) : max_(max) {}
  bool contains(std::uint64_t ack_id) const;
  void remember(std::uint64_t ack_id);
  // The remembered ids, oldest first (a reliable session's saved state).
  std::vector<std::uint64_t> ids() const;

 private:
  const std::size_t max_;
  std::unordered_set<std::uint64_t> ids_;
  util::Fifo<std::uint64_t> order_;  // the same ids, oldest first
};

}  // namespace wps::handler
