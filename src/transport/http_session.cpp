#include "transport/http_session.hpp"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <chrono>

#include "protocol/names.hpp"
#include "transport/handshake.hpp"
#include "transport/websocket_session.hpp"
#include "util/ids.hpp"
#include "util/log.hpp"
#include "webhook/dispatcher.hpp"

namespace wps::transport {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

http::response<http::string_body> make_error_response(unsigned status, std::string_view code,
                                                      std::string_view message, unsigned version,
                                                      bool keep_alive, bool head) {
  http::response<http::string_body> response{static_cast<http::status>(status), version};
  response.set(http::field::server, "webpubsub-server");
  response.set("x-ms-error-code", code);
  if (!head) {
    boost::json::object body;
    body["code"] = code;
    body["message"] = message;
    response.set(http::field::content_type, "application/json; charset=utf-8");
    response.body() = boost::json::serialize(body);
  }
  response.keep_alive(keep_alive);
  response.prepare_payload();
  return response;
}

template <class Stream>
HttpSession<Stream>::HttpSession(boost::asio::ip::tcp::socket&& socket, ServerContext& context,
                                 std::shared_ptr<boost::asio::ssl::context> tls)
    : tls_(std::move(tls)),
      stream_(open_stream<Stream>(std::move(socket), tls_.get())),
      context_(context) {}

template <class Stream>
void HttpSession<Stream>::run() {
  // Start on the session's strand.
  boost::asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
    if constexpr (kIsTls<Stream>) {
      // The TLS handshake shares the handshake timeout with the first request.
      beast::get_lowest_layer(self->stream_)
          .expires_after(self->context_.config.limits.handshake_timeout);
      self->stream_.async_handshake(boost::asio::ssl::stream_base::server,
                                    beast::bind_front_handler(&HttpSession::on_handshake, self));
    } else {
      self->do_read();
    }
  });
}

template <class Stream>
void HttpSession<Stream>::on_handshake(beast::error_code ec) {
  if (ec) {
    // Plain HTTP to the TLS port, a client that does not trust us, garbage: this socket only.
    WPS_LOG(debug, "http") << "TLS handshake failed: " << ec.message();
    return;
  }
  do_read();
}

template <class Stream>
void HttpSession<Stream>::do_read() {
  const config::Limits& limits = context_.config.limits;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(limits.max_http_header_bytes));
  parser_->body_limit(limits.max_http_body_bytes);
  // The first request must arrive within the handshake timeout; later ones (keep-alive) within
  // the HTTP idle timeout.
  beast::get_lowest_layer(stream_).expires_after(first_request_ ? limits.handshake_timeout
                                                                : limits.http_idle_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream)
    return do_shutdown();
  if (ec) {
    unsigned status = 0;
    std::string_view code;
    if (ec == http::error::body_limit) {
      status = 413;
      code = "PayloadTooLarge";
    } else if (ec == http::error::header_limit) {
      status = 431;
      code = "RequestHeaderFieldsTooLarge";
    } else if (ec != beast::error::timeout && ec != boost::asio::error::operation_aborted &&
               ec != boost::asio::error::connection_reset && ec != boost::asio::error::eof) {
      status = 400;
      code = "BadRequest";
    }
    if (status == 0)
      return;  // the connection is gone or timed out: nothing to answer
    write(make_error_response(status, code, "Malformed or oversized HTTP request.", 11, false,
                              false));
    return;
  }
  first_request_ = false;
  Request request = parser_->release();
  const std::string_view target = request.target();
  const bool head = request.method() == http::verb::head;

  if (websocket::is_upgrade(request) || is_client_endpoint(target)) {
    handle_client_endpoint(std::move(request));
    return;
  }

  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/api/health" || path == "/api/health/") {
    if (request.method() != http::verb::get && !head) {
      write(make_error_response(405, "MethodNotAllowed", "Use GET or HEAD.", request.version(),
                                request.keep_alive(), false));
      return;
    }
    Response response{http::status::ok, request.version()};
    response.set(http::field::server, "webpubsub-server");
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    write(std::move(response));
    return;
  }
  if (path.starts_with("/api/") && context_.rest_handler && context_.rest_offload) {
    auto shared = std::make_shared<Request>(std::move(request));
    context_.rest_offload([self = this->shared_from_this(), shared] {
      auto response = std::make_shared<Response>(self->context_.rest_handler(*shared));
      boost::asio::post(self->stream_.get_executor(), [self, shared, response] {
        response->keep_alive(shared->keep_alive() && response->keep_alive());
        self->write(std::move(*response));
      });
    });
    return;
  }
  if (path.starts_with("/api/") && context_.rest_handler) {
    Response response = context_.rest_handler(request);
    response.keep_alive(request.keep_alive() && response.keep_alive());
    write(std::move(response));
    return;
  }
  write(make_error_response(404, "NotFound", "No such endpoint.", request.version(),
                            request.keep_alive(), head));
}

template <class Stream>
void HttpSession<Stream>::handle_client_endpoint(Request&& request) {
  HandshakeRequest hs;
  hs.target = request.target();
  hs.host = request[http::field::host];
  hs.authorization = request[http::field::authorization];
  hs.is_websocket_upgrade = websocket::is_upgrade(request);
  if (hs.is_websocket_upgrade) {
    // RFC 6455 §4.2.1: version 13 only (426 names it), and a key of 16 base64 bytes.
    if (request[http::field::sec_websocket_version] != "13") {
      auto response =
          make_error_response(426, "UpgradeRequired", "Only WebSocket version 13 is supported.",
                              request.version(), false, false);
      response.set(http::field::sec_websocket_version, "13");
      write(std::move(response));
      return;
    }
    if (!is_websocket_key(request[http::field::sec_websocket_key])) {
      write(make_error_response(400, "BadRequest", "Missing or invalid Sec-WebSocket-Key.",
                                request.version(), false, false));
      return;
    }
  }
  const auto protocols = request.equal_range(http::field::sec_websocket_protocol);
  for (auto it = protocols.first; it != protocols.second; ++it)
    split_protocols(it->value(), hs.offered_protocols);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  HandshakeDecision decision = decide_handshake(hs, context_.config, now);
  if (auto* rejected = std::get_if<HandshakeReject>(&decision)) {
    ++context_.counters.handshakes_rejected;
    WPS_LOG(debug, "http") << "client handshake refused: " << rejected->status << " "
                           << rejected->message;
    write(make_error_response(rejected->status, rejected->code, rejected->message,
                              request.version(), false, false));
    return;
  }
  auto& accept = std::get<HandshakeAccept>(decision);
  const config::Limits& limits = context_.config.limits;
  if (limits.max_connections != 0 && context_.open_websockets.load() >= limits.max_connections) {
    ++context_.counters.handshakes_rejected;
    write(make_error_response(429, "ConnectionCountLimitReached",
                              "The server has reached its maximum number of connections.",
                              request.version(), false, false));
    return;
  }
  // A recovering reliable client's logical connection is still counted in its hub: it is not a
  // new connection there.
  if (!accept.recover_connection_id &&
      (limits.max_connections_per_hub != 0 || limits.max_connections_per_user != 0)) {
    const auto hub = context_.node.find_hub(accept.hub);
    std::string_view refusal;
    if (hub && limits.max_connections_per_hub != 0 &&
        hub->connection_count() >= limits.max_connections_per_hub)
      refusal = "The hub has reached its maximum number of connections.";
    // The hub checks the user limit again when the connection joins (a connect handler may
    // change the user id); refusing here gives the client a status instead of a 1008 close.
    else if (hub && limits.max_connections_per_user != 0 && accept.user_id &&
             hub->user_connection_count(*accept.user_id) >= limits.max_connections_per_user)
      refusal = "The user has reached the maximum number of connections.";
    if (!refusal.empty()) {
      ++context_.counters.handshakes_rejected;
      write(make_error_response(429, "ConnectionCountLimitReached", refusal, request.version(),
                                false, false));
      return;
    }
  }
  webhook::ConnectionContext upstream_context;
  upstream_context.hub = accept.hub;
  upstream_context.connection_id = util::random_hex_id();
  upstream_context.user_id = accept.user_id;
  upstream_context.subprotocol = accept.subprotocol;
  auto upstream = std::make_shared<Upstream>(context_.dispatcher, std::move(upstream_context));
  if (!accept.recover_connection_id && upstream->has_handler("connect", false)) {
    call_connect(std::move(request), std::move(accept), std::move(upstream), hs.offered_protocols);
    return;
  }
  start_websocket(std::move(request), std::move(accept), std::move(upstream));
}

template <class Stream>
void HttpSession<Stream>::start_websocket(Request&& request, HandshakeAccept&& accept,
                                          std::shared_ptr<Upstream> upstream) {
  beast::get_lowest_layer(stream_).expires_never();
  core::ConnId id = upstream->snapshot().connection_id;
  // What the client sent after its upgrade request is the start of its WebSocket input.
  std::string early = beast::buffers_to_string(buffer_.data());
  buffer_.clear();
  const core::ProtocolKind kind = accept.kind;
  std::make_shared<WebSocketSession<Stream>>(std::move(stream_), context_, kind, std::move(id),
                                             std::move(upstream), tls_)
      ->run(std::move(accept), websocket_accept_key(request[http::field::sec_websocket_key]),
            std::move(early));
}

template <class Stream>
void HttpSession<Stream>::call_connect(Request&& request, HandshakeAccept&& accept,
                                       std::shared_ptr<Upstream> upstream,
                                       const std::vector<std::string_view>& offered) {
  // The `connect` event (spec §8.5): blocking, before the upgrade. Its body lists the claims,
  // the query (without the token), the headers (without Authorization) and the subprotocols.
  webhook::ConnectRequest body;
  body.claims = accept.claims;
  if (auto parsed = boost::urls::parse_origin_form(request.target())) {
    for (auto param : parsed->params()) {
      if (param.key == "access_token")
        continue;
      body.query[std::string(param.key)].emplace_back(param.has_value ? std::string(param.value)
                                                                      : std::string());
    }
  }
  for (const auto& field : request) {
    if (field.name() == http::field::authorization)
      continue;
    body.headers[std::string(field.name_string())].emplace_back(field.value());
  }
  for (std::string_view p : offered)
    body.subprotocols.emplace_back(p);
  // The handler has event_handler_timeout to answer; the client waits that long.
  beast::get_lowest_layer(stream_).expires_after(context_.config.limits.event_handler_timeout +
                                                 std::chrono::seconds(5));
  auto pending = std::make_shared<PendingUpgrade>(
      PendingUpgrade{std::move(request), std::move(accept), upstream});
  upstream->dispatcher()->connect(
      upstream->snapshot(), std::move(body),
      [self = this->shared_from_this(), pending](webhook::ConnectResult result) mutable {
        boost::asio::post(self->stream_.get_executor(),
                          [self, pending, r = std::move(result)]() mutable {
                            self->on_connect_result(std::move(*pending), std::move(r));
                          });
      });
}

template <class Stream>
void HttpSession<Stream>::on_connect_result(PendingUpgrade&& pending,
                                            webhook::ConnectResult result) {
  const unsigned version = pending.request.version();
  auto refuse = [&](unsigned status, std::string_view message) {
    ++context_.counters.handshakes_rejected;
    write(make_error_response(status, status == 500 ? "InternalServerError" : "Unauthorized",
                              message, version, false, false));
  };
  if (!result.accepted) {
    WPS_LOG(info, "http") << "connect refused by the event handler (" << result.status
                          << "): " << result.error;
    // 4xx answers are relayed as the status of the upgrade; anything else is a 500.
    const unsigned status = result.status >= 400 && result.status < 500 ? result.status : 500;
    refuse(status, status == 500 ? "The event handler failed." : "Refused by the event handler.");
    return;
  }
  HandshakeAccept& accept = pending.accept;
  if (result.user_id)
    accept.user_id = result.user_id->empty() ? std::nullopt : std::optional(*result.user_id);
  if (result.roles)
    accept.roles = std::move(*result.roles);  // replaces the token's roles
  if (result.groups && !result.groups->empty()) {
    for (const std::string& group : *result.groups) {
      if (!protocol::is_valid_group_name(group)) {
        refuse(500, "The event handler returned an invalid group name.");
        return;
      }
    }
    accept.groups = std::move(*result.groups);  // replaces the token's groups
  }
  if (result.subprotocol) {
    // Must be one the client offered; a custom one makes a simple WebSocket client.
    std::vector<std::string_view> offered;
    const auto values = pending.request.equal_range(http::field::sec_websocket_protocol);
    for (auto it = values.first; it != values.second; ++it)
      split_protocols(it->value(), offered);
    if (std::find(offered.begin(), offered.end(), *result.subprotocol) == offered.end()) {
      refuse(500, "The event handler chose a subprotocol the client did not offer.");
      return;
    }
    std::vector<std::string_view> chosen{*result.subprotocol};
    accept.kind = protocol_kind_of(chosen);
    accept.subprotocol = *result.subprotocol;
  }
  pending.upstream->update(result.state, result.cookies);
  pending.upstream->set_identity(accept.user_id, accept.subprotocol);
  start_websocket(std::move(pending.request), std::move(accept), std::move(pending.upstream));
}

template <class Stream>
void HttpSession<Stream>::write(Response&& response) {
  response_ = std::make_shared<Response>(std::move(response));
  const bool keep_alive = response_->keep_alive();
  beast::get_lowest_layer(stream_).expires_after(context_.config.limits.http_idle_timeout);
  http::async_write(
      stream_, *response_,
      beast::bind_front_handler(&HttpSession::on_write, this->shared_from_this(), keep_alive));
}

template <class Stream>
void HttpSession<Stream>::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec)
    return;
  if (!keep_alive)
    return do_shutdown();
  do_read();
}

template <class Stream>
void HttpSession<Stream>::do_shutdown() {
  if constexpr (kIsTls<Stream>) {
    // close_notify, bounded in time; the socket closes when the session ends.
    beast::get_lowest_layer(stream_).expires_after(kLingerTime);
    stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    return;
  }
  beast::error_code ec;
  beast::get_lowest_layer(stream_).socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send,
                                                     ec);
  // Lingering close: a client may still be sending a body we refused (413). Closing now would
  // make the kernel reset the connection and the client could lose our answer, so read and
  // discard until it stops, for a bounded time and number of bytes.
  linger_budget_ = kLingerBytes;
  beast::get_lowest_layer(stream_).expires_after(kLingerTime);
  do_linger();
}

template <class Stream>
void HttpSession<Stream>::do_linger() {
  linger_buffer_.resize(16 * 1024);
  stream_.async_read_some(
      boost::asio::buffer(linger_buffer_),
      [self = this->shared_from_this()](beast::error_code ec, std::size_t bytes) {
        if (ec || bytes >= self->linger_budget_)
          return;  // EOF, error, timeout or enough: the session ends and the socket closes
        self->linger_budget_ -= bytes;
        self->do_linger();
      });
}

template class HttpSession<PlainStream>;
template class HttpSession<TlsStream>;

}  // namespace wps::transport
