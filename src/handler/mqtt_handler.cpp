#include "handler/mqtt_handler.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "protocol/names.hpp"
#include "util/ids.hpp"
#include "util/log.hpp"

namespace wps::handler {

namespace mqtt = protocol::mqtt;

namespace {

constexpr std::string_view kServerMessagesTopic = "$webpubsub/server/messages";
constexpr std::string_view kTakenOver = "Session taken over by a new connection.";
constexpr std::size_t kMaxClientIdLength = 128;
constexpr std::uint16_t kMaxKeepAlive = 180;
constexpr std::size_t kMaxWillTopic = 1024;
constexpr std::size_t kMaxWillPayload = 2000;
// A CONNECT that takes over an online client id waits for the old connection to go: this many
// checks, 50 ms apart.
constexpr int kTakeOverChecks = 40;

class MqttEncoder final : public core::Encoder {
 public:
  explicit MqttEncoder(std::uint8_t level) : level_(level) {}
  SharedFrame encode(const core::Message& message) const override {
    mqtt::Publish publish;
    publish.topic = message.from == protocol::MessageSource::group
                        ? message.group
                        : std::string(kServerMessagesTopic);
    publish.payload = message.payload.bytes;
    if (level_ == mqtt::k_level_5) {
      publish.properties.content_type = std::string(mqtt::content_type_of(message.payload.type));
      if (message.mqtt) {
        // From an MQTT 5.0 publisher: its properties pass unchanged (spec mqtt §10.4).
        const protocol::MqttPassThrough& from = *message.mqtt;
        publish.properties.content_type = from.content_type;
        publish.properties.payload_format_indicator = from.payload_format_indicator;
        publish.properties.response_topic = from.response_topic;
        publish.properties.correlation_data = from.correlation_data;
        for (const auto& [name, value] : from.user_properties)
          publish.properties.user_properties.push_back({name, value});
      }
    }
    return protocol::make_frame(mqtt::encode(publish, level_), true, message.expires_at);
  }

 private:
  const std::uint8_t level_;
};

bool valid_client_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxClientIdLength)
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

bool valid_will_topic(std::string_view topic) {
  if (topic.empty() || topic.size() > kMaxWillTopic)
    return false;
  return std::any_of(topic.begin(), topic.end(),
                     [](char c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; });
}

// A topic that names a group this server delivers to (not `$...`, a valid group name).
bool group_topic(const std::string& topic) {
  return !topic.empty() && topic[0] != '$' && protocol::is_valid_group_name(topic);
}

std::uint16_t ws_code_for(std::uint8_t reason_5) {
  switch (reason_5) {
    case mqtt::reason::packet_too_large:
      return core::close_code::message_too_big;
    case mqtt::reason::not_authorized:
      return core::close_code::policy_violation;
    default:
      return core::close_code::protocol_error;
  }
}

}  // namespace

const core::Encoder& mqtt_encoder(std::uint8_t level) {
  static const MqttEncoder v311(mqtt::k_level_311);
  static const MqttEncoder v5(mqtt::k_level_5);
  return level == mqtt::k_level_5 ? static_cast<const core::Encoder&>(v5) : v311;
}

// ---- MqttSession --------------------------------------------------------------------------

MqttSession::MqttSession(Context& context, Registration registration,
                         std::shared_ptr<core::ConnectionEvents> events, std::uint8_t level)
    : ClientHandler(context, std::move(registration), std::move(events), mqtt_encoder(level)),
      level_(level) {}

std::optional<MqttSession::Subscription> MqttSession::subscription_locked(
    const SharedFrame& frame) const {
  const auto topic = mqtt::publish_topic(frame->data);
  if (!topic)
    return std::nullopt;
  Subscription subscription;  // QoS 1 unless subscribed otherwise
  if (*topic != kServerMessagesTopic) {
    auto it = subscriptions_.find(std::string(*topic));
    if (it != subscriptions_.end())
      subscription = it->second;
  }
  return subscription;
}

std::uint16_t MqttSession::next_packet_id_locked() {
  // Skips the ids of PUBLISHes still awaiting their PUBACK (at most 65,535 - 1 are, see
  // window_open_locked, so a free id exists).
  do {
    if (++next_packet_id_ == 0)
      next_packet_id_ = 1;
  } while (in_flight_by_id_.contains(next_packet_id_));
  return next_packet_id_;
}

bool MqttSession::window_open_locked() const {
  const std::size_t cap =
      std::min<std::size_t>({receive_maximum_, context_.config.limits.max_pending_messages, 65534});
  return in_flight_.size() < cap;
}

SharedFrame MqttSession::for_subscriber_locked(const SharedFrame& frame,
                                               const std::optional<Subscription>& subscription) {
  if (!subscription)
    return nullptr;
  if (subscription->qos == 0 && subscription->subscription_id == 0)
    return socket_ ? frame : nullptr;  // the shared encoding; offline QoS 0 is dropped
  if (subscription->qos == 0 && !socket_)
    return nullptr;
  const std::uint16_t packet_id = subscription->qos > 0 ? next_packet_id_locked() : 0;
  auto requalified = mqtt::requalify_publish(frame->data, level_, subscription->qos, packet_id,
                                             subscription->subscription_id);
  if (!requalified)
    return nullptr;
  auto out = protocol::make_frame(std::move(*requalified), true, frame->expires_at);
  if (packet_id != 0) {
    in_flight_.push_back({packet_id, out});
    in_flight_by_id_[packet_id] = std::prev(in_flight_.end());
  }
  return out;
}

void MqttSession::drain_pending_locked(std::vector<SharedFrame>& out) {
  while (!pending_.empty() && socket_) {
    const auto subscription = subscription_locked(pending_.front());
    if (subscription && subscription->qos > 0 && !window_open_locked())
      return;  // the rest waits for a PUBACK
    if (auto frame = for_subscriber_locked(pending_.front(), subscription))
      out.push_back(std::move(frame));
    pending_.pop_front();
  }
}

void MqttSession::deliver(const SharedFrame& frame) {
  std::shared_ptr<Socket> socket;
  SharedFrame out;
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    if (!socket_ || !pending_.empty()) {
      // Offline, or behind a full window: messages wait (for the session's next connection or
      // a PUBACK), within the limit of a connection's queue.
      if (pending_.size() < context_.config.limits.max_pending_messages)
        pending_.push_back(frame);
      return;
    }
    const auto subscription = subscription_locked(frame);
    if (subscription && subscription->qos > 0 && !window_open_locked()) {
      pending_.push_back(frame);
      return;
    }
    out = for_subscriber_locked(frame, subscription);
    socket = socket_;
  }
  if (out)
    socket->send(std::move(out));
}

void MqttSession::acknowledge(std::uint16_t packet_id) {
  std::shared_ptr<Socket> socket;
  std::vector<SharedFrame> out;
  {
    std::lock_guard lock(mutex_);
    auto it = in_flight_by_id_.find(packet_id);
    if (it == in_flight_by_id_.end())
      return;  // not ours (a reply to a user event) or acknowledged already
    in_flight_.erase(it->second);
    in_flight_by_id_.erase(it);
    drain_pending_locked(out);
    socket = socket_;
  }
  for (auto& one : out)
    socket->send(std::move(one));
}

void MqttSession::attach(std::shared_ptr<Socket> socket, std::weak_ptr<MqttHandler> handler,
                         SharedFrame first, std::uint16_t receive_maximum) {
  std::lock_guard lock(mutex_);
  socket_ = socket;
  handler_ = std::move(handler);
  receive_maximum_ = receive_maximum == 0 ? 65535 : receive_maximum;
  ++detachments_;
  if (first)
    socket->send(std::move(first));
  // What the previous connection left unacknowledged goes again, first and in its order, as
  // a duplicate with the same packet id (MQTT 3.1.1 4.4, 5.0 4.4).
  for (auto& in_flight : in_flight_) {
    std::string bytes = in_flight.frame->data;
    bytes[0] = static_cast<char>(static_cast<unsigned char>(bytes[0]) | 0x08);  // DUP
    in_flight.frame = protocol::make_frame(std::move(bytes), true, in_flight.frame->expires_at);
    socket->send(in_flight.frame);
  }
  std::vector<SharedFrame> out;
  drain_pending_locked(out);
  for (auto& one : out)
    socket->send(std::move(one));
}

bool MqttSession::attached() const {
  std::lock_guard lock(mutex_);
  return socket_ != nullptr;
}

void MqttSession::detach(std::chrono::seconds expiry, boost::asio::any_io_executor executor) {
  std::uint64_t detachment = 0;
  {
    std::lock_guard lock(mutex_);
    socket_.reset();
    handler_.reset();
    detachment = ++detachments_;
  }
  // The timer owns itself until it fires: nothing has to cancel it from another thread.
  auto timer = std::make_shared<boost::asio::steady_timer>(executor, expiry);
  timer->async_wait([timer, weak = weak_from_this(), detachment](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self)
      return;
    {
      std::lock_guard lock(self->mutex_);
      if (self->detachments_ != detachment || self->socket_)
        return;  // resumed since
    }
    self->end_session("Session expired.");
  });
}

void MqttSession::end_session(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (ended_)
      return;
    ended_ = true;
    pending_.clear();
    in_flight_.clear();
    in_flight_by_id_.clear();
  }
  leave_hub(reason);
  context_.mqtt_sessions.remove(MqttSessions::key(hub()->name(), id()), this);
}

void MqttSession::close(std::uint16_t code, std::string reason) {
  std::shared_ptr<Socket> socket;
  std::shared_ptr<MqttHandler> handler;
  {
    std::lock_guard lock(mutex_);
    socket = socket_;
    handler = handler_.lock();
  }
  if (!socket) {
    // REST closes end a session that waits offline.
    end_session(reason);
    return;
  }
  if (handler) {
    std::lock_guard lock(handler->farewell_mutex_);
    if (!handler->farewell_)
      handler->farewell_.emplace(reason == kTakenOver ? mqtt::reason::session_taken_over
                                                      : mqtt::reason::administrative_action,
                                 reason);
  }
  socket->close(code, std::move(reason));
}

void MqttSession::subscribe(const std::string& group, Subscription subscription) {
  std::lock_guard lock(mutex_);
  subscriptions_[group] = subscription;
}

void MqttSession::unsubscribe(const std::string& group) {
  std::lock_guard lock(mutex_);
  subscriptions_.erase(group);
}

std::uint16_t MqttSession::next_packet_id() {
  std::lock_guard lock(mutex_);
  return next_packet_id_locked();
}

bool MqttSession::no_local(const std::string& group) const {
  std::lock_guard lock(mutex_);
  auto it = subscriptions_.find(group);
  return it != subscriptions_.end() && it->second.no_local;
}

// ---- MqttHandler --------------------------------------------------------------------------

MqttHandler::MqttHandler(Context& context, HandshakeAccept accept, core::Multimap query,
                         core::Multimap headers)
    : context_(context),
      accept_(std::move(accept)),
      query_(std::move(query)),
      headers_(std::move(headers)),
      reader_(context.config.limits.max_message_bytes),
      physical_id_(util::random_hex_id()) {}

MqttHandler::~MqttHandler() = default;

void MqttHandler::on_open(const std::shared_ptr<Socket>& socket) {
  socket_ = socket;
  timer_ = std::make_unique<boost::asio::steady_timer>(socket->executor());
  // The MQTT handshake is part of the handshake: no CONNECT within limits.handshakeTimeoutMs
  // closes the connection (the `connect` event, when there is one, has its own timeout).
  timer_->expires_after(context_.config.limits.handshake_timeout);
  timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec)
      return;
    auto self = weak.lock();
    if (!self || self->state_ != State::awaiting_connect || !self->socket_)
      return;
    self->state_ = State::closed;
    self->socket_->close(core::close_code::policy_violation, "No CONNECT packet in time.");
  });
}

void MqttHandler::on_message(Socket& socket, bool binary, std::string_view data) {
  if (state_ == State::closed)
    return;
  if (!binary) {
    socket.close(core::close_code::unsupported_data,
                 "MQTT packets must be sent in binary WebSocket messages.");
    return;
  }
  reader_.feed(data);
  drain();
}

void MqttHandler::drain() {
  while (state_ != State::closed && !paused_) {
    auto result = reader_.next();
    if (result.kind == mqtt::Reader::Result::Kind::need_more)
      return;
    if (result.kind == mqtt::Reader::Result::Kind::error) {
      ++context_.counters.protocol_error_closes;
      if (state_ == State::awaiting_connect) {
        if (result.error.code == mqtt::reason::unsupported_protocol_version) {
          // The client's level is not one we read: answer in the 3.1.1 form, which every
          // version's client understands (return code 1), then close.
          socket_->send(protocol::make_frame(
              mqtt::encode(
                  mqtt::Connack{false, mqtt::connack_311::unacceptable_protocol_version, {}},
                  mqtt::k_level_311),
              true));
        }
        state_ = State::closed;
        socket_->close(ws_code_for(result.error.code), result.error.message);
        return;
      }
      fail(result.error.code, result.error.message, ws_code_for(result.error.code));
      return;
    }
    last_packet_ = std::chrono::steady_clock::now();
    handle(*result.packet);
  }
}

void MqttHandler::handle(mqtt::Packet& packet) {
  if (state_ == State::awaiting_connect && !std::holds_alternative<mqtt::Connect>(packet)) {
    state_ = State::closed;
    ++context_.counters.protocol_error_closes;
    socket_->close(core::close_code::protocol_error, "The first MQTT packet must be CONNECT.");
    return;
  }
  std::visit(
      [&](auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, mqtt::Connect>) {
          if (state_ != State::awaiting_connect) {
            fail(mqtt::reason::protocol_error, "A second CONNECT packet.",
                 core::close_code::protocol_error);
            return;
          }
          on_connect(p);
        } else if constexpr (std::is_same_v<T, mqtt::Publish>) {
          on_publish(p);
        } else if constexpr (std::is_same_v<T, mqtt::Subscribe>) {
          on_subscribe(p);
        } else if constexpr (std::is_same_v<T, mqtt::Unsubscribe>) {
          on_unsubscribe(p);
        } else if constexpr (std::is_same_v<T, mqtt::PingReq>) {
          send_packet(mqtt::PingResp{});
        } else if constexpr (std::is_same_v<T, mqtt::Disconnect>) {
          on_disconnect(p);
        } else if constexpr (std::is_same_v<T, mqtt::PubResponse>) {
          // PUBACK of a QoS 1 delivery: released, and the next waiting one may go.
          if (p.type != mqtt::PacketType::puback)
            fail(mqtt::reason::protocol_error, "QoS 2 flows are not supported.",
                 core::close_code::protocol_error);
          else if (session_)
            session_->acknowledge(p.packet_id);
        } else if constexpr (std::is_same_v<T, mqtt::Auth>) {
          fail(mqtt::reason::bad_authentication_method, "Enhanced authentication is not supported.",
               core::close_code::protocol_error);
        } else {
          fail(mqtt::reason::protocol_error, "A server-to-client packet from the client.",
               core::close_code::protocol_error);
        }
      },
      packet);
}

void MqttHandler::send_packet(const mqtt::Packet& packet) {
  socket_->send(protocol::make_frame(mqtt::encode(packet, level_), true));
}

void MqttHandler::refuse_connect(std::uint8_t reason_5, std::string reason_string,
                                 std::vector<mqtt::UserProperty> user_properties) {
  mqtt::Connack connack;
  if (level_ == mqtt::k_level_5) {
    connack.code = reason_5;
    if (!reason_string.empty())
      connack.properties.reason_string = reason_string.substr(0, 256);
    connack.properties.user_properties = std::move(user_properties);
  } else {
    connack.code = mqtt::connack_code_311(reason_5);
  }
  WPS_LOG(info, "handler") << "MQTT CONNECT refused (" << int(reason_5) << "): " << reason_string;
  send_packet(connack);
  state_ = State::closed;
  socket_->close(ws_code_for(reason_5), reason_string.substr(0, 120));
}

void MqttHandler::on_connect(mqtt::Connect& connect) {
  level_ = connect.level;
  reader_.set_level(level_);
  if (connect.properties.authentication_method)
    return refuse_connect(mqtt::reason::bad_authentication_method,
                          "Enhanced authentication is not supported.");
  if (connect.client_id.empty()) {
    if (level_ != mqtt::k_level_5 && !connect.clean_start)
      return refuse_connect(mqtt::reason::client_identifier_not_valid,
                            "An empty client identifier needs Clean Session.");
    connect.client_id = util::random_hex_id();
    assigned_id_ = true;
  }
  if (!valid_client_id(connect.client_id))
    return refuse_connect(mqtt::reason::client_identifier_not_valid,
                          "The client identifier must be 1-128 characters 0-9, a-z, A-Z.");
  if (level_ == mqtt::k_level_311) {
    if (connect.keep_alive == 0 || connect.keep_alive > kMaxKeepAlive)
      return refuse_connect(mqtt::reason::unspecified_error, "Keep Alive must be 1-180 seconds.");
  } else if (connect.keep_alive == 0 || connect.keep_alive > kMaxKeepAlive) {
    connect.keep_alive = kMaxKeepAlive;
    server_keep_alive_ = connect.keep_alive;
  }
  keep_alive_ = std::chrono::seconds(connect.keep_alive);
  // How long the session outlives its network connection: 5.0 Session Expiry Interval, 3.1.1
  // Clean Session 0; capped by the recovery window reliable clients get too.
  const auto cap =
      std::chrono::duration_cast<std::chrono::seconds>(context_.config.limits.recovery_window);
  if (level_ == mqtt::k_level_5)
    session_expiry_ = std::min<std::chrono::seconds>(
        std::chrono::seconds(connect.properties.session_expiry_interval.value_or(0)), cap);
  else
    session_expiry_ = connect.clean_start ? std::chrono::seconds(0) : cap;
  if (connect.will) {
    if (!valid_will_topic(connect.will->topic))
      return refuse_connect(mqtt::reason::topic_name_invalid,
                            "The will topic must be 1-1024 characters, not only whitespace.");
    if (connect.will->payload.size() > kMaxWillPayload)
      return refuse_connect(mqtt::reason::packet_too_large,
                            "The will payload must be at most 2000 bytes.");
  }
  connect_ = connect;
  core::ConnectionContext upstream_context;
  upstream_context.hub = accept_.hub;
  upstream_context.connection_id = connect.client_id;
  upstream_context.user_id = accept_.user_id;
  upstream_context.subprotocol = "mqtt";
  upstream_context.physical_connection_id = physical_id_;
  events_ =
      std::make_shared<core::ConnectionEvents>(context_.upstream, std::move(upstream_context));
  if (!events_->has_handler("connect", false)) {
    try_register(kTakeOverChecks);
    return;
  }
  // The `connect` event is raised by CONNECT (docs/PROTOCOL.md "MQTT"); the client's packets
  // wait until it is answered.
  state_ = State::connecting;
  paused_ = true;
  socket_->pause();
  core::ConnectRequest body;
  body.claims = accept_.claims;
  body.query = query_;
  body.headers = headers_;
  body.subprotocols = {"mqtt"};
  core::MqttConnectFields fields;
  fields.protocol_version = level_;
  fields.clean_start = connect.clean_start;
  fields.username = connect.username;
  fields.password = connect.password;
  for (const auto& property : connect.properties.user_properties)
    fields.user_properties.emplace_back(property.name, property.value);
  body.mqtt = std::move(fields);
  context_.upstream->connect(
      events_->snapshot(), std::move(body),
      [weak = weak_from_this(), executor = socket_->executor()](core::ConnectResult result) {
        boost::asio::post(executor, [weak, result = std::move(result)]() mutable {
          if (auto self = weak.lock())
            self->after_connect_event(std::move(result));
        });
      });
}

void MqttHandler::after_connect_event(core::ConnectResult result) {
  if (state_ != State::connecting)
    return;
  if (!result.accepted) {
    std::uint8_t code = mqtt::reason::unspecified_error;
    if (result.mqtt_code) {
      // The handler's code is the version's own (3.1.1 return code 1-5, 5.0 reason code
      // >= 0x80); anything else is "unspecified error". Kept as its 5.0 meaning here.
      const int given = *result.mqtt_code;
      if (level_ == mqtt::k_level_311) {
        static constexpr std::uint8_t to_5[] = {0x80, 0x84, 0x85, 0x88, 0x86, 0x87};
        code = given > 0 && given < 6 ? to_5[given] : mqtt::reason::unspecified_error;
      } else {
        code = given >= 0x80 && given <= 0xFF ? static_cast<std::uint8_t>(given)
                                              : mqtt::reason::unspecified_error;
      }
    } else if (result.status == 400) {
      code = mqtt::reason::bad_user_name_or_password;
    } else if (result.status == 401 || result.status == 403) {
      code = mqtt::reason::not_authorized;
    }
    std::vector<mqtt::UserProperty> properties;
    for (auto& [name, value] : result.mqtt_user_properties)
      properties.push_back(mqtt::UserProperty{name, value});
    return refuse_connect(code, result.mqtt_reason.value_or("Refused by the event handler."),
                          std::move(properties));
  }
  if (result.user_id)
    accept_.user_id = result.user_id->empty() ? std::nullopt : std::optional(*result.user_id);
  if (result.roles)
    accept_.roles = std::move(*result.roles);
  if (result.groups && !result.groups->empty()) {
    for (const std::string& group : *result.groups) {
      if (!protocol::is_valid_group_name(group))
        return refuse_connect(mqtt::reason::unspecified_error,
                              "The event handler returned an invalid group name.");
    }
    accept_.groups = std::move(*result.groups);
  }
  for (auto& [name, value] : result.mqtt_user_properties)
    connack_user_properties_.push_back(mqtt::UserProperty{name, value});
  events_->update(result.state, result.cookies);
  events_->set_identity(accept_.user_id, "mqtt");
  try_register(kTakeOverChecks);
}

mqtt::Connack MqttHandler::success_connack(bool session_present) const {
  mqtt::Connack connack;
  connack.session_present = session_present;
  if (level_ == mqtt::k_level_5) {
    auto& p = connack.properties;
    p.retain_available = 0;
    p.wildcard_subscription_available = 0;
    p.shared_subscription_available = 0;
    p.subscription_identifiers_available = 1;
    p.maximum_qos = 1;
    p.maximum_packet_size = static_cast<std::uint32_t>(
        std::min<std::size_t>(context_.config.limits.max_message_bytes, 268435460));
    p.server_keep_alive = server_keep_alive_;
    if (assigned_id_)
      p.assigned_client_identifier = connect_.client_id;
    if (session_expiry_.count() > 0 && connect_.properties.session_expiry_interval &&
        *connect_.properties.session_expiry_interval != session_expiry_.count())
      p.session_expiry_interval = static_cast<std::uint32_t>(session_expiry_.count());
    p.user_properties = connack_user_properties_;
  }
  return connack;
}

void MqttHandler::try_register(int checks_left) {
  if (state_ == State::closed)
    return;
  const auto hub = context_.node.hub(accept_.hub);
  const std::string key = MqttSessions::key(hub->name(), connect_.client_id);
  auto existing = context_.mqtt_sessions.find(key);
  if (existing && !existing->attached()) {
    // A session waiting offline: resumed, or discarded by Clean Start (and by a client of the
    // other protocol version, whose packets it could not carry).
    if (!connect_.clean_start && existing->level() == level_)
      return resume(existing);
    existing->end_session("");
    existing.reset();
  }
  if (!existing && hub->connection_exists(connect_.client_id))
    // Another protocol's connection has this id: MQTT takeover is for MQTT sessions only.
    return refuse_connect(mqtt::reason::client_identifier_not_valid,
                          "The client identifier is in use by another connection.");
  if (existing) {
    // The client id is online: that connection is taken over (closed), and this CONNECT waits
    // for it to leave the hub (or for its session to wait offline).
    if (checks_left == kTakeOverChecks)
      hub->close_connection(connect_.client_id, core::close_code::normal, std::string(kTakenOver));
    if (checks_left == 0)
      return refuse_connect(mqtt::reason::server_busy,
                            "The client identifier is still in use; retry.");
    if (!paused_) {
      paused_ = true;
      socket_->pause();
    }
    state_ = State::connecting;
    timer_->expires_after(std::chrono::milliseconds(50));
    timer_->async_wait([weak = weak_from_this(), checks_left](boost::system::error_code ec) {
      if (ec)
        return;
      if (auto self = weak.lock())
        self->try_register(checks_left - 1);
    });
    return;
  }
  Registration registration;
  registration.hub = hub;
  registration.id = connect_.client_id;
  registration.user_id = accept_.user_id;
  registration.kind = core::ProtocolKind::mqtt;
  registration.roles = accept_.roles;
  registration.groups = accept_.groups;
  session_ = std::make_shared<MqttSession>(context_, std::move(registration), events_, level_);
  session_->attach(socket_, weak_from_this(), nullptr, client_receive_maximum());
  // CONNACK goes out under the hub's lock, before any delivery (token groups) can reach it.
  const std::string connack_bytes = mqtt::encode(success_connack(false), level_);
  auto refusal = session_->join([&] { socket_->send(protocol::make_frame(connack_bytes, true)); });
  if (refusal) {
    session_.reset();
    return refuse_connect(mqtt::reason::quota_exceeded, *refusal);
  }
  context_.mqtt_sessions.add(key, session_);
  state_ = State::connected;
  will_pending_ = connect_.will.has_value();
  events_->connected();
  arm_keep_alive();
  if (paused_) {
    paused_ = false;
    socket_->resume();
    drain();
  }
}

void MqttHandler::resume(const std::shared_ptr<MqttSession>& session) {
  // The session keeps its identity, groups, subscriptions and permissions; the `connect`
  // handler's userId/groups/roles do not apply, and no `connected` event is raised.
  session_ = session;
  events_ = session->events();
  session_->attach(socket_, weak_from_this(),
                   protocol::make_frame(mqtt::encode(success_connack(true), level_), true),
                   client_receive_maximum());
  state_ = State::connected;
  will_pending_ = connect_.will.has_value();
  arm_keep_alive();
  if (paused_) {
    paused_ = false;
    socket_->resume();
    drain();
  }
}

void MqttHandler::on_subscribe(const mqtt::Subscribe& subscribe) {
  mqtt::SubResponse suback;
  suback.type = mqtt::PacketType::suback;
  suback.packet_id = subscribe.packet_id;
  const bool v5 = level_ == mqtt::k_level_5;
  const std::uint32_t subscription_id = subscribe.properties.subscription_identifiers.empty()
                                            ? 0
                                            : subscribe.properties.subscription_identifiers[0];
  const auto& hub = session_->hub();
  for (const mqtt::SubscribeTopic& topic : subscribe.topics) {
    std::uint8_t code = 0;
    if (mqtt::is_shared_subscription(topic.filter)) {
      code = mqtt::reason::shared_subscriptions_not_supported;
    } else if (mqtt::has_wildcard(topic.filter)) {
      code = mqtt::reason::wildcard_subscriptions_not_supported;
    } else if (!group_topic(topic.filter)) {
      code = mqtt::reason::topic_filter_invalid;
    } else if (!hub->permits(session_->id(), core::Permission::join_leave_group, topic.filter)) {
      code = mqtt::reason::not_authorized;
    } else if (hub->add_to_group(session_->id(), topic.filter) ==
               core::Hub::JoinResult::group_limit_reached) {
      code = mqtt::reason::quota_exceeded;
    } else {
      const std::uint8_t granted = std::min<std::uint8_t>(topic.qos, 1);
      session_->subscribe(topic.filter, {granted, subscription_id, topic.no_local});
      code = granted;
    }
    suback.codes.push_back(v5 || code < 0x80 ? code : std::uint8_t{0x80});
  }
  send_packet(suback);
}

void MqttHandler::on_unsubscribe(const mqtt::Unsubscribe& unsubscribe) {
  mqtt::SubResponse unsuback;
  unsuback.type = mqtt::PacketType::unsuback;
  unsuback.packet_id = unsubscribe.packet_id;
  const auto& hub = session_->hub();
  for (const std::string& filter : unsubscribe.filters) {
    std::uint8_t code = mqtt::reason::success;
    if (!group_topic(filter)) {
      code = mqtt::reason::topic_filter_invalid;
    } else if (!hub->permits(session_->id(), core::Permission::join_leave_group, filter)) {
      code = mqtt::reason::not_authorized;
    } else {
      hub->remove_from_group(session_->id(), filter);
      session_->unsubscribe(filter);
    }
    unsuback.codes.push_back(code);
  }
  send_packet(unsuback);
}

void MqttHandler::on_publish(mqtt::Publish& publish) {
  session_->hub()->received(core::ProtocolKind::mqtt, session_->id(), session_->user_id(),
                            publish.payload.size());
  if (publish.qos == 2)
    return fail(mqtt::reason::qos_not_supported, "QoS 2 is not supported (Maximum QoS 1).",
                core::close_code::protocol_error);
  if (publish.properties.topic_alias)
    return fail(mqtt::reason::topic_alias_invalid, "Topic aliases are not supported.",
                core::close_code::protocol_error);
  auto answer = [&](std::uint8_t code, std::string reason) {
    if (publish.qos == 0)
      return;
    mqtt::PubResponse ack;
    ack.type = mqtt::PacketType::puback;
    ack.packet_id = publish.packet_id;
    if (level_ == mqtt::k_level_5) {
      ack.code = code;
      if (!reason.empty())
        ack.properties.reason_string = std::move(reason);
    }
    send_packet(ack);
  };
  constexpr std::string_view kEvents = "$webpubsub/server/events/";
  if (publish.topic.starts_with(kEvents)) {
    std::string event = publish.topic.substr(kEvents.size());
    if (!event.empty() && event.find('/') == std::string::npos) {
      if (!events_->has_handler(event, true))
        return answer(mqtt::reason::implementation_specific_error,
                      "No event handler is configured for event '" + event + "'.");
      answer(mqtt::reason::success, {});
      return on_event(publish, std::move(event));
    }
  }
  if (!group_topic(publish.topic))
    return answer(mqtt::reason::topic_name_invalid,
                  "The topic is not a group name this server delivers to.");
  const auto& hub = session_->hub();
  if (!hub->permits(session_->id(), core::Permission::send_to_group, publish.topic)) {
    // Not delivered to anyone; QoS 0 closes the connection, QoS 1 is refused in its PUBACK.
    if (publish.qos == 0)
      return fail(mqtt::reason::not_authorized,
                  "The client does not have permission to publish to '" + publish.topic + "'.",
                  core::close_code::policy_violation);
    return answer(mqtt::reason::not_authorized,
                  "The client does not have permission to publish to this topic.");
  }
  auto message = std::make_shared<core::Message>();
  message->from = protocol::MessageSource::group;
  message->group = publish.topic;
  message->from_user_id = session_->user_id();
  const auto type = level_ == mqtt::k_level_5
                        ? mqtt::data_type_of(publish.properties.content_type, publish.payload)
                        : protocol::DataType::binary;
  message->payload = protocol::Payload{type, std::move(publish.payload)};
  if (level_ == mqtt::k_level_5) {
    auto& props = publish.properties;
    auto pass = std::make_shared<protocol::MqttPassThrough>();
    pass->payload_format_indicator = props.payload_format_indicator;
    pass->content_type = std::move(props.content_type);
    pass->response_topic = std::move(props.response_topic);
    pass->correlation_data = std::move(props.correlation_data);
    for (auto& property : props.user_properties)
      pass->user_properties.emplace_back(std::move(property.name), std::move(property.value));
    message->mqtt = std::move(pass);
  }
  if (publish.properties.message_expiry_interval)
    message->expires_at = std::chrono::steady_clock::now() +
                          std::chrono::seconds(*publish.properties.message_expiry_interval);
  core::Publication publication;
  publication.hub = hub->name();
  publication.scope = core::Scope::group;
  publication.target = publish.topic;
  publication.message = std::move(message);
  if (session_->no_local(publish.topic))
    publication.excluded.push_back(session_->id());
  hub->publish(publication);
  answer(mqtt::reason::success, {});
}

void MqttHandler::on_event(mqtt::Publish& publish, std::string event) {
  const auto type = level_ == mqtt::k_level_5
                        ? mqtt::data_type_of(publish.properties.content_type, publish.payload)
                        : protocol::DataType::binary;
  paused_ = true;
  const std::uint8_t qos = publish.qos;
  std::optional<std::string> correlation = publish.properties.correlation_data;
  std::string topic = publish.topic;
  session_->user_event(
      socket_, std::move(event), protocol::Payload{type, std::move(publish.payload)},
      [weak = weak_from_this(), qos, correlation = std::move(correlation),
       topic = std::move(topic)](Socket& socket, core::UserEventResult result) {
        auto self = weak.lock();
        if (!self || self->state_ != State::connected)
          return;
        self->session_->events()->update(result.state, result.cookies);
        mqtt::Publish reply;
        reply.topic = topic + (result.ok ? "/succeeded" : "/failed");
        reply.qos = qos;
        if (qos > 0)
          reply.packet_id = self->session_->next_packet_id();
        if (result.reply) {
          reply.payload = std::move(result.reply->bytes);
          reply.properties.content_type = std::string(mqtt::content_type_of(result.reply->type));
        } else if (!result.ok) {
          reply.payload = result.error;
          reply.properties.content_type = "text/plain";
        }
        reply.properties.correlation_data = correlation;
        for (auto& [name, value] : result.mqtt_user_properties)
          reply.properties.user_properties.push_back({std::move(name), std::move(value)});
        reply.properties.user_properties.push_back(
            {"azure-status-code", std::to_string(result.status != 0 ? result.status : 500)});
        self->send_packet(reply);
        self->paused_ = false;
        socket.resume();
        self->drain();
      });
}

void MqttHandler::on_disconnect(const mqtt::Disconnect& disconnect) {
  client_disconnected_ = true;
  client_disconnect_code_ = disconnect.code;
  client_disconnect_properties_ = disconnect.properties.user_properties;
  if (disconnect.properties.session_expiry_interval)
    session_expiry_ = std::min<std::chrono::seconds>(
        std::chrono::seconds(*disconnect.properties.session_expiry_interval),
        std::chrono::duration_cast<std::chrono::seconds>(context_.config.limits.recovery_window));
  will_pending_ = will_pending_ && level_ == mqtt::k_level_5 &&
                  disconnect.code == mqtt::reason::disconnect_with_will;
  std::string reason = disconnect.properties.reason_string.value_or("");
  end(reason);
  socket_->close(core::close_code::normal, reason.substr(0, 120));
}

void MqttHandler::fail(std::uint8_t reason_5, std::string message, std::uint16_t ws_code) {
  ++context_.counters.protocol_error_closes;
  {
    std::lock_guard lock(farewell_mutex_);
    if (!farewell_)
      farewell_.emplace(reason_5, message);
  }
  socket_->close(ws_code, message.substr(0, 120));
}

void MqttHandler::arm_keep_alive() {
  const auto limit = keep_alive_ * 3 / 2;
  const auto due = last_packet_ + limit;
  timer_->expires_at(due);
  timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec)
      return;
    auto self = weak.lock();
    if (!self || self->state_ != State::connected)
      return;
    if (std::chrono::steady_clock::now() - self->last_packet_ >= self->keep_alive_ * 3 / 2) {
      self->fail(mqtt::reason::keep_alive_timeout, "Keep alive timeout.",
                 core::close_code::going_away);
      return;
    }
    self->arm_keep_alive();
  });
}

void MqttHandler::publish_will() {
  if (!will_pending_ || !session_ || !connect_.will)
    return;
  will_pending_ = false;
  const mqtt::Will& will = *connect_.will;
  const auto& hub = session_->hub();
  if (!group_topic(will.topic) ||
      !hub->permits(session_->id(), core::Permission::send_to_group, will.topic))
    return;
  auto message = std::make_shared<core::Message>();
  message->from = protocol::MessageSource::group;
  message->group = will.topic;
  message->from_user_id = session_->user_id();
  const auto type = level_ == mqtt::k_level_5
                        ? mqtt::data_type_of(will.properties.content_type, will.payload)
                        : protocol::DataType::binary;
  message->payload = protocol::Payload{type, will.payload};
  core::Publication publication;
  publication.hub = hub->name();
  publication.scope = core::Scope::group;
  publication.target = will.topic;
  publication.message = std::move(message);
  hub->publish(publication);
}

void MqttHandler::end(const std::string& reason) {
  if (timer_)
    timer_->cancel();
  const bool was_connected = state_ == State::connected;
  state_ = State::closed;
  if (!was_connected || !session_)
    return;
  publish_will();
  core::MqttDisconnectInfo info;
  info.initiated_by_client = client_disconnected_;
  std::optional<std::uint8_t> server_code;
  {
    std::lock_guard lock(farewell_mutex_);
    if (farewell_)
      server_code = farewell_->first;
  }
  if (client_disconnected_) {
    info.has_packet = true;
    info.code = client_disconnect_code_;
    if (level_ == mqtt::k_level_5) {
      info.user_properties.emplace();
      for (const auto& property : client_disconnect_properties_)
        info.user_properties->emplace_back(property.name, property.value);
    }
  } else if (level_ == mqtt::k_level_5 && server_code) {
    info.has_packet = true;
    info.code = *server_code;
  }
  session_->events()->set_mqtt_disconnect(std::move(info));
  // The session outlives the connection unless it has no expiry or the server ended it
  // (REST close, shutdown).
  const bool ended_by_server = server_code && *server_code == mqtt::reason::administrative_action;
  if (session_expiry_.count() > 0 && !ended_by_server && socket_) {
    session_->detach(session_expiry_, socket_->executor());
    return;
  }
  session_->end_session(reason);
}

SharedFrame MqttHandler::on_closing(Socket&, std::string_view reason) {
  const bool connected = state_ == State::connected;
  std::optional<std::pair<std::uint8_t, std::string>> farewell;
  {
    // A close the handler did not ask for (REST through the hub, shutdown, the transport):
    // administrative action, with the close's reason.
    std::lock_guard lock(farewell_mutex_);
    if (!farewell_ && connected && !client_disconnected_)
      farewell_.emplace(mqtt::reason::administrative_action, std::string(reason));
    farewell = farewell_;
  }
  end(farewell ? farewell->second : std::string(reason));
  if (!connected || !farewell || level_ != mqtt::k_level_5)
    return nullptr;
  mqtt::Disconnect disconnect;
  disconnect.code = farewell->first;
  if (!farewell->second.empty())
    disconnect.properties.reason_string = farewell->second.substr(0, 256);
  return protocol::make_frame(mqtt::encode(disconnect, level_), true);
}

void MqttHandler::on_closed(Socket&, bool) {
  end("");
  socket_.reset();
  session_.reset();
}

}  // namespace wps::handler
