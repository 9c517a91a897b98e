#include "core/hub.hpp"

#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>

#include "core/frames.hpp"

namespace wps::core {

namespace {
bool is_excluded(const std::vector<ConnId>& excluded, const ConnId& id) {
  return std::find(excluded.begin(), excluded.end(), id) != excluded.end();
}
}  // namespace

Hub::Hub(std::string name, Broker& broker, HubLimits limits)
    : name_(std::move(name)), broker_(broker), limits_(limits) {}

Hub::AddResult Hub::add_connection(const ConnectionInfo& info,
                                   std::weak_ptr<Connection> connection) {
  std::shared_ptr<Connection> sink = connection.lock();
  {
    std::lock_guard lock(mutex_);
    if (info.user_id && limits_.max_connections_per_user != 0) {
      const auto* conns = index_.connections_of_user(*info.user_id);
      if (conns != nullptr && conns->size() >= limits_.max_connections_per_user)
        return AddResult::user_limit_reached;
    }
    auto [it, inserted] = connections_.try_emplace(info.id);
    if (inserted)
      broker_.subscribe_connection(name_, info.id);
    State& state = it->second;
    state.info = info;
    state.info.groups.clear();
    state.sink = std::move(connection);
    state.permissions = Permissions::from_roles(info.roles);
    if (info.user_id) {
      if (!index_.user_exists(*info.user_id))
        broker_.subscribe_user(name_, *info.user_id);
      index_.add_user(*info.user_id, info.id);
    }
    for (const std::string& group : info.groups)
      join_locked(state, group);
    // Sent under the lock so that no group message can overtake the `connected` message.
    if (sink) {
      if (SharedFrame frame =
              encode_connected(info.kind, info.id, info.user_id, info.reconnection_token))
        sink->send(std::move(frame));
    }
  }
  return AddResult::added;
}

void Hub::remove_connection(const ConnId& id) {
  std::lock_guard lock(mutex_);
  auto it = connections_.find(id);
  if (it == connections_.end())
    return;
  leave_all_locked(id);
  if (const auto& user = it->second.info.user_id) {
    index_.remove_user(*user, id);
    if (!index_.user_exists(*user))
      broker_.unsubscribe_user(name_, *user);
  }
  connections_.erase(it);
  broker_.unsubscribe_connection(name_, id);
}

bool Hub::join_locked(State& state, const std::string& group) {
  if (limits_.max_groups_per_connection != 0 &&
      index_.group_count_of(state.info.id) >= limits_.max_groups_per_connection &&
      !index_.is_member(state.info.id, group))
    return false;
  const auto joined = index_.join(state.info.id, group);
  if (joined.first_in_group)
    broker_.subscribe_group(name_, group);
  if (joined.inserted && state.info.group_observer)
    state.info.group_observer->on_group_change(group, true);
  return true;
}

void Hub::leave_locked(const ConnId& id, const std::string& group) {
  const auto left = index_.leave(id, group);
  if (left.group_now_empty)
    broker_.unsubscribe_group(name_, group);
  if (left.removed)
    notify_left_locked(id, group);
}

void Hub::leave_all_locked(const ConnId& id) {
  std::vector<std::string> left;
  auto it = connections_.find(id);
  const bool observed = it != connections_.end() && it->second.info.group_observer;
  if (observed) {
    if (const auto* groups = index_.groups_of(id))
      left.assign(groups->begin(), groups->end());
  }
  for (const std::string& group : index_.leave_all(id))
    broker_.unsubscribe_group(name_, group);
  if (observed) {
    std::sort(left.begin(), left.end());
    for (const std::string& group : left)
      it->second.info.group_observer->on_group_change(group, false);
  }
}

void Hub::notify_left_locked(const ConnId& id, const std::string& group) const {
  auto it = connections_.find(id);
  if (it != connections_.end() && it->second.info.group_observer)
    it->second.info.group_observer->on_group_change(group, false);
}

void Hub::remember_ack_locked(State& state, std::uint64_t ack_id) {
  if (!state.acked.insert(ack_id).second)
    return;
  state.acked_order.push_back(ack_id);
  if (state.acked_order.size() > limits_.max_remembered_ack_ids) {
    state.acked.erase(state.acked_order.front());
    state.acked_order.pop_front();
  }
}

void Hub::send_ack(const std::shared_ptr<Connection>& connection, ProtocolKind kind,
                   std::uint64_t ack_id, std::string_view error_name, std::string error_message) {
  if (!connection)
    return;
  protocol::Ack ack{ack_id, std::nullopt};
  if (!error_name.empty())
    ack.error = protocol::AckError{std::string(error_name), std::move(error_message)};
  if (SharedFrame frame = encode_ack(kind, ack))
    connection->send(std::move(frame));
}

void Hub::publish(Publication&& publication) {
  broker_.publish(publication);
}

std::optional<CloseRequest> Hub::on_client_message(const ConnId& id,
                                                   protocol::ClientMessage&& message) {
  std::shared_ptr<Connection> connection;
  ProtocolKind kind = ProtocolKind::json;
  std::optional<std::string> user_id;
  // Outcome decided under the lock; I/O after it.
  std::optional<std::uint64_t> ack_id;
  std::string_view error_name;
  std::string error_message;
  std::optional<Publication> to_publish;
  bool pong = false;

  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(id);
    if (it == connections_.end())
      return std::nullopt;
    State& state = it->second;
    connection = state.sink.lock();
    kind = state.info.kind;
    user_id = state.info.user_id;

    auto duplicate = [&](const std::optional<std::uint64_t>& ack) {
      if (ack && state.acked.contains(*ack)) {
        error_name = protocol::ack_error::duplicate;
        error_message = "Message with ack-id: " + std::to_string(*ack) + " has been processed";
        return true;
      }
      return false;
    };

    std::visit(
        [&](auto& m) {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, protocol::JoinGroup> ||
                        std::is_same_v<T, protocol::LeaveGroup>) {
            constexpr bool join = std::is_same_v<T, protocol::JoinGroup>;
            ack_id = m.ack_id;
            if (duplicate(m.ack_id))
              return;
            if (!state.permissions.allows(Permission::join_leave_group, m.group)) {
              error_name = protocol::ack_error::forbidden;
              error_message = std::string("The client does not have permission to ") +
                              (join ? "join" : "leave") + " group '" + m.group + "'.";
              return;
            }
            if constexpr (join) {
              if (!join_locked(state, m.group)) {
                error_name = protocol::ack_error::bad_request;
                error_message = "The connection is already in the maximum number of groups (" +
                                std::to_string(limits_.max_groups_per_connection) + ").";
                return;
              }
            } else {
              leave_locked(id, m.group);
            }
            if (m.ack_id)
              remember_ack_locked(state, *m.ack_id);
          } else if constexpr (std::is_same_v<T, protocol::SendToGroup>) {
            ack_id = m.ack_id;
            if (duplicate(m.ack_id))
              return;
            if (!state.permissions.allows(Permission::send_to_group, m.group)) {
              error_name = protocol::ack_error::forbidden;
              error_message =
                  "The client does not have permission to send to group '" + m.group + "'.";
              return;
            }
            auto msg = std::make_shared<Message>();
            msg->from = protocol::MessageSource::group;
            msg->group = m.group;
            msg->from_user_id = user_id;
            msg->payload = std::move(m.data);
            Publication pub;
            pub.hub = name_;
            pub.scope = Scope::group;
            pub.target = std::move(m.group);
            pub.message = std::move(msg);
            if (m.no_echo)
              pub.excluded.push_back(id);
            to_publish = std::move(pub);
            if (m.ack_id)
              remember_ack_locked(state, *m.ack_id);
          } else if constexpr (std::is_same_v<T, protocol::Event>) {
            ack_id = m.ack_id;
            if (duplicate(m.ack_id))
              return;
            // No event handler is configured (webhooks are not wired yet): the service answers
            // an acked event with InternalServerError and keeps the connection (spec §8.7).
            error_name = protocol::ack_error::internal_server_error;
            error_message = "No event handler is configured for event '" + m.event + "'.";
          } else if constexpr (std::is_same_v<T, protocol::Ping>) {
            pong = true;
          } else {
            // SequenceAck: meaningful on reliable protocols only; ignored here.
          }
        },
        message);
  }

  if (to_publish)
    publish(std::move(*to_publish));
  if (pong && connection) {
    if (SharedFrame frame = encode_pong(kind))
      connection->send(std::move(frame));
  }
  if (ack_id)
    send_ack(connection, kind, *ack_id, error_name, std::move(error_message));
  return std::nullopt;
}

bool Hub::reject_duplicate(const ConnId& id, std::uint64_t ack_id) {
  std::shared_ptr<Connection> connection;
  ProtocolKind kind;
  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(id);
    if (it == connections_.end() || !it->second.acked.contains(ack_id))
      return false;
    connection = it->second.sink.lock();
    kind = it->second.info.kind;
  }
  send_ack(connection, kind, ack_id, protocol::ack_error::duplicate,
           "Message with ack-id: " + std::to_string(ack_id) + " has been processed");
  return true;
}

void Hub::complete_event(const ConnId& id, std::optional<std::uint64_t> ack_id, bool success,
                         std::string error_message) {
  if (!ack_id)
    return;
  std::shared_ptr<Connection> connection;
  ProtocolKind kind;
  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(id);
    if (it == connections_.end())
      return;
    if (success)
      remember_ack_locked(it->second, *ack_id);
    connection = it->second.sink.lock();
    kind = it->second.info.kind;
  }
  if (success)
    send_ack(connection, kind, *ack_id);
  else
    send_ack(connection, kind, *ack_id, protocol::ack_error::internal_server_error,
             std::move(error_message));
}

std::optional<CloseRequest> Hub::on_simple_message(const ConnId&, protocol::Payload&&) {
  // Every frame of a simple client is a `message` user event for the event handler. With no
  // handler configured the service drops the connection (spec §6.2; the emulator uses 1011).
  return CloseRequest{close_code::internal_error,
                      "No event handler is configured for the 'message' event."};
}

bool Hub::matches_locked(const ConnId& id, const State& state,
                         const protocol::odata::Filter& filter) const {
  protocol::odata::FilterSubject subject;
  subject.connection_id = id;
  subject.user_id = state.info.user_id ? &*state.info.user_id : nullptr;
  subject.groups = index_.groups_of(id);
  subject.protocol = protocol_name(state.info.kind);
  return filter.matches(subject);
}

void Hub::collect(const ConnId& id, const std::vector<ConnId>& excluded,
                  std::vector<Recipient>& out, const protocol::odata::Filter* filter) const {
  if (is_excluded(excluded, id))
    return;
  auto it = connections_.find(id);
  if (it == connections_.end())
    return;
  if (filter != nullptr && !matches_locked(id, it->second, *filter))
    return;
  if (auto sink = it->second.sink.lock())
    out.push_back({std::move(sink), it->second.info.kind});
}

void Hub::deliver(const Publication& publication) {
  std::vector<Recipient> recipients;
  const protocol::odata::Filter* filter = publication.filter.get();
  const std::vector<ConnId>& excluded = publication.excluded;
  {
    std::lock_guard lock(mutex_);
    switch (publication.scope) {
      case Scope::all:
        recipients.reserve(connections_.size());
        for (const auto& [cid, state] : connections_)
          collect(cid, excluded, recipients, filter);
        break;
      case Scope::group:
        if (const auto* members = index_.members(publication.target)) {
          recipients.reserve(members->size());
          for (const ConnId& cid : *members)
            collect(cid, excluded, recipients, filter);
        }
        break;
      case Scope::user:
        if (const auto* conns = index_.connections_of_user(publication.target)) {
          for (const ConnId& cid : *conns)
            collect(cid, excluded, recipients, filter);
        }
        break;
      case Scope::connection:
        collect(publication.target, excluded, recipients, filter);
        break;
    }
  }
  // Encode once per protocol kind; every recipient of that kind shares the frame.
  std::array<SharedFrame, kProtocolKindCount> encoded;
  for (Recipient& r : recipients) {
    SharedFrame& frame = encoded[static_cast<std::size_t>(r.kind)];
    if (!frame)
      frame = encode_message(r.kind, *publication.message);
    r.connection->send(frame);
  }
}

bool Hub::connection_exists(const ConnId& id) const {
  std::lock_guard lock(mutex_);
  return connections_.contains(id);
}

bool Hub::user_exists(const std::string& user) const {
  std::lock_guard lock(mutex_);
  return index_.user_exists(user);
}

bool Hub::group_exists(const std::string& group) const {
  std::lock_guard lock(mutex_);
  return index_.group_exists(group);
}

Hub::JoinResult Hub::add_to_group(const ConnId& id, const std::string& group) {
  std::lock_guard lock(mutex_);
  auto it = connections_.find(id);
  if (it == connections_.end())
    return JoinResult::unknown_connection;
  return join_locked(it->second, group) ? JoinResult::joined : JoinResult::group_limit_reached;
}

void Hub::remove_from_group(const ConnId& id, const std::string& group) {
  std::lock_guard lock(mutex_);
  leave_locked(id, group);
}

void Hub::remove_from_all_groups(const ConnId& id) {
  std::lock_guard lock(mutex_);
  leave_all_locked(id);
}

bool Hub::add_user_to_group(const std::string& user, const std::string& group) {
  std::lock_guard lock(mutex_);
  const auto* conns = index_.connections_of_user(user);
  if (conns == nullptr)
    return false;
  const std::vector<ConnId> ids(conns->begin(), conns->end());
  for (const ConnId& id : ids) {
    auto it = connections_.find(id);
    if (it != connections_.end())
      join_locked(it->second, group);
  }
  return true;
}

void Hub::remove_user_from_group(const std::string& user, const std::string& group) {
  std::lock_guard lock(mutex_);
  const auto* conns = index_.connections_of_user(user);
  if (conns == nullptr)
    return;
  const std::vector<ConnId> ids(conns->begin(), conns->end());
  for (const ConnId& id : ids)
    leave_locked(id, group);
}

void Hub::remove_user_from_all_groups(const std::string& user) {
  std::lock_guard lock(mutex_);
  const auto* conns = index_.connections_of_user(user);
  if (conns == nullptr)
    return;
  const std::vector<ConnId> ids(conns->begin(), conns->end());
  for (const ConnId& id : ids)
    leave_all_locked(id);
}

void Hub::add_to_groups(const std::vector<std::string>& groups,
                        const std::shared_ptr<const protocol::odata::Filter>& filter) {
  std::lock_guard lock(mutex_);
  for (auto& [cid, state] : connections_) {
    if (filter && !matches_locked(cid, state, *filter))
      continue;
    for (const std::string& group : groups)
      join_locked(state, group);
  }
}

void Hub::remove_from_groups(const std::vector<std::string>& groups,
                             const std::shared_ptr<const protocol::odata::Filter>& filter) {
  std::lock_guard lock(mutex_);
  // Decide on the memberships before changing any, so that a filter on `groups` sees the same
  // state for every connection.
  std::vector<ConnId> matched;
  for (const auto& [cid, state] : connections_)
    if (!filter || matches_locked(cid, state, *filter))
      matched.push_back(cid);
  for (const ConnId& cid : matched)
    for (const std::string& group : groups)
      leave_locked(cid, group);
}

void Hub::close_each(std::vector<Recipient>& recipients, std::uint16_t code,
                     const std::string& reason) {
  for (Recipient& r : recipients)
    r.connection->close(code, reason);
}

void Hub::close_connection(const ConnId& id, std::uint16_t code, const std::string& reason) {
  std::vector<Recipient> recipients;
  {
    std::lock_guard lock(mutex_);
    collect(id, {}, recipients);
  }
  close_each(recipients, code, reason);
}

void Hub::close_all(const std::vector<ConnId>& excluded, std::uint16_t code,
                    const std::string& reason) {
  std::vector<Recipient> recipients;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [cid, state] : connections_)
      collect(cid, excluded, recipients);
  }
  close_each(recipients, code, reason);
}

void Hub::close_group(const std::string& group, const std::vector<ConnId>& excluded,
                      std::uint16_t code, const std::string& reason) {
  std::vector<Recipient> recipients;
  {
    std::lock_guard lock(mutex_);
    if (const auto* members = index_.members(group))
      for (const ConnId& cid : *members)
        collect(cid, excluded, recipients);
  }
  close_each(recipients, code, reason);
}

void Hub::close_user(const std::string& user, const std::vector<ConnId>& excluded,
                     std::uint16_t code, const std::string& reason) {
  std::vector<Recipient> recipients;
  {
    std::lock_guard lock(mutex_);
    if (const auto* conns = index_.connections_of_user(user))
      for (const ConnId& cid : *conns)
        collect(cid, excluded, recipients);
  }
  close_each(recipients, code, reason);
}

bool Hub::grant_permission(const ConnId& id, Permission permission,
                           const std::optional<std::string>& target) {
  std::lock_guard lock(mutex_);
  auto it = connections_.find(id);
  if (it == connections_.end())
    return false;
  it->second.permissions.grant(permission, target);
  return true;
}

void Hub::revoke_permission(const ConnId& id, Permission permission,
                            const std::optional<std::string>& target) {
  std::lock_guard lock(mutex_);
  auto it = connections_.find(id);
  if (it != connections_.end())
    it->second.permissions.revoke(permission, target);
}

bool Hub::check_permission(const ConnId& id, Permission permission,
                           const std::optional<std::string>& target) const {
  std::lock_guard lock(mutex_);
  auto it = connections_.find(id);
  return it != connections_.end() && it->second.permissions.check(permission, target);
}

std::vector<Hub::Member> Hub::list_group(const std::string& group, const std::string& after,
                                         std::size_t limit) const {
  std::vector<Member> result;
  std::lock_guard lock(mutex_);
  const auto* members = index_.members(group);
  if (members == nullptr)
    return result;
  std::vector<const ConnId*> ids;
  ids.reserve(members->size());
  for (const ConnId& id : *members)
    if (id > after)
      ids.push_back(&id);
  std::sort(ids.begin(), ids.end(), [](const ConnId* a, const ConnId* b) { return *a < *b; });
  if (ids.size() > limit)
    ids.resize(limit);
  for (const ConnId* id : ids) {
    auto it = connections_.find(*id);
    result.push_back({*id, it == connections_.end() ? std::nullopt : it->second.info.user_id});
  }
  return result;
}

std::size_t Hub::connection_count() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

std::size_t Hub::user_connection_count(const std::string& user) const {
  std::lock_guard lock(mutex_);
  const auto* conns = index_.connections_of_user(user);
  return conns == nullptr ? 0 : conns->size();
}

}  // namespace wps::core
