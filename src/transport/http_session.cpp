#include "transport/http_session.hpp"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>

#include "transport/upgrade.hpp"
#include "transport/websocket_stream.hpp"
#include "util/log.hpp"

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

  if (websocket::is_upgrade(request) || context_.endpoints.serves(target)) {
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
  handler::UpgradeRequest upgrade;
  upgrade.target = request.target();
  upgrade.host = request[http::field::host];
  upgrade.authorization = request[http::field::authorization];
  upgrade.is_websocket_upgrade = websocket::is_upgrade(request);
  const unsigned version = request.version();
  std::string accept_key;
  if (upgrade.is_websocket_upgrade) {
    // RFC 6455 §4.2.1: version 13 only (426 names it), and a key of 16 base64 bytes.
    if (request[http::field::sec_websocket_version] != "13") {
      auto response = make_error_response(
          426, "UpgradeRequired", "Only WebSocket version 13 is supported.", version, false, false);
      response.set(http::field::sec_websocket_version, "13");
      write(std::move(response));
      return;
    }
    accept_key = websocket_accept_key(request[http::field::sec_websocket_key]);
    if (accept_key.empty()) {
      write(make_error_response(400, "BadRequest", "Missing or invalid Sec-WebSocket-Key.", version,
                                false, false));
      return;
    }
  }
  const auto protocols = request.equal_range(http::field::sec_websocket_protocol);
  for (auto it = protocols.first; it != protocols.second; ++it)
    split_protocols(it->value(), upgrade.offered_protocols);
  const std::size_t max_connections = context_.config.limits.max_connections;
  upgrade.at_connection_limit =
      max_connections != 0 && context_.open_websockets.load() >= max_connections;
  upgrade.headers = [&request] {
    core::Multimap headers;
    for (const auto& field : request) {
      if (field.name() != http::field::authorization)
        headers[std::string(field.name_string())].emplace_back(field.value());
    }
    return headers;
  };
  // An event handler may take event_handler_timeout to answer `connect`; the client waits.
  beast::get_lowest_layer(stream_).expires_after(context_.config.limits.event_handler_timeout +
                                                 std::chrono::seconds(5));
  auto now =
      context_.endpoints.upgrade(upgrade, [self = this->shared_from_this(), version,
                                           accept_key](handler::UpgradeAnswer answer) mutable {
        boost::asio::post(self->stream_.get_executor(),
                          [self, version, accept_key = std::move(accept_key),
                           answer = std::move(answer)]() mutable {
                            self->on_upgrade_answer(version, accept_key, std::move(answer));
                          });
      });
  if (now)
    on_upgrade_answer(version, accept_key, std::move(*now));
}

template <class Stream>
void HttpSession<Stream>::on_upgrade_answer(unsigned version, const std::string& accept_key,
                                            handler::UpgradeAnswer&& answer) {
  if (auto* refused = std::get_if<handler::UpgradeRefusal>(&answer)) {
    ++context_.counters.handshakes_rejected;
    WPS_LOG(debug, "http") << "client handshake refused: " << refused->status << " "
                           << refused->message;
    write(make_error_response(refused->status, refused->code, refused->message, version, false,
                              false));
    return;
  }
  auto& accepted = std::get<handler::UpgradeAcceptance>(answer);
  beast::get_lowest_layer(stream_).expires_never();
  // What the client sent after its upgrade request is the start of its WebSocket input.
  std::string early = beast::buffers_to_string(buffer_.data());
  buffer_.clear();
  std::make_shared<WebSocketStream<Stream>>(
      std::move(stream_), context_, std::move(accepted.handler), accepted.extra_queue_messages,
      accepted.extra_queue_bytes, tls_)
      ->run(accept_key, accepted.subprotocol, std::move(early));
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
