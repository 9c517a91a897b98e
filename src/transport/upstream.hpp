#pragma once
// A logical connection's side of the event handlers: its CloudEvents context (identity,
// connection state, cookies) and the once-only `disconnected` event. Shared by the WebSocket
// session and, for reliable clients, the logical connection that outlives it. Thread-safe.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/connection.hpp"
#include "webhook/dispatcher.hpp"

namespace wps::transport {

class Upstream final : public core::GroupObserver {
 public:
  Upstream(webhook::Dispatcher* dispatcher, webhook::ConnectionContext context)
      : dispatcher_(dispatcher), context_(std::move(context)) {}

  webhook::Dispatcher* dispatcher() const { return dispatcher_; }
  bool has_handler(std::string_view event, bool user) const {
    return dispatcher_ != nullptr && dispatcher_->has_handler(context_.hub, event, user);
  }
  webhook::ConnectionContext snapshot() const {
    std::lock_guard lock(mutex_);
    return context_;
  }
  // A blocking event's response may set the connection state and cookies (spec §8.9).
  void update(const std::optional<std::string>& state, const std::string& cookies) {
    std::lock_guard lock(mutex_);
    if (state)
      context_.state = state;
    if (!cookies.empty())
      context_.cookies = cookies;
  }
  // Identity after the connect handler's overrides.
  void set_identity(std::optional<std::string> user_id, std::string subprotocol) {
    std::lock_guard lock(mutex_);
    context_.user_id = std::move(user_id);
    context_.subprotocol = std::move(subprotocol);
  }
  // The connection is established: the `connected` event, then the presence events of the
  // groups it joined while registering (so that a handler sees `connected` first).
  void connected() {
    std::lock_guard lock(mutex_);
    if (open_ || ended_)
      return;
    open_ = true;
    if (has_handler("connected", false))
      dispatcher_->connected(context_);
    for (auto& [group, joined] : early_)
      dispatcher_->group_presence(context_, joined, std::move(group));
    early_.clear();
  }
  // The logical connection ended: the `disconnected` event, once.
  void disconnected(const std::string& reason) {
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    ended_ = true;
    early_.clear();
    if (has_handler("disconnected", false))
      dispatcher_->disconnected(context_, reason);
  }
  // Group presence events (spec §8.8), when a handler asks for them. Called by the hub with its
  // lock held; the dispatcher only queues (lock order: hub, upstream, dispatcher).
  void on_group_change(const std::string& group, bool joined) override {
    if (!has_handler(joined ? "joined" : "left", false))
      return;
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    if (!open_) {
      early_.emplace_back(group, joined);
      return;
    }
    dispatcher_->group_presence(context_, joined, group);
  }

 private:
  webhook::Dispatcher* const dispatcher_;
  mutable std::mutex mutex_;  // held while queuing events, which keeps them in order
  webhook::ConnectionContext context_;
  bool open_ = false;
  bool ended_ = false;
  std::vector<std::pair<std::string, bool>> early_;  // presence events before `connected`
};

}  // namespace wps::transport
