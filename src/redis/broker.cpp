#include "redis/broker.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio/post.hpp>
#include <variant>

#include "redis/envelope.hpp"
#include "redis/session_codec.hpp"
#include "util/ids.hpp"
#include "util/log.hpp"

namespace wps::redis {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kTick{100};
constexpr std::chrono::milliseconds kFirstBackoff{100};

// Registers this node (score: Redis's clock in ms) with the client id of its subscriber, drops
// nodes silent for longer than the TTL and returns their subscribers' client ids, so that the
// caller can disconnect them (a hung node must not keep receiving, nor be waited for).
constexpr std::string_view kHeartbeatScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(dead) do
  local c = redis.call('HGET', KEYS[2], id)
  if c then table.insert(out, c) end
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
end
return out
)lua";

// A publication numbered in its hub's log (session recovery): the hub's counter (created at
// (Redis time - 2026-01-01) * 4096 so that it only grows across a Redis restart, as long as a
// hub publishes fewer than 4096 messages per millisecond), the entry "<seq>-0" in the hub's
// stream, and the PUBLISH of 0xFF "<seq>:" envelope, all in one step: every node sees the
// publications of a hub in log order.
constexpr std::string_view kLogPublishScript = R"lua(
if redis.call('EXISTS', KEYS[2]) == 0 then
  local t = redis.call('TIME')
  local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - 1767225600000
  if ms < 0 then ms = 0 end
  redis.call('SET', KEYS[2], string.format('%.0f', ms * 4096))
end
local s = string.format('%.0f', redis.call('INCR', KEYS[2]))
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], s .. '-0', 'e', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', KEYS[3], '\255' .. s .. ':' .. ARGV[1])
return 1
)lua";

// Saves a session's state unless another node owns it (0 then). `start`, set once: the hub's
// log position when the session was first saved (a replay never goes back before it).
constexpr std::string_view kSessionSaveScript = R"lua(
local o = redis.call('HGET', KEYS[1], 'owner')
if o and o ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', ARGV[2], 'state', ARGV[3])
if redis.call('HEXISTS', KEYS[1], 'start') == 0 then
  redis.call('HSET', KEYS[1], 'start', redis.call('GET', KEYS[2]) or '0')
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
)lua";

// Claims a session for this node when the token matches, telling its previous owner.
constexpr std::string_view kSessionClaimScript = R"lua(
local v = redis.call('HMGET', KEYS[1], 'token', 'state', 'owner', 'start')
if not v[1] or v[1] ~= ARGV[1] or not v[2] then return false end
if v[3] and v[3] ~= ARGV[2] then redis.call('PUBLISH', ARGV[4] .. v[3], ARGV[5]) end
redis.call('HSET', KEYS[1], 'owner', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {v[2], v[4] or '0'}
)lua";

constexpr std::string_view kSessionRemoveScript = R"lua(
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
)lua";

constexpr std::size_t kReplayPage = 512;

std::uint64_t parse_seq(std::string_view id) {
  // "<seq>-0"
  std::uint64_t seq = 0;
  const std::size_t dash = id.find('-');
  const std::string_view digits = id.substr(0, dash);
  if (digits.empty() || digits.size() > 20)
    return 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return 0;
    const std::uint64_t next = seq * 10 + static_cast<std::uint64_t>(c - '0');
    if (next / 10 != seq)
      return 0;
    seq = next;
  }
  return seq;
}

std::string_view text_of(const redisReply& r) {
  if (r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS || r.type == REDIS_REPLY_ERROR)
    return std::string_view(r.str, r.len);
  return {};
}

}  // namespace

RedisBroker::RedisBroker(net::io_context& ioc, BrokerOptions options)
    : strand_(net::make_strand(ioc)),
      options_(std::move(options)),
      node_id_(util::random_hex_id().substr(0, 16)),
      prefix_("wps:" + std::to_string(options_.url.db) + ":"),
      all_channel_(prefix_ + "all"),
      command_channel_(prefix_ + "cmd"),
      reply_channel_(prefix_ + "r:" + node_id_),
      tick_timer_(strand_),
      reconnect_timer_(strand_),
      take_channel_(prefix_ + "take:" + node_id_) {}

RedisBroker::~RedisBroker() {
  // The event loop has stopped: nothing else runs.
  stopped_ = true;
  tick_timer_.cancel();
  reconnect_timer_.cancel();
  if (sub_)
    sub_->close();
  if (cmd_)
    cmd_->close();
}

void RedisBroker::start(core::BrokerHandler& handler) {
  handler_ = &handler;
  net::post(strand_, [this] {
    want(all_channel_);
    want(command_channel_);
    want(reply_channel_);
    if (options_.session_recovery)
      want(take_channel_);
    WPS_LOG(info, "redis") << "node " << node_id_ << " joining the cluster at " << options_.url.host
                           << ":" << options_.url.port << "/" << options_.url.db;
    connect();
    tick();
  });
}

void RedisBroker::stop() {
  net::post(strand_, [this] {
    if (stopped_)
      return;
    stopped_ = true;
    tick_timer_.cancel();
    reconnect_timer_.cancel();
    // Leave the registry at once rather than after the TTL.
    if (cmd_ && cmd_ready_) {
      cmd_->command({"ZREM", prefix_ + "nodes", node_id_});
      cmd_->command({"HDEL", prefix_ + "nodeclients", node_id_});
    }
  });
}

std::string RedisBroker::channel(char kind, const std::string& hub,
                                 const std::string& target) const {
  std::string c = prefix_;
  c += kind;
  c += ':';
  c += hub;
  c += ':';
  c += target;
  return c;
}

// ---- connections --------------------------------------------------------------------------

void RedisBroker::connect() {
  reconnect_scheduled_ = false;
  sub_ = std::make_shared<RespClient>(strand_, options_.url, options_.connect_timeout);
  cmd_ = std::make_shared<RespClient>(strand_, options_.url, options_.connect_timeout);
  const auto sub = sub_;
  sub->start(
      [this, sub] {
        sub->command({"CLIENT", "ID"}, [this, sub](const redisReply* reply) {
          if (reply == nullptr || sub != sub_)
            return;
          if (reply->type == REDIS_REPLY_INTEGER)
            sub_client_id_ = reply->integer;
          sub_ready_ = true;
          // Registered (with the subscriber's id) before the SUBSCRIBEs below go out, so that
          // a node that hangs right after joining is still in the registry the others prune.
          if (cmd_ready_) {
            next_heartbeat_ = Clock::now() + options_.heartbeat_interval;
            heartbeat();
          }
          subscribes_sent_ = subscribes_confirmed_ = 0;
          for (auto& [name, state] : channels_) {
            state.sent = false;
            if (state.wanted)
              send_subscribe(name);
          }
        });
      },
      [this](std::string reason) { on_down("subscriber", reason); },
      [this](const redisReply& reply) { on_push(reply); });
  const auto cmd = cmd_;
  cmd->start(
      [this] {
        cmd_ready_ = true;
        backoff_ = std::chrono::milliseconds(0);
        last_failure_.clear();
        if (was_up_) {
          ++stats_.reconnects;
          if (node_ != nullptr)
            node_->metrics().redis_reconnects.fetch_add(1, std::memory_order_relaxed);
          WPS_LOG(info, "redis") << "reconnected to Redis; resubscribing";
        } else {
          WPS_LOG(info, "redis") << "connected to Redis";
        }
        was_up_ = true;
        // The sessions this node holds, written again (Redis may have lost them).
        next_session_refresh_ = Clock::now();
        next_heartbeat_ = Clock::now();
        if (sub_client_id_ >= 0) {  // the subscriber was first: register now, not at the tick
          next_heartbeat_ += options_.heartbeat_interval;
          heartbeat();
        }
      },
      [this](std::string reason) { on_down("publisher", reason); }, {});
}

void RedisBroker::on_down(const std::string& which, const std::string& reason) {
  if (stopped_)
    return;
  if (cmd_ready_ || sub_ready_) {
    WPS_LOG(warn, "redis") << "lost Redis (" << which << ": " << reason
                           << "); serving local traffic only until it is back";
  } else if (reason != last_failure_) {
    // Each new reason once at warn (a wrong password, a refused port), its repeats at debug.
    WPS_LOG(warn, "redis") << "cannot reach Redis (" << which << ": " << reason
                           << "); retrying with backoff";
  } else {
    WPS_LOG(debug, "redis") << "cannot reach Redis (" << which << ": " << reason << ")";
  }
  last_failure_ = reason;
  sub_ready_ = cmd_ready_ = self_in_commands_ = false;
  sub_client_id_ = -1;
  deferred_.clear();
  for (auto& [name, state] : channels_)
    state.sent = false;
  // Waiters for subscriptions go on: their replay reports that Redis is gone.
  for (auto& [count, done] : std::exchange(subscribed_waiters_, {}))
    net::post(strand_, std::move(done));
  // Tear both down: they come back together.
  if (sub_)
    sub_->close();
  if (cmd_)
    cmd_->close();
  schedule_reconnect();
}

void RedisBroker::schedule_reconnect() {
  if (reconnect_scheduled_ || stopped_)
    return;
  reconnect_scheduled_ = true;
  backoff_ = backoff_.count() == 0 ? kFirstBackoff
                                   : std::min(backoff_ * 2, options_.max_reconnect_backoff);
  reconnect_timer_.expires_after(backoff_);
  reconnect_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_)
      return;
    connect();
  });
}

// ---- interest -----------------------------------------------------------------------------

void RedisBroker::want(std::string name) {
  Channel& c = channels_[name];
  c.wanted = true;
  if (!c.sent && sub_ready_)
    send_subscribe(name);
}

void RedisBroker::unwant(std::string name) {
  auto it = channels_.find(name);
  if (it == channels_.end() || !it->second.wanted)
    return;
  it->second.wanted = false;
  it->second.drop_at = Clock::now() + options_.unsubscribe_grace;
}

void RedisBroker::send_subscribe(const std::string& name) {
  sub_->send({"SUBSCRIBE", name});
  channels_[name].sent = true;
  ++subscribes_sent_;
}

void RedisBroker::sweep() {
  const auto now = Clock::now();
  for (auto it = channels_.begin(); it != channels_.end();) {
    if (!it->second.wanted && now >= it->second.drop_at) {
      if (it->second.sent && sub_ready_)
        sub_->send({"UNSUBSCRIBE", it->first});
      it = channels_.erase(it);
    } else {
      ++it;
    }
  }
}

void RedisBroker::tick() {
  if (stopped_)
    return;
  sweep();
  if (cmd_ready_ && !owned_.empty() && Clock::now() >= next_session_refresh_) {
    // Keeps the states alive (their TTL is the recovery window) and rewrites lost ones.
    next_session_refresh_ =
        Clock::now() + std::max<std::chrono::milliseconds>(options_.recovery_window / 4,
                                                           std::chrono::milliseconds(250));
    for (const auto& [key, session] : owned_)
      write_session(key);
  }
  if (cmd_ready_ && Clock::now() >= next_heartbeat_) {
    next_heartbeat_ = Clock::now() + options_.heartbeat_interval;
    heartbeat();
  }
  tick_timer_.expires_after(kTick);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec)
      tick();
  });
}

void RedisBroker::heartbeat() {
  const std::string client = sub_client_id_ >= 0 ? std::to_string(sub_client_id_) : "";
  const std::string ttl = std::to_string(options_.node_ttl.count());
  cmd_->command({"EVAL", kHeartbeatScript, "2", prefix_ + "nodes", prefix_ + "nodeclients",
                 node_id_, client, ttl},
                [this](const redisReply* reply) {
                  if (reply == nullptr || stopped_)
                    return;
                  if (reply->type == REDIS_REPLY_ERROR) {
                    WPS_LOG(warn, "redis") << "heartbeat failed: " << text_of(*reply);
                    return;
                  }
                  if (reply->type != REDIS_REPLY_ARRAY || !cmd_ready_)
                    return;
                  for (std::size_t i = 0; i < reply->elements; ++i) {
                    const std::string id(text_of(*reply->element[i]));
                    if (id.empty())
                      continue;
                    WPS_LOG(warn, "redis") << "a node missed its heartbeats: disconnecting its "
                                              "subscriber (client "
                                           << id << ")";
                    cmd_->command({"CLIENT", "KILL", "ID", id});
                  }
                });
  // The nodes alive after this heartbeat's sweep (webpubsub_cluster_nodes).
  cmd_->command({"ZCARD", prefix_ + "nodes"}, [this](const redisReply* reply) {
    if (reply != nullptr && !stopped_ && node_ != nullptr && reply->type == REDIS_REPLY_INTEGER)
      node_->metrics().cluster_nodes.store(reply->integer, std::memory_order_relaxed);
  });
}

// ---- receiving ----------------------------------------------------------------------------

void RedisBroker::on_push(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 3)
    return;
  const std::string_view type = text_of(*reply.element[0]);
  if (type == "message") {
    on_message(text_of(*reply.element[1]), text_of(*reply.element[2]));
  } else if (type == "subscribe") {
    ++subscribes_confirmed_;
    if (text_of(*reply.element[1]) == command_channel_)
      self_in_commands_ = true;
    // Replies to commands that subscribed to channels wait for Redis to confirm them, so that
    // a caller who goes on to publish is sure the new member is reachable.
    auto ready = [this](const DeferredReply& d) {
      return d.confirmations <= subscribes_confirmed_;
    };
    for (const DeferredReply& d : deferred_)
      if (ready(d) && cmd_ready_)
        cmd_->command({"PUBLISH", d.channel, d.payload});
    std::erase_if(deferred_, ready);
    for (auto it = subscribed_waiters_.begin(); it != subscribed_waiters_.end();) {
      if (it->first <= subscribes_confirmed_) {
        net::post(strand_, std::move(it->second));
        it = subscribed_waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

bool RedisBroker::from_self(std::string_view payload) const {
  // version, kind, origin length (one byte for ids under 128 bytes), origin
  return payload.size() >= 3 + node_id_.size() &&
         static_cast<unsigned char>(payload[2]) == node_id_.size() &&
         payload.substr(3, node_id_.size()) == node_id_;
}

void RedisBroker::on_message(std::string_view name, std::string_view payload) {
  if (name == take_channel_) {
    on_taken(payload);
    return;
  }
  std::uint64_t seq = 0;
  if (auto logged = split_logged(payload)) {
    if (logged->seq == 0) {
      ++stats_.malformed;
      WPS_LOG(debug, "redis") << "dropped a logged publication with a malformed header";
      return;
    }
    seq = logged->seq;
    payload = logged->envelope;
  }
  const bool self = from_self(payload);
  // A node's own publications come back only for its reliable sessions (numbered now).
  if (self && (seq == 0 || !options_.session_recovery))
    return;
  DecodeResult decoded = decode_envelope(payload, Clock::now());
  if (!decoded.envelope) {
    ++stats_.malformed;
    WPS_LOG(debug, "redis") << "dropped a malformed envelope: " << decoded.error;
    return;
  }
  if (auto* pub = std::get_if<PublicationEnvelope>(&*decoded.envelope)) {
    pub->publication.log_seq = options_.session_recovery ? seq : 0;
    pub->publication.loopback = self;
    if (!self)
      ++stats_.received;
    if (handler_ != nullptr)
      handler_->on_publication(pub->publication);
  } else if (auto* command = std::get_if<CommandEnvelope>(&*decoded.envelope)) {
    run_command(command->origin, command->request_id, command->command);
  } else if (auto* reply = std::get_if<ReplyEnvelope>(&*decoded.envelope)) {
    std::shared_ptr<Pending> pending;
    {
      std::lock_guard lock(pending_mutex_);
      auto it = pending_.find(reply->request_id);
      if (it == pending_.end())
        return;  // timed out already
      pending = it->second;
    }
    std::lock_guard lock(pending->mutex);
    core::merge_result(pending->result, std::move(reply->result), pending->command);
    ++pending->got;
    pending->cv.notify_all();
  }
}

void RedisBroker::run_command(const std::string& origin, std::uint64_t request_id,
                              const core::Command& command) {
  if (node_ == nullptr)
    return;
  const core::CommandResult result = node_->execute_local(command);
  std::string payload = encode_reply(node_id_, request_id, result);
  // Posted: any SUBSCRIBE the command caused (posted by the hub) is written first.
  net::post(strand_, [this, channel = prefix_ + "r:" + origin, payload = std::move(payload)] {
    if (!cmd_ready_)
      return;
    if (subscribes_confirmed_ >= subscribes_sent_)
      cmd_->command({"PUBLISH", channel, payload});
    else
      deferred_.push_back({subscribes_sent_, channel, payload});
  });
}

// ---- from any thread ----------------------------------------------------------------------

void RedisBroker::publish(const core::Publication& publication) {
  // The publishing hub has delivered to this node's clients already; this is for the others.
  std::string name;
  switch (publication.scope) {
    case core::Scope::all:
      name = all_channel_;
      break;
    case core::Scope::group:
      name = channel('g', publication.hub, publication.target);
      break;
    case core::Scope::user:
      name = channel('u', publication.hub, publication.target);
      break;
    case core::Scope::connection:
      name = channel('c', publication.hub, publication.target);
      break;
  }
  std::string payload = encode_publication(node_id_, publication, Clock::now());
  if (!options_.session_recovery) {
    net::post(strand_, [this, name = std::move(name), payload = std::move(payload)] {
      if (!cmd_ready_) {
        ++stats_.dropped;
        return;
      }
      cmd_->command({"PUBLISH", name, payload});
      ++stats_.published;
    });
    return;
  }
  // Logged: numbered in the hub's log and published in one step; it comes back to this node's
  // reliable sessions from Redis. Without Redis they get it unnumbered, at once (see the
  // documented bound in docs/CLUSTER.md).
  net::post(strand_, [this, name = std::move(name), payload = std::move(payload),
                      copy = publication]() mutable {
    if (!cmd_ready_) {
      ++stats_.dropped;
      copy.loopback = true;
      copy.log_seq = 0;
      if (handler_ != nullptr)
        handler_->on_publication(copy);
      return;
    }
    const std::string max = std::to_string(options_.log_max_entries);
    const std::string ttl = std::to_string(
        std::max<long long>(4 * static_cast<long long>(options_.recovery_window.count()), 60'000));
    cmd_->command({"EVAL", kLogPublishScript, "3", prefix_ + "log:" + copy.hub,
                   prefix_ + "seq:" + copy.hub, name, payload, max, ttl},
                  [](const redisReply* reply) {
                    if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
                      WPS_LOG(warn, "redis") << "logging a publication failed: " << text_of(*reply);
                    }
                  });
    ++stats_.published;
  });
}

void RedisBroker::subscribe_group(const std::string& hub, const std::string& group) {
  net::post(strand_, [this, c = channel('g', hub, group)] { want(c); });
}
void RedisBroker::unsubscribe_group(const std::string& hub, const std::string& group) {
  net::post(strand_, [this, c = channel('g', hub, group)] { unwant(c); });
}
void RedisBroker::subscribe_user(const std::string& hub, const std::string& user) {
  net::post(strand_, [this, c = channel('u', hub, user)] { want(c); });
}
void RedisBroker::unsubscribe_user(const std::string& hub, const std::string& user) {
  net::post(strand_, [this, c = channel('u', hub, user)] { unwant(c); });
}
void RedisBroker::subscribe_connection(const std::string& hub, const core::ConnId& id) {
  net::post(strand_, [this, c = channel('c', hub, id)] { want(c); });
}
void RedisBroker::unsubscribe_connection(const std::string& hub, const core::ConnId& id) {
  net::post(strand_, [this, c = channel('c', hub, id)] { unwant(c); });
}

core::CommandResult RedisBroker::run_remote(const core::Command& command) {
  auto pending = std::make_shared<Pending>();
  pending->command = command;
  const std::uint64_t id = next_request_++;
  {
    std::lock_guard lock(pending_mutex_);
    pending_[id] = pending;
  }
  std::string payload = encode_command(node_id_, id, command);
  net::post(strand_, [this, pending, payload = std::move(payload)] {
    auto settle = [pending](long expected) {
      std::lock_guard lock(pending->mutex);
      pending->expected = expected;
      pending->cv.notify_all();
    };
    if (!cmd_ready_ || stopped_)
      return settle(0);
    // PUBLISH answers how many subscribers got the command: every live node, this one included
    // when its own subscription is up. That many replies (but ours) are awaited.
    const bool self_included = self_in_commands_;
    cmd_->command({"PUBLISH", command_channel_, payload},
                  [settle, self_included](const redisReply* reply) {
                    long n = 0;
                    if (reply != nullptr && reply->type == REDIS_REPLY_INTEGER)
                      n = static_cast<long>(reply->integer);
                    if (self_included && n > 0)
                      --n;
                    settle(n);
                  });
  });
  core::CommandResult result;
  {
    std::unique_lock lock(pending->mutex);
    const bool complete = pending->cv.wait_for(lock, options_.command_timeout, [&] {
      return pending->expected >= 0 && pending->got >= pending->expected;
    });
    if (!complete) {
      WPS_LOG(warn, "redis") << "a management command got " << pending->got << " of "
                             << pending->expected << " replies within "
                             << options_.command_timeout.count() << " ms";
    }
    result = std::move(pending->result);
  }
  std::lock_guard lock(pending_mutex_);
  pending_.erase(id);
  return result;
}

// ---- session recovery -------------------------------------------------------------------

void RedisBroker::on_taken(std::string_view payload) {
  const std::size_t nl = payload.find('\n');
  if (nl == std::string_view::npos || session_listener_ == nullptr)
    return;
  const std::string hub(payload.substr(0, nl));
  const std::string id(payload.substr(nl + 1));
  owned_.erase(session_key(hub, id));
  WPS_LOG(debug, "redis") << "session " << id << " was resumed on another node";
  session_listener_->on_session_taken(hub, id);
}

void RedisBroker::write_session(const std::string& key) {
  auto it = owned_.find(key);
  if (it == owned_.end() || !cmd_ready_)
    return;
  const OwnedSession& s = it->second;
  const std::string ttl = std::to_string(options_.recovery_window.count());
  cmd_->command({"EVAL", kSessionSaveScript, "2", key, prefix_ + "seq:" + s.hub, node_id_, s.token,
                 s.state, ttl},
                [this, key](const redisReply* reply) {
                  if (reply == nullptr || stopped_)
                    return;
                  if (reply->type == REDIS_REPLY_ERROR) {
                    WPS_LOG(warn, "redis") << "saving a session failed: " << text_of(*reply);
                    return;
                  }
                  if (reply->type != REDIS_REPLY_INTEGER || reply->integer != 0)
                    return;
                  // Another node owns it now (its message may have been lost): drop it here.
                  auto found = owned_.find(key);
                  if (found == owned_.end())
                    return;
                  const std::string hub = found->second.hub, id = found->second.id;
                  owned_.erase(found);
                  if (session_listener_ != nullptr)
                    session_listener_->on_session_taken(hub, id);
                });
}

void RedisBroker::save(const core::SessionState& state) {
  OwnedSession owned{state.hub, state.connection_id, state.token, encode_session_state(state)};
  net::post(strand_, [this, key = session_key(state.hub, state.connection_id),
                      owned = std::move(owned)]() mutable {
    if (stopped_)
      return;
    owned_[key] = std::move(owned);
    write_session(key);
  });
}

void RedisBroker::remove(const std::string& hub, const core::ConnId& id) {
  net::post(strand_, [this, key = session_key(hub, id)] {
    if (owned_.erase(key) == 0 || !cmd_ready_)
      return;
    cmd_->command({"EVAL", kSessionRemoveScript, "1", key, node_id_});
  });
}

void RedisBroker::claim(const std::string& hub, const core::ConnId& id, const std::string& token,
                        std::function<void(std::optional<core::ClaimedSession>)> done) {
  net::post(strand_, [this, hub, id, token, done = std::move(done)]() mutable {
    if (!cmd_ready_ || stopped_)
      return done(std::nullopt);
    const std::string ttl = std::to_string(options_.recovery_window.count());
    cmd_->command(
        {"EVAL", kSessionClaimScript, "1", session_key(hub, id), token, node_id_, ttl,
         prefix_ + "take:", hub + "\n" + id},
        [this, hub, id, token, done = std::move(done)](const redisReply* reply) {
          if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
              reply->element[0]->type != REDIS_REPLY_STRING)
            return done(std::nullopt);
          auto state = decode_session_state(text_of(*reply->element[0]));
          if (!state || state->hub != hub || state->connection_id != id) {
            WPS_LOG(warn, "redis") << "a stored session state is malformed: " << id;
            return done(std::nullopt);
          }
          state->token = token;
          core::ClaimedSession claimed;
          claimed.replay_after = std::max(state->acked, parse_seq(text_of(*reply->element[1])));
          claimed.state = std::move(*state);
          owned_[session_key(hub, id)] = {hub, id, token, encode_session_state(claimed.state)};
          done(std::move(claimed));
        });
  });
}

void RedisBroker::when_subscribed(std::function<void()> done) {
  net::post(strand_, [this, done = std::move(done)]() mutable {
    if (subscribes_confirmed_ >= subscribes_sent_ || !sub_ready_)
      return done();
    subscribed_waiters_.emplace_back(subscribes_sent_, std::move(done));
  });
}

void RedisBroker::replay(const std::string& hub, std::uint64_t after,
                         std::function<void(std::vector<core::LoggedPublication>, bool)> done) {
  net::post(strand_, [this, log = prefix_ + "log:" + hub, after, done = std::move(done)]() mutable {
    if (!cmd_ready_ || stopped_)
      return done({}, false);
    // Entries the session needs that were trimmed: not lossless any more.
    cmd_->command({"XINFO", "STREAM", log},
                  [this, log, after, done = std::move(done)](const redisReply* reply) mutable {
                    if (reply == nullptr)
                      return done({}, false);
                    if (reply->type == REDIS_REPLY_ARRAY) {
                      for (std::size_t i = 0; i + 1 < reply->elements; i += 2) {
                        if (text_of(*reply->element[i]) == "max-deleted-entry-id" &&
                            parse_seq(text_of(*reply->element[i + 1])) > after)
                          return done({}, false);
                      }
                    }
                    // An error: no log (nothing published in the window, or Redis lost it).
                    read_log(log, after, {}, std::move(done));
                  });
  });
}

void RedisBroker::read_log(std::string log, std::uint64_t after,
                           std::vector<core::LoggedPublication> got,
                           std::function<void(std::vector<core::LoggedPublication>, bool)> done) {
  const std::string start = "(" + std::to_string(after) + "-0";
  const std::string count = std::to_string(kReplayPage);
  cmd_->command(
      {"XRANGE", log, start, "+", "COUNT", count},
      [this, log, got = std::move(got), done = std::move(done)](const redisReply* reply) mutable {
        if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY)
          return done(std::move(got), false);
        std::uint64_t last = 0;
        for (std::size_t i = 0; i < reply->elements; ++i) {
          const redisReply& entry = *reply->element[i];
          if (entry.type != REDIS_REPLY_ARRAY || entry.elements != 2 ||
              entry.element[1]->type != REDIS_REPLY_ARRAY)
            return done(std::move(got), false);
          last = parse_seq(text_of(*entry.element[0]));
          const redisReply& fields = *entry.element[1];
          if (last == 0 || fields.elements != 2)
            return done(std::move(got), false);
          DecodeResult decoded = decode_envelope(text_of(*fields.element[1]), Clock::now());
          auto* pub =
              decoded.envelope ? std::get_if<PublicationEnvelope>(&*decoded.envelope) : nullptr;
          if (pub == nullptr) {
            ++stats_.malformed;
            continue;
          }
          pub->publication.log_seq = last;
          got.push_back({last, std::move(pub->publication)});
        }
        if (reply->elements < kReplayPage || !cmd_ready_)
          return done(std::move(got), cmd_ready_ || reply->elements < kReplayPage);
        read_log(std::move(log), last, std::move(got), std::move(done));
      });
}

}  // namespace wps::redis
