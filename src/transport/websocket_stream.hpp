#pragma once
// The socket I/O of a WebSocketConnection, over plain TCP or TLS. Plain TCP: the bare socket,
// non-blocking; an idle connection waits for readability and then reads into one buffer per
// thread, so it holds no read buffer of its own, and each gather write is tried at once with
// sendmsg, the event loop finishing only what the socket could not take. TLS: Asio's TLS stream,
// read into a small buffer of the connection's own, written through the event loop.

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "transport/streams.hpp"
#include "transport/websocket_connection.hpp"

namespace wps::transport {

template <class Stream>
class WebSocketStream final : public WebSocketConnection {
 public:
  // `stream`: what the HTTP session read the upgrade request from. `tls`: the TLS context it
  // was made with, kept alive as long as the connection (null for plain TCP).
  WebSocketStream(Stream&& stream, ServerContext& context,
                  std::shared_ptr<handler::Handler> handler, std::size_t extra_messages,
                  std::size_t extra_bytes, std::shared_ptr<boost::asio::ssl::context> tls);

 private:
  // Plain TCP: the bare socket (the HTTP session's timers are not needed any more). TLS: the
  // stream as the HTTP session had it.
  using Socket = std::conditional_t<kIsTls<Stream>, Stream, boost::asio::ip::tcp::socket>;

  void start_read() override;
  WriteResult write(const std::vector<boost::asio::const_buffer>& buffers) override;
  void shutdown_stream() override;
  void shutdown_send() override;
  void close_socket() override;

  void on_readable(boost::system::error_code ec);
  void on_tls_read(boost::system::error_code ec, std::size_t bytes);
  boost::asio::ip::tcp::socket& tcp_socket();
  std::shared_ptr<WebSocketStream> self() {
    return std::static_pointer_cast<WebSocketStream>(shared_from_this());
  }

  std::shared_ptr<boost::asio::ssl::context> tls_;
  Socket socket_;
  // TLS only: decrypted input is read here (allocated on the first read).
  std::unique_ptr<char[]> tls_buffer_;
};

}  // namespace wps::transport
