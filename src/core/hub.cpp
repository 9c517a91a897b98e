#include "core/hub.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace wps::core {

namespace {
bool is_excluded(const std::vector<ConnId>& excluded, const ConnId& id) {
  return std::find(excluded.begin(), excluded.end(), id) != excluded.end();
}
}  // namespace

Hub::Hub(std::string name, Broker& broker, HubLimits limits, Metrics* metrics, Loops* loops)
    : name_(std::move(name)),
      broker_(broker),
      limits_(limits),
      own_metrics_(metrics == nullptr ? std::make_unique<Metrics>() : nullptr),
      metrics_(metrics == nullptr ? *own_metrics_ : *metrics),
      stats_(metrics_.hub_stats(name_)),
      loops_(loops) {}

void Hub::trace(const char* kind, const ConnId& id, const std::optional<std::string>& user,
                std::string detail) const {
  TraceEvent event;
  event.kind = kind;
  event.hub = name_;
  event.connection_id = id;
  event.user_id = user.value_or(std::string());
  event.detail = std::move(detail);
  metrics_.tracer.emit(std::move(event));
}

Hub::AddResult Hub::add_connection(const ConnectionInfo& info, std::weak_ptr<Client> client,
                                   const std::function<void()>& on_added) {
  std::lock_guard lock(mutex_);
  if (info.user_id && limits_.max_connections_per_user != 0) {
    const auto* conns = index_.connections_of_user(*info.user_id);
    if (conns != nullptr && conns->size() >= limits_.max_connections_per_user)
      return AddResult::user_limit_reached;
  }
  auto [it, inserted] = connections_.try_emplace(info.id);
  if (inserted) {
    // Its loop for life: a client registering again (a resumed reliable session on a socket of
    // another loop) keeps it, so that what was handed to that loop stays ahead of what follows.
    it->second.loop = this_loop();
    broker_.subscribe_connection(name_, info.id);
    stats_.connections[static_cast<std::size_t>(info.kind)].fetch_add(1, std::memory_order_relaxed);
    if (metrics_.tracer.active())
      trace("connected", info.id, info.user_id, protocol_label(info.kind));
  }
  State& state = it->second;
  if (!inserted) {
    // The same id again (a recovered client): the audiences it is in name its old client.
    if (const auto* groups = index_.groups_of(info.id))
      for (const std::string& group : *groups)
        forget_audience_locked(group);
  }
  // Neither the roles (they become the permissions below) nor the groups (joined below) are
  // kept: an idle connection's entry holds no copies of its token's strings.
  state.info = ConnectionInfo{info.id,      info.user_id,  info.kind,          info.encoder,
                              /*roles=*/{}, /*groups=*/{}, info.group_observer};
  state.client = std::move(client);
  state.permissions = Permissions::from_roles(info.roles);
  if (info.user_id) {
    if (!index_.user_exists(*info.user_id))
      broker_.subscribe_user(name_, *info.user_id);
    index_.add_user(*info.user_id, info.id);
  }
  if (on_added)
    on_added();
  for (const std::string& group : info.groups)
    join_locked(state, group);
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
  stats_.connections[static_cast<std::size_t>(it->second.info.kind)].fetch_sub(
      1, std::memory_order_relaxed);
  if (metrics_.tracer.active())
    trace("disconnected", id, it->second.info.user_id, protocol_label(it->second.info.kind));
  connections_.erase(it);
  broker_.unsubscribe_connection(name_, id);
}

bool Hub::join_locked(State& state, const std::string& group) {
  if (limits_.max_groups_per_connection != 0 &&
      index_.group_count_of(state.info.id) >= limits_.max_groups_per_connection &&
      !index_.is_member(state.info.id, group))
    return false;
  const auto joined = index_.join(state.info.id, group);
  if (joined.inserted)
    forget_audience_locked(group);
  if (joined.first_in_group)
    broker_.subscribe_group(name_, group);
  if (joined.inserted && state.info.group_observer)
    state.info.group_observer->on_group_change(group, true);
  return true;
}

void Hub::leave_locked(const ConnId& id, const std::string& group) {
  const auto left = index_.leave(id, group);
  if (left.removed)
    forget_audience_locked(group);
  if (left.group_now_empty)
    broker_.unsubscribe_group(name_, group);
  if (left.removed)
    notify_left_locked(id, group);
}

void Hub::leave_all_locked(const ConnId& id) {
  std::vector<std::string> left;
  auto it = connections_.find(id);
  const bool observed = it != connections_.end() && it->second.info.group_observer;
  if (const auto* groups = index_.groups_of(id)) {
    for (const std::string& group : *groups)
      forget_audience_locked(group);
    if (observed)
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

bool Hub::permits(const ConnId& id, Permission permission, const std::string& group) const {
  std::lock_guard lock(mutex_);
  auto it = connections_.find(id);
  return it != connections_.end() && it->second.permissions.allows(permission, group);
}

void Hub::publish(const Publication& publication) {
  deliver(publication);
  broker_.publish(publication);
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

void Hub::collect_locked(const ConnId& id, const std::vector<ConnId>& excluded,
                         const protocol::odata::Filter* filter, std::vector<Recipient>& out) const {
  if (is_excluded(excluded, id))
    return;
  auto it = connections_.find(id);
  if (it == connections_.end())
    return;
  if (filter != nullptr && !matches_locked(id, it->second, *filter))
    return;
  if (auto client = it->second.client.lock())
    out.push_back(
        {std::move(client), it->second.info.encoder, it->second.info.kind, it->second.loop});
}

void Hub::snapshot_locked(Scope scope, const std::string& target,
                          const std::vector<ConnId>& excluded,
                          const protocol::odata::Filter* filter,
                          std::vector<Recipient>& out) const {
  switch (scope) {
    case Scope::all:
      out.reserve(connections_.size());
      for (const auto& [cid, state] : connections_)
        collect_locked(cid, excluded, filter, out);
      break;
    case Scope::group:
      if (const auto* members = index_.members(target)) {
        out.reserve(members->size());
        for (const ConnId& cid : *members)
          collect_locked(cid, excluded, filter, out);
      }
      break;
    case Scope::user:
      if (const auto* conns = index_.connections_of_user(target)) {
        for (const ConnId& cid : *conns)
          collect_locked(cid, excluded, filter, out);
      }
      break;
    case Scope::connection:
      collect_locked(target, excluded, filter, out);
      break;
  }
}

std::shared_ptr<const Hub::Audience> Hub::audience_locked(const std::string& group) const {
  auto cached = audiences_.find(group);
  if (cached != audiences_.end())
    return cached->second;
  const auto* members = index_.members(group);
  if (members == nullptr)
    return nullptr;
  auto audience = std::make_shared<Audience>();
  audience->members.reserve(members->size());
  for (const ConnId& cid : *members) {
    auto it = connections_.find(cid);
    if (it == connections_.end())
      continue;
    const ConnectionInfo& info = it->second.info;
    audience->members.push_back({it->second.client, info.encoder, info.kind, it->second.loop});
    ++audience->per_kind[static_cast<std::size_t>(info.kind)];
    if (std::find(audience->encoders.begin(), audience->encoders.end(), info.encoder) ==
        audience->encoders.end())
      audience->encoders.push_back(info.encoder);
  }
  std::stable_sort(
      audience->members.begin(), audience->members.end(),
      [](const Audience::Member& a, const Audience::Member& b) { return a.loop < b.loop; });
  audience->buckets = buckets_of(audience->members);
  std::shared_ptr<const Audience> shared = std::move(audience);
  audiences_.emplace(group, shared);
  return shared;
}

void Hub::Frames::add(const Encoder* encoder, const Message& message) {
  if (find(encoder) != nullptr || count == encoded.size())
    return;
  encoded[count++] = {encoder, encoder->encode(message)};
}

const SharedFrame* Hub::Frames::find(const Encoder* encoder) const {
  for (std::size_t i = 0; i < count; ++i)
    if (encoded[i].first == encoder)
      return &encoded[i].second;
  return nullptr;
}

template <class Items>
std::vector<Hub::Bucket> Hub::buckets_of(const Items& items) {
  std::vector<Bucket> buckets;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (buckets.empty() || buckets.back().loop != items[i].loop)
      buckets.push_back({items[i].loop, i, i});
    buckets.back().end = i + 1;
  }
  return buckets;
}

bool Hub::all_inline(const std::vector<Bucket>& buckets) const {
  const LoopIndex here = this_loop();
  return std::all_of(buckets.begin(), buckets.end(), [&](const Bucket& b) {
    return loops_ == nullptr || b.loop == kNoLoop || b.loop == here;
  });
}

template <class Deliver>
void Hub::fan_out(const std::vector<Bucket>& buckets, const Deliver& deliver) {
  const LoopIndex here = this_loop();
  const auto inline_here = [&](const Bucket& b) {
    return loops_ == nullptr || b.loop == kNoLoop || b.loop == here;
  };
  // The other loops first, so that they work while this one delivers its share.
  for (const Bucket& b : buckets)
    if (!inline_here(b))
      loops_->post(b.loop, [deliver, begin = b.begin, end = b.end] { deliver(begin, end); });
  for (const Bucket& b : buckets)
    if (inline_here(b))
      deliver(b.begin, b.end);
}

namespace {
// Hands `frame` to a recipient; in a cluster that logs publications, numbered to a reliable one.
template <class Recipient>
void hand(const Recipient& r, const SharedFrame& frame, bool logged, std::uint64_t log_seq) {
  if (logged && is_reliable(r.kind))
    r.client->deliver_logged(frame, log_seq);
  else
    r.client->deliver(frame);
}
}  // namespace

void Hub::deliver_members(const Audience& audience, const Frames& frames, const Message& message,
                          std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    const Audience::Member& member = audience.members[i];
    const std::shared_ptr<Client> client = member.client.lock();
    if (!client)
      continue;  // gone, not yet removed from the hub
    if (const SharedFrame* frame = frames.find(member.encoder)) {
      if (*frame)  // null: nothing for this format (a simple client and a stream's empty end)
        client->deliver(*frame);
    } else if (SharedFrame fresh = member.encoder->encode(message)) {
      client->deliver(fresh);  // more formats than slots: encoded per member
    }
  }
}

void Hub::deliver_recipients(const std::vector<Recipient>& recipients, const Frames& frames,
                             const Message& message, bool logged, std::uint64_t log_seq,
                             std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    const Recipient& r = recipients[i];
    if (const SharedFrame* frame = frames.find(r.encoder)) {
      if (*frame)  // null: nothing for this format (a simple client and a stream's empty end)
        hand(r, *frame, logged, log_seq);
    } else if (SharedFrame fresh = r.encoder->encode(message)) {
      hand(r, fresh, logged, log_seq);  // more formats than slots: encoded per recipient
    }
  }
}

void Hub::deliver_to(std::shared_ptr<const Audience> audience, const SharedMessage& message) {
  for (std::size_t k = 0; k < kProtocolKinds; ++k)
    if (audience->per_kind[k] != 0)
      stats_.delivered[k].fetch_add(audience->per_kind[k], std::memory_order_relaxed);
  // Encode once per encoder (one per wire format), here, before any loop sees the publication;
  // every member of a format shares the frame.
  if (all_inline(audience->buckets)) {
    // All on this loop (one loop, or a group that lives on the publisher's): nothing to share.
    Frames frames;
    for (const Encoder* encoder : audience->encoders)
      frames.add(encoder, *message);
    deliver_members(*audience, frames, *message, 0, audience->members.size());
    return;
  }
  auto frames = std::make_shared<Frames>();
  for (const Encoder* encoder : audience->encoders)
    frames->add(encoder, *message);
  std::shared_ptr<const Frames> shared = std::move(frames);
  fan_out(audience->buckets, [audience, shared, message](std::size_t begin, std::size_t end) {
    deliver_members(*audience, *shared, *message, begin, end);
  });
}

void Hub::deliver_to(std::vector<Recipient> recipients, const Publication& publication) {
  // A cluster that logs publications: reliable sessions take them numbered only (from another
  // node or back from the log), the others never twice (not the loopback).
  const bool logged = broker_.logs_publications();
  if (logged) {
    const bool numbered = publication.log_seq != 0 || publication.loopback;
    std::erase_if(recipients, [&](const Recipient& r) {
      return is_reliable(r.kind) ? !numbered : publication.loopback;
    });
    if (recipients.empty())
      return;
  }
  // webpubsub_messages_delivered_total: summed here, one relaxed add per protocol kind.
  std::array<std::uint64_t, kProtocolKinds> delivered{};
  for (const Recipient& r : recipients)
    ++delivered[static_cast<std::size_t>(r.kind)];
  for (std::size_t k = 0; k < kProtocolKinds; ++k)
    if (delivered[k] != 0)
      stats_.delivered[k].fetch_add(delivered[k], std::memory_order_relaxed);
  if (metrics_.tracer.active()) {
    static constexpr const char* kScopes[] = {"all", "group", "user", "connection"};
    std::string detail = std::string("to ") + kScopes[static_cast<int>(publication.scope)];
    if (publication.scope != Scope::all)
      detail += " " + publication.target;
    detail += ": " + std::to_string(recipients.size()) + " recipient(s)";
    trace("published", {}, std::nullopt, std::move(detail));
  }
  // Encode once per encoder (one per wire format), here; every recipient of a format shares
  // the frame.
  const Message& message = *publication.message;
  const LoopIndex here = this_loop();
  if (std::all_of(recipients.begin(), recipients.end(), [&](const Recipient& r) {
        return loops_ == nullptr || r.loop == kNoLoop || r.loop == here;
      })) {
    // All on this loop: no sorting, no sharing, no allocation.
    Frames frames;
    for (const Recipient& r : recipients)
      frames.add(r.encoder, message);
    deliver_recipients(recipients, frames, message, logged, publication.log_seq, 0,
                       recipients.size());
    return;
  }
  std::stable_sort(recipients.begin(), recipients.end(),
                   [](const Recipient& a, const Recipient& b) { return a.loop < b.loop; });
  const std::vector<Bucket> buckets = buckets_of(recipients);
  auto frames = std::make_shared<Frames>();
  for (const Recipient& r : recipients)
    frames->add(r.encoder, message);
  std::shared_ptr<const Frames> shared_frames = std::move(frames);
  auto shared = std::make_shared<const std::vector<Recipient>>(std::move(recipients));
  fan_out(buckets, [shared, shared_frames, message = publication.message, logged,
                    log_seq = publication.log_seq](std::size_t begin, std::size_t end) {
    deliver_recipients(*shared, *shared_frames, *message, logged, log_seq, begin, end);
  });
}

void Hub::deliver(const Publication& publication) {
  std::vector<Recipient> recipients;
  {
    std::unique_lock lock(mutex_);
    // A group publication without exclusions or a filter (a REST or client sendToGroup with
    // echo, a message from another node): the group's shared audience. Not in a cluster that
    // logs publications: there reliable sessions take only numbered ones (deliver_to).
    if (publication.scope == Scope::group && publication.excluded.empty() && !publication.filter &&
        !broker_.logs_publications()) {
      std::shared_ptr<const Audience> audience = audience_locked(publication.target);
      lock.unlock();
      if (metrics_.tracer.active())
        trace("published", {}, std::nullopt,
              "to group " + publication.target + ": " +
                  std::to_string(audience ? audience->members.size() : 0) + " recipient(s)");
      if (audience)
        deliver_to(std::move(audience), publication.message);
      return;
    }
    snapshot_locked(publication.scope, publication.target, publication.excluded,
                    publication.filter.get(), recipients);
  }
  deliver_to(std::move(recipients), publication);
}

bool Hub::addresses(const Publication& publication, const ConnId& id) const {
  std::lock_guard lock(mutex_);
  if (is_excluded(publication.excluded, id))
    return false;
  auto it = connections_.find(id);
  if (it == connections_.end())
    return false;
  bool in_scope = false;
  switch (publication.scope) {
    case Scope::all:
      in_scope = true;
      break;
    case Scope::group:
      in_scope = index_.is_member(id, publication.target);
      break;
    case Scope::user:
      in_scope = it->second.info.user_id == publication.target;
      break;
    case Scope::connection:
      in_scope = id == publication.target;
      break;
  }
  return in_scope &&
         (publication.filter == nullptr || matches_locked(id, it->second, *publication.filter));
}

std::vector<std::string> Hub::groups_of(const ConnId& id) const {
  std::vector<std::string> out;
  std::lock_guard lock(mutex_);
  if (const auto* groups = index_.groups_of(id))
    out.assign(groups->begin(), groups->end());
  std::sort(out.begin(), out.end());
  return out;
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

void Hub::close_scope(Scope scope, const std::string& target, const std::vector<ConnId>& excluded,
                      std::uint16_t code, const std::string& reason) {
  std::vector<Recipient> recipients;
  {
    std::lock_guard lock(mutex_);
    snapshot_locked(scope, target, excluded, nullptr, recipients);
  }
  for (Recipient& r : recipients)
    r.client->close(code, reason);
}

void Hub::close_connection(const ConnId& id, std::uint16_t code, const std::string& reason) {
  close_scope(Scope::connection, id, {}, code, reason);
}

void Hub::close_all(const std::vector<ConnId>& excluded, std::uint16_t code,
                    const std::string& reason) {
  close_scope(Scope::all, {}, excluded, code, reason);
}

void Hub::close_group(const std::string& group, const std::vector<ConnId>& excluded,
                      std::uint16_t code, const std::string& reason) {
  close_scope(Scope::group, group, excluded, code, reason);
}

void Hub::close_user(const std::string& user, const std::vector<ConnId>& excluded,
                     std::uint16_t code, const std::string& reason) {
  close_scope(Scope::user, user, excluded, code, reason);
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

std::size_t Hub::user_count() const {
  std::lock_guard lock(mutex_);
  return index_.user_count();
}

std::size_t Hub::group_count() const {
  std::lock_guard lock(mutex_);
  return index_.group_count();
}

std::size_t Hub::user_connection_count(const std::string& user) const {
  std::lock_guard lock(mutex_);
  const auto* conns = index_.connections_of_user(user);
  return conns == nullptr ? 0 : conns->size();
}

}  // namespace wps::core
