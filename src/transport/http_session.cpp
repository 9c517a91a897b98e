#include "transport/http_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>

#include "transport/handshake.hpp"
#include "transport/websocket_session.hpp"
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

HttpSession::HttpSession(boost::asio::ip::tcp::socket&& socket, ServerContext& context)
    : stream_(std::move(socket)), context_(context) {}

void HttpSession::run() {
  // Start on the session's strand.
  boost::asio::dispatch(stream_.get_executor(),
                        beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
}

void HttpSession::do_read() {
  const config::Limits& limits = context_.config.limits;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(limits.max_http_header_bytes));
  parser_->body_limit(limits.max_http_body_bytes);
  // The first request must arrive within the handshake timeout; later ones (keep-alive) within
  // the HTTP idle timeout.
  stream_.expires_after(first_request_ ? limits.handshake_timeout : limits.http_idle_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
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
  if (path.starts_with("/api/") && context_.rest_handler) {
    Response response = context_.rest_handler(request);
    response.keep_alive(request.keep_alive() && response.keep_alive());
    write(std::move(response));
    return;
  }
  write(make_error_response(404, "NotFound", "No such endpoint.", request.version(),
                            request.keep_alive(), head));
}

void HttpSession::handle_client_endpoint(Request&& request) {
  HandshakeRequest hs;
  hs.target = request.target();
  hs.host = request[http::field::host];
  hs.authorization = request[http::field::authorization];
  hs.is_websocket_upgrade = websocket::is_upgrade(request);
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
    write(make_error_response(429, "ConnectionCountLimitReached",
                              "The server has reached its maximum number of connections.",
                              request.version(), false, false));
    return;
  }
  if (limits.max_connections_per_hub != 0) {
    if (auto hub = context_.node.find_hub(accept.hub);
        hub && hub->connection_count() >= limits.max_connections_per_hub) {
      write(make_error_response(429, "ConnectionCountLimitReached",
                                "The hub has reached its maximum number of connections.",
                                request.version(), false, false));
      return;
    }
  }
  stream_.expires_never();
  std::make_shared<WebSocketSession>(std::move(stream_), context_, std::move(accept))
      ->run(std::move(request));
}

void HttpSession::write(Response&& response) {
  response_ = std::make_shared<Response>(std::move(response));
  const bool keep_alive = response_->keep_alive();
  stream_.expires_after(context_.config.limits.http_idle_timeout);
  http::async_write(
      stream_, *response_,
      beast::bind_front_handler(&HttpSession::on_write, shared_from_this(), keep_alive));
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec)
    return;
  if (!keep_alive)
    return do_shutdown();
  do_read();
}

void HttpSession::do_shutdown() {
  beast::error_code ec;
  stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  // Lingering close: a client may still be sending a body we refused (413). Closing now would
  // make the kernel reset the connection and the client could lose our answer, so read and
  // discard until it stops, for a bounded time and number of bytes.
  linger_budget_ = kLingerBytes;
  stream_.expires_after(kLingerTime);
  do_linger();
}

void HttpSession::do_linger() {
  linger_buffer_.resize(16 * 1024);
  stream_.async_read_some(
      boost::asio::buffer(linger_buffer_),
      [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
        if (ec || bytes >= self->linger_budget_)
          return;  // EOF, error, timeout or enough: the session ends and the socket closes
        self->linger_budget_ -= bytes;
        self->do_linger();
      });
}

}  // namespace wps::transport
