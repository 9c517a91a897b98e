#include "handler/replay_buffer.hpp"

namespace wps::handler {

SharedFrame ReplayBuffer::stamp(const PubSubCodec& codec, const Frame& frame) {
  return stamp_as(codec, frame, next_sequence_id_);
}

SharedFrame ReplayBuffer::stamp_as(const PubSubCodec& codec, const Frame& frame,
                                   std::uint64_t sequence_id) {
  next_sequence_id_ = sequence_id + 1;
  SharedFrame stamped = codec.with_sequence_id(frame, sequence_id);
  if (kept_.size() >= max_messages_ || bytes_ + stamped->data.size() > max_bytes_)
    return nullptr;
  bytes_ += stamped->data.size();
  kept_.push_back({sequence_id, stamped});
  return stamped;
}

void ReplayBuffer::acknowledge(std::uint64_t sequence_id) {
  while (!kept_.empty() && kept_.front().sequence_id <= sequence_id) {
    bytes_ -= kept_.front().frame->data.size();
    kept_.pop_front();
  }
}

void ReplayBuffer::clear() {
  kept_.clear();
  bytes_ = 0;
}

bool AckHistory::contains(std::uint64_t ack_id) const {
  return ids_.contains(ack_id);
}

std::vector<std::uint64_t> AckHistory::ids() const {
  std::vector<std::uint64_t> out;
  out.reserve(order_.size());
  for (std::size_t i = 0; i < order_.size(); ++i)
    out.push_back(order_[i]);
  return out;
}

void AckHistory::remember(std::uint64_t ack_id) {
  if (!ids_.insert(ack_id).second)
    return;
  order_.push_back(ack_id);
  if (order_.size() > max_) {
    ids_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace wps::handler
