#pragma once
// Scale-out on Redis: a core::Broker that carries publications to the other nodes over Redis
// pub/sub with interest-based routing, and a core::Cluster that runs management commands on the
// other nodes. See docs/CLUSTER.md for the channels, the failure bounds and what is consistent.
//
// Every publication is delivered to local recipients at once (so local traffic never depends on
// Redis) and published, on one pipelined connection (per-publisher order holds), to the channel
// of its scope: every node listens on the hub-wide channel; a node subscribes to a group's,
// user's or connection's channel only while it holds a member (with a grace period before
// unsubscribing), so Redis never sends a node traffic it has nobody for.
//
// Threads: every Redis connection and all broker state live on one strand; publish(),
// the interest edges and run_remote() may be called from any thread.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/broker.hpp"
#include "core/cluster.hpp"
#include "core/node.hpp"
#include "core/session_store.hpp"
#include "redis/resp_client.hpp"

namespace wps::redis {

// The broker's view of its config::Limits entries (where their values and reasons live).
struct BrokerOptions {
  BrokerOptions(Url redis_url, const config::Limits& limits)
      : url(std::move(redis_url)),
        connect_timeout(limits.redis_connect_timeout),
        command_timeout(limits.cluster_command_timeout),
        heartbeat_interval(limits.cluster_heartbeat_interval),
        node_ttl(limits.cluster_node_ttl),
        unsubscribe_grace(limits.cluster_unsubscribe_grace),
        max_reconnect_backoff(limits.redis_max_reconnect_backoff),
        session_recovery(limits.cluster_session_recovery),
        recovery_window(limits.recovery_window),
        log_max_entries(limits.cluster_log_max_entries) {}

  Url url;
  std::chrono::milliseconds connect_timeout;
  std::chrono::milliseconds command_timeout;  // a management command's wait for nodes
  std::chrono::milliseconds heartbeat_interval;
  std::chrono::milliseconds node_ttl;  // a node silent this long is dropped
  std::chrono::milliseconds unsubscribe_grace;
  std::chrono::milliseconds max_reconnect_backoff;
  // Reliable sessions recover on any node: publications are numbered in a log per hub and
  // session states are stored (core/session_store.hpp).
  bool session_recovery = true;
  std::chrono::milliseconds recovery_window;
  std::size_t log_max_entries;  // per hub, approximately (XADD MAXLEN ~)
};

struct BrokerStats {
  std::atomic<std::uint64_t> published{0};  // sent to Redis
  std::atomic<std::uint64_t> received{0};   // publications from other nodes delivered here
  std::atomic<std::uint64_t> dropped{0};    // not sent: Redis unreachable
  std::atomic<std::uint64_t> malformed{0};  // envelopes that failed to decode
  std::atomic<std::uint64_t> reconnects{0};
};

class RedisBroker final : public core::Broker, public core::Cluster, public core::SessionStore {
 public:
  RedisBroker(boost::asio::io_context& ioc, BrokerOptions options);
  ~RedisBroker() override;
  RedisBroker(const RedisBroker&) = delete;
  RedisBroker& operator=(const RedisBroker&) = delete;

  // Where commands from other nodes run. Call before the event loop starts.
  void set_node(core::Node& node) {
    node_ = &node;
    node.metrics().clustered.store(true, std::memory_order_relaxed);
  }
  // Stops timers and closes the connections (shutdown); later calls do nothing.
  void stop();

  const std::string& node_id() const { return node_id_; }
  const BrokerStats& stats() const { return stats_; }

  // core::Broker
  void start(core::BrokerHandler& handler) override;
  void publish(const core::Publication& publication) override;
  void subscribe_group(const std::string& hub, const std::string& group) override;
  void unsubscribe_group(const std::string& hub, const std::string& group) override;
  void subscribe_user(const std::string& hub, const std::string& user) override;
  void unsubscribe_user(const std::string& hub, const std::string& user) override;
  void subscribe_connection(const std::string& hub, const core::ConnId& id) override;
  void unsubscribe_connection(const std::string& hub, const core::ConnId& id) override;

  bool logs_publications() const override { return options_.session_recovery; }

  // core::Cluster
  core::CommandResult run_remote(const core::Command& command) override;

  // core::SessionStore
  void set_session_listener(core::SessionListener& listener) override {
    session_listener_ = &listener;
  }
  void save(const core::SessionState& state) override;
  void remove(const std::string& hub, const core::ConnId& id) override;
  void claim(const std::string& hub, const core::ConnId& id, const std::string& token,
             std::function<void(std::optional<core::ClaimedSession>)> done) override;
  void when_subscribed(std::function<void()> done) override;
  void replay(const std::string& hub, std::uint64_t after,
              std::function<void(std::vector<core::LoggedPublication>, bool)> done) override;

 private:
  struct Channel {
    bool wanted = false;
    bool sent = false;  // SUBSCRIBE written on the current subscriber connection
    std::chrono::steady_clock::time_point drop_at{};
  };
  struct Pending {
    std::mutex mutex;
    std::condition_variable cv;
    long expected = -1;  // -1: PUBLISH not answered yet
    long got = 0;
    core::Command command;  // for merging (the list limit)
    core::CommandResult result;
  };
  struct DeferredReply {
    std::uint64_t confirmations;  // send once this many SUBSCRIBEs are confirmed
    std::string channel;
    std::string payload;
  };

  // All on the strand.
  void connect();
  void on_down(const std::string& which, const std::string& reason);
  void schedule_reconnect();
  void want(std::string channel);
  void unwant(std::string channel);
  void send_subscribe(const std::string& channel);
  void on_push(const redisReply& reply);
  void on_message(std::string_view channel, std::string_view payload);
  void run_command(const std::string& origin, std::uint64_t request_id,
                   const core::Command& command);
  void heartbeat();
  void sweep();
  void tick();

  std::string channel(char kind, const std::string& hub, const std::string& target) const;
  std::string session_key(const std::string& hub, const std::string& id) const {
    return prefix_ + "s:" + hub + ":" + id;
  }
  // Strand: writes one owned session's state (fenced: not once another node claimed it).
  void write_session(const std::string& key);
  void read_log(std::string log, std::uint64_t after, std::vector<core::LoggedPublication> got,
                std::function<void(std::vector<core::LoggedPublication>, bool)> done);
  void on_taken(std::string_view payload);
  bool from_self(std::string_view payload) const;

  Strand strand_;
  const BrokerOptions options_;
  const std::string node_id_;
  const std::string prefix_;  // "wps:<db>:"
  const std::string all_channel_, command_channel_, reply_channel_;
  core::BrokerHandler* handler_ = nullptr;
  core::Node* node_ = nullptr;
  BrokerStats stats_;

  // strand state
  std::shared_ptr<RespClient> sub_, cmd_;
  bool sub_ready_ = false, cmd_ready_ = false;
  bool self_in_commands_ = false;  // our subscription to the command channel is confirmed
  long long sub_client_id_ = -1;
  std::unordered_map<std::string, Channel> channels_;
  std::uint64_t subscribes_sent_ = 0, subscribes_confirmed_ = 0;
  std::vector<DeferredReply> deferred_;
  boost::asio::steady_timer tick_timer_, reconnect_timer_;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point next_heartbeat_{};
  bool reconnect_scheduled_ = false;
  bool was_up_ = false;
  std::string last_failure_;  // the last reason Redis could not be reached
  bool stopped_ = false;

  std::mutex pending_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Pending>> pending_;

  // Session recovery (strand state): the sessions this node holds, by key, as last saved.
  struct OwnedSession {
    std::string hub, id, token, state;
  };
  std::unordered_map<std::string, OwnedSession> owned_;
  std::chrono::steady_clock::time_point next_session_refresh_{};
  std::vector<std::pair<std::uint64_t, std::function<void()>>> subscribed_waiters_;
  const std::string take_channel_;
  core::SessionListener* session_listener_ = nullptr;
  std::atomic<std::uint64_t> next_request_{1};
};

}  // namespace wps::redis
