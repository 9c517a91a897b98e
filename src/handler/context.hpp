#pragma once
// What the client-protocol handlers of one server share: the config, the node, the event
// handlers, the reliable sessions that may be resumed, and counters.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "config/config.hpp"
#include "core/node.hpp"
#include "core/session_store.hpp"
#include "core/upstream.hpp"

namespace wps::handler {

class PubSubHandler;
class MqttSession;

struct Counters {
  std::atomic<std::uint64_t> protocol_error_closes{0};  // messages that could not be decoded
  std::atomic<std::uint64_t> recoveries{0};
  std::atomic<std::uint64_t> recoveries_refused{0};
  std::atomic<std::uint64_t> replay_overflows{0};
};

// The reliable sessions of this node, attached to a socket or waiting for their client to
// recover, by connection id. Thread-safe.
class Sessions {
 public:
  void add(const std::shared_ptr<PubSubHandler>& session);
  std::shared_ptr<PubSubHandler> find(const std::string& connection_id) const;
  // Removes `session` (not another session that took its id since).
  void remove(const PubSubHandler* session);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<PubSubHandler>> sessions_;
};

// Told by the session store that another node resumed one of this node's reliable sessions:
// the session is dropped here without any event (core::SessionListener).
class TakenSessions final : public core::SessionListener {
 public:
  explicit TakenSessions(Sessions& sessions) : sessions_(sessions) {}
  void on_session_taken(const std::string& hub, const core::ConnId& id) override;

 private:
  Sessions& sessions_;
};

// The MQTT sessions of this node by hub and client id, online or waiting to be resumed.
// Thread-safe.
class MqttSessions {
 public:
  static std::string key(const std::string& hub, const std::string& client_id) {
    return hub + '\n' + client_id;
  }
  void add(const std::string& key, const std::shared_ptr<MqttSession>& session) {
    std::lock_guard lock(mutex_);
    sessions_[key] = session;
  }
  std::shared_ptr<MqttSession> find(const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(key);
    return it == sessions_.end() ? nullptr : it->second;
  }
  // Removes `session` (not another session that took its key since).
  void remove(const std::string& key, const MqttSession* session) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(key);
    if (it != sessions_.end() && it->second.get() == session)
      sessions_.erase(it);
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<MqttSession>> sessions_;
};

struct Context {
  Context(const config::Config& cfg, core::Node& n) : config(cfg), node(n) {}
  const config::Config& config;
  core::Node& node;
  // The hubs' event handlers; null when the server has none (tests), set before clients come.
  core::Upstream* upstream = nullptr;
  Sessions sessions;
  // A cluster's store of reliable sessions (resumed on any node); null on a single node.
  core::SessionStore* session_store = nullptr;
  TakenSessions taken_sessions{sessions};
  MqttSessions mqtt_sessions;
  Counters counters;
};

}  // namespace wps::handler
