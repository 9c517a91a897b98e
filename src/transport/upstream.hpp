#pragma once
// A logical connection's side of the event handlers: its CloudEvents context (identity,
// connection state, cookies) and the once-only `disconnected` event. Shared by the WebSocket
// session and, for reliable clients, the logical connection that outlives it. Thread-safe.

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "webhook/dispatcher.hpp"

namespace wps::transport {

class Upstream {
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
  // The connection is established: the `connected` event.
  void connected() {
    if (has_handler("connected", false))
      dispatcher_->connected(snapshot());
  }
  // The logical connection ended: the `disconnected` event, once.
  void disconnected(const std::string& reason) {
    {
      std::lock_guard lock(mutex_);
      if (ended_)
        return;
      ended_ = true;
    }
    if (has_handler("disconnected", false))
      dispatcher_->disconnected(snapshot(), reason);
  }

 private:
  webhook::Dispatcher* const dispatcher_;
  mutable std::mutex mutex_;
  webhook::ConnectionContext context_;
  bool ended_ = false;
};

}  // namespace wps::transport
