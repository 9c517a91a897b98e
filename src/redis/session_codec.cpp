#include "redis/session_codec.hpp"

#include <boost/json.hpp>
#include <charconv>

namespace wps::redis {

namespace json = boost::json;

namespace {
constexpr std::size_t kMaxText = 1024;      // hub, id, user, role, group
constexpr std::size_t kMaxItems = 100'000;  // roles, groups, ack ids
constexpr core::ProtocolKind kReliableKinds[] = {core::ProtocolKind::json_reliable,
                                                 core::ProtocolKind::protobuf_reliable};

std::optional<std::string> text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string() || v->as_string().size() > kMaxText)
    return std::nullopt;
  return std::string(v->as_string());
}

bool strings(const json::object& o, std::string_view key, std::vector<std::string>& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array() || v->as_array().size() > kMaxItems)
    return false;
  for (const json::value& item : v->as_array()) {
    if (!item.is_string() || item.as_string().size() > kMaxText)
      return false;
    out.emplace_back(item.as_string());
  }
  return true;
}

bool unsigned_of(const json::value& v, std::uint64_t& out) {
  if (v.is_uint64()) {
    out = v.as_uint64();
    return true;
  }
  if (v.is_int64() && v.as_int64() >= 0) {
    out = static_cast<std::uint64_t>(v.as_int64());
    return true;
  }
  return false;
}
}  // namespace

std::string encode_session_state(const core::SessionState& state) {
  json::object o;
  o["v"] = 1;
  o["hub"] = state.hub;
  o["id"] = state.connection_id;
  if (state.user_id)
    o["user"] = *state.user_id;
  else
    o["user"] = nullptr;
  const std::string* kind = core::protocol_name(state.kind);
  o["kind"] = kind != nullptr ? *kind : std::string();
  json::array roles, groups, acks;
  for (const auto& r : state.roles)
    roles.emplace_back(r);
  for (const auto& g : state.groups)
    groups.emplace_back(g);
  for (std::uint64_t a : state.ack_ids)
    acks.emplace_back(a);
  o["roles"] = std::move(roles);
  o["groups"] = std::move(groups);
  o["ackIds"] = std::move(acks);
  o["acked"] = state.acked;
  return json::serialize(o);
}

std::optional<core::SessionState> decode_session_state(std::string_view text_in) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text_in, ec);
  if (ec || !parsed.is_object())
    return std::nullopt;
  const json::object& o = parsed.as_object();
  const json::value* version = o.if_contains("v");
  if (version == nullptr || !version->is_int64() || version->as_int64() != 1)
    return std::nullopt;
  core::SessionState state;
  auto hub = text(o, "hub");
  auto id = text(o, "id");
  auto kind = text(o, "kind");
  if (!hub || !id || !kind || hub->empty() || id->empty())
    return std::nullopt;
  state.hub = std::move(*hub);
  state.connection_id = std::move(*id);
  bool known_kind = false;
  for (core::ProtocolKind k : kReliableKinds) {
    if (*core::protocol_name(k) == *kind) {
      state.kind = k;
      known_kind = true;
    }
  }
  if (!known_kind)
    return std::nullopt;
  const json::value* user = o.if_contains("user");
  if (user == nullptr)
    return std::nullopt;
  if (!user->is_null()) {
    auto u = text(o, "user");
    if (!u)
      return std::nullopt;
    state.user_id = std::move(*u);
  }
  if (!strings(o, "roles", state.roles) || !strings(o, "groups", state.groups))
    return std::nullopt;
  const json::value* acks = o.if_contains("ackIds");
  if (acks == nullptr || !acks->is_array() || acks->as_array().size() > kMaxItems)
    return std::nullopt;
  for (const json::value& a : acks->as_array()) {
    std::uint64_t n = 0;
    if (!unsigned_of(a, n))
      return std::nullopt;
    state.ack_ids.push_back(n);
  }
  const json::value* acked = o.if_contains("acked");
  if (acked == nullptr || !unsigned_of(*acked, state.acked))
    return std::nullopt;
  return state;
}

std::optional<LoggedHeader> split_logged(std::string_view payload) {
  if (payload.empty() || payload.front() != kLoggedMarker)
    return std::nullopt;
  LoggedHeader header;
  const std::size_t colon = payload.find(':', 1);
  if (colon == std::string_view::npos || colon == 1 || colon > 21)
    return header;
  std::uint64_t seq = 0;
  const char* first = payload.data() + 1;
  const char* last = payload.data() + colon;
  auto [end, ec] = std::from_chars(first, last, seq);
  if (ec != std::errc() || end != last || seq == 0)
    return header;
  header.seq = seq;
  header.envelope = payload.substr(colon + 1);
  return header;
}

}  // namespace wps::redis
