#pragma once
// One HTTP connection, over plain TCP or TLS: reads requests (keep-alive), answers the health and
// REST endpoints, and for upgrades to a client endpoint asks handler::Endpoints for the decision,
// then hands the stream to a WebSocketConnection running the protocol handler it was given.

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "handler/endpoints.hpp"
#include "transport/server_context.hpp"
#include "transport/streams.hpp"

namespace wps::transport {

template <class Stream>
class HttpSession final : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  // `tls`: the server's TLS context (required for TlsStream; kept alive by the session).
  HttpSession(boost::asio::ip::tcp::socket&& socket, ServerContext& context,
              std::shared_ptr<boost::asio::ssl::context> tls);
  void run();

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  void on_handshake(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_client_endpoint(Request&& request);
  // The endpoint's answer to an upgrade request (HTTP `version`, `accept_key` for the 101).
  void on_upgrade_answer(unsigned version, const std::string& accept_key,
                         handler::UpgradeAnswer&& answer);
  void write(Response&& response);
  void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
  void do_shutdown();
  void do_linger();

  // Lingering close after a refusal: at most this long and this many discarded bytes.
  static constexpr std::chrono::seconds kLingerTime{2};
  static constexpr std::size_t kLingerBytes = 4 * 1024 * 1024;

  std::shared_ptr<boost::asio::ssl::context> tls_;
  Stream stream_;
  ServerContext& context_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  bool first_request_ = true;
  std::vector<char> linger_buffer_;
  std::size_t linger_budget_ = 0;
};

// A JSON ErrorDetail response ({"code":..,"message":..}) with the x-ms-error-code header; HEAD
// requests get the status only.
boost::beast::http::response<boost::beast::http::string_body> make_error_response(
    unsigned status, std::string_view code, std::string_view message, unsigned version,
    bool keep_alive, bool head);

}  // namespace wps::transport
