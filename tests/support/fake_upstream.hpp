#pragma once
// A core::Upstream in memory, for unit tests of the client-protocol handlers and endpoints: it
// records the events connections raise (connected, disconnected, group presence, user events,
// connect) in order, and keeps the callbacks of the blocking ones (connect, user events) for
// the test to answer later. Which events have a handler is switched per event name.

#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/upstream.hpp"

namespace wps::test {

class FakeUpstream final : public core::Upstream {
 public:
  struct Record {
    core::ConnectionContext context;
    // "connected", "disconnected: <reason>", "joined <group>", "left <group>",
    // "event <name>", "connect"
    std::string what;
  };
  struct UserEventCall {
    core::ConnectionContext context;
    std::string event;
    protocol::Payload payload;
    std::function<void(core::UserEventResult)> done;
  };
  struct ConnectCall {
    core::ConnectionContext context;
    core::ConnectRequest request;
    std::function<void(core::ConnectResult)> done;
  };

  // A handler takes the system or group presence event `event` (connect, connected,
  // disconnected, joined, left).
  void handle(std::string event) {
    std::lock_guard lock(mutex_);
    system_.insert(std::move(event));
  }
  // A handler takes the user event `event` ("*": every user event).
  void handle_user(std::string event) {
    std::lock_guard lock(mutex_);
    user_.insert(std::move(event));
  }

  bool has_handler(const std::string&, std::string_view event, bool user) const override {
    std::lock_guard lock(mutex_);
    const auto& events = user ? user_ : system_;
    return events.contains(std::string(event)) || (user && events.contains("*"));
  }

  void connect(core::ConnectionContext context, core::ConnectRequest request,
               std::function<void(core::ConnectResult)> done) override {
    std::lock_guard lock(mutex_);
    records_.push_back({context, "connect"});
    connects_.push_back({std::move(context), std::move(request), std::move(done)});
  }
  void user_event(core::ConnectionContext context, std::string event, protocol::Payload payload,
                  std::function<void(core::UserEventResult)> done) override {
    std::lock_guard lock(mutex_);
    records_.push_back({context, "event " + event});
    user_events_.push_back(
        {std::move(context), std::move(event), std::move(payload), std::move(done)});
  }
  void connected(core::ConnectionContext context) override {
    std::lock_guard lock(mutex_);
    records_.push_back({std::move(context), "connected"});
  }
  void disconnected(core::ConnectionContext context, std::string reason) override {
    std::lock_guard lock(mutex_);
    records_.push_back({std::move(context), "disconnected: " + reason});
  }
  void group_presence(core::ConnectionContext context, bool joined, std::string group) override {
    std::lock_guard lock(mutex_);
    records_.push_back({std::move(context), (joined ? "joined " : "left ") + group});
  }

  // Every event raised, in order.
  std::vector<Record> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }
  // What the events of one connection were, in order.
  std::vector<std::string> log(const std::string& connection_id) const {
    std::vector<std::string> out;
    for (const Record& r : records())
      if (r.context.connection_id == connection_id)
        out.push_back(r.what);
    return out;
  }

  std::size_t pending_user_events() const {
    std::lock_guard lock(mutex_);
    return user_events_.size();
  }
  // The oldest unanswered user event; answer it with `call.done(result)`.
  UserEventCall take_user_event() {
    std::lock_guard lock(mutex_);
    UserEventCall call = std::move(user_events_.front());
    user_events_.pop_front();
    return call;
  }
  std::size_t pending_connects() const {
    std::lock_guard lock(mutex_);
    return connects_.size();
  }
  ConnectCall take_connect() {
    std::lock_guard lock(mutex_);
    ConnectCall call = std::move(connects_.front());
    connects_.pop_front();
    return call;
  }

 private:
  mutable std::mutex mutex_;
  std::set<std::string> system_;
  std::set<std::string> user_;
  std::vector<Record> records_;
  std::deque<UserEventCall> user_events_;
  std::deque<ConnectCall> connects_;
};

}  // namespace wps::test
