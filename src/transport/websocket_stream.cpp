#include "transport/websocket_stream.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "util/log.hpp"

namespace wps::transport {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
// Bytes asked of the socket per read. Plain TCP reads into one buffer per thread: a connection
// waiting for its next message holds no read buffer at all.
constexpr std::size_t kReadChunk = 64 * 1024;
// TLS reads into a buffer of the connection's own (the TLS stream completes reads later, so one
// buffer per thread could be overwritten meanwhile). Small: Asio's TLS stream already keeps a
// 17 KB record buffer per direction, and a large message just takes more reads.
constexpr std::size_t kTlsReadChunk = 4 * 1024;
// Reads per readiness event before the connection lets others run.
constexpr int kReadsPerTurn = 4;

char* thread_read_buffer() {
  thread_local const std::unique_ptr<char[]> buffer(new char[kReadChunk]);
  return buffer.get();
}

// Plain TCP reads and writes go straight to the descriptor, which is non-blocking already (Asio
// made it so for the upgrade request's read, or the constructor did). Asio's own synchronous
// read_some/write_some would need its "user" non-blocking flag, whose ioctl cost every
// connection one more syscall (issue 14: handshakes per CPU-second).
error_code last_error() {
  return {errno, boost::system::system_category()};
}

std::size_t read_now(int fd, char* buffer, std::size_t size, error_code& ec) {
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, size, 0);
    if (n > 0) {
      ec = {};
      return static_cast<std::size_t>(n);
    }
    if (n == 0) {
      ec = asio::error::eof;
      return 0;
    }
    if (errno != EINTR) {
      ec = last_error();
      return 0;
    }
  }
}

// Writes what the socket takes now of the first kMaxIov buffers (as Asio's write_some does).
constexpr std::size_t kMaxIov = 64;
std::size_t write_now(int fd, const std::vector<asio::const_buffer>& buffers, error_code& ec) {
  std::array<iovec, kMaxIov> iov{};
  const std::size_t count = std::min(buffers.size(), kMaxIov);
  for (std::size_t i = 0; i < count; ++i)
    iov[i] = {const_cast<void*>(buffers[i].data()),
              buffers[i].size()};  // NOLINT: iovec is not const
  msghdr message{};
  message.msg_iov = iov.data();
  message.msg_iovlen = count;
  for (;;) {
    const ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (n >= 0) {
      ec = {};
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) {
      ec = last_error();
      return 0;
    }
  }
}

template <class Stream>
auto take_socket(Stream& stream) {
  if constexpr (kIsTls<Stream>)
    return std::move(stream);
  else
    return stream.release_socket();
}
}  // namespace

template <class Stream>
WebSocketStream<Stream>::WebSocketStream(Stream&& stream, ServerContext& context,
                                         std::shared_ptr<handler::Handler> handler,
                                         std::size_t extra_messages, std::size_t extra_bytes,
                                         std::shared_ptr<boost::asio::ssl::context> tls)
    : WebSocketConnection(context, std::move(handler), extra_messages, extra_bytes,
                          stream.get_executor()),
      tls_(std::move(tls)),
      socket_(take_socket(stream)) {
  if constexpr (!kIsTls<Stream>) {
    // Normally set already by the upgrade request's asynchronous read (no syscall then).
    if (!socket_.native_non_blocking()) {
      error_code ignored;
      socket_.native_non_blocking(true, ignored);
    }
  }
}

template <class Stream>
asio::ip::tcp::socket& WebSocketStream<Stream>::tcp_socket() {
  if constexpr (kIsTls<Stream>)
    return socket_.next_layer().socket();
  else
    return socket_;
}

template <class Stream>
void WebSocketStream<Stream>::start_read() {
  if constexpr (kIsTls<Stream>) {
    if (!tls_buffer_)
      tls_buffer_.reset(new char[kTlsReadChunk]);
    socket_.async_read_some(
        asio::buffer(tls_buffer_.get(), kTlsReadChunk),
        [self = self()](error_code ec, std::size_t bytes) { self->on_tls_read(ec, bytes); });
  } else {
    socket_.async_wait(asio::socket_base::wait_read,
                       [self = self()](error_code ec) { self->on_readable(ec); });
  }
}

template <class Stream>
void WebSocketStream<Stream>::on_readable(error_code ec) {
  reading_ = false;
  if (closed())
    return;
  if (ec) {
    on_gone();
    return;
  }
  if constexpr (!kIsTls<Stream>) {
    char* buffer = thread_read_buffer();
    for (int turn = 0; turn < kReadsPerTurn; ++turn) {
      const std::size_t bytes = read_now(socket_.native_handle(), buffer, kReadChunk, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again)
        break;
      if (ec) {
        if (ec != asio::error::eof && ec != asio::error::connection_reset) {
          WPS_LOG(debug, "ws") << "read: " << ec.message();
        }
        on_gone();
        return;
      }
      consume(std::span<char>(buffer, bytes));
      if (!wants_input() || bytes < kReadChunk)
        break;
    }
  }
  pump();
}

template <class Stream>
void WebSocketStream<Stream>::on_tls_read(error_code ec, std::size_t bytes) {
  reading_ = false;
  if (closed())
    return;
  if (ec) {
    on_gone();
    return;
  }
  consume(std::span<char>(tls_buffer_.get(), bytes));
  pump();
}

template <class Stream>
WebSocketConnection::WriteResult WebSocketStream<Stream>::write(
    const std::vector<asio::const_buffer>& buffers) {
  std::size_t written = 0;
  if constexpr (!kIsTls<Stream>) {
    // Plain TCP: write now; only what the socket cannot take waits for the event loop.
    error_code ec;
    written = write_now(socket_.native_handle(), buffers, ec);
    if (!ec && written == asio::buffer_size(buffers))
      return WriteResult::done;
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      WPS_LOG(debug, "ws") << "write: " << ec.message();
      return WriteResult::failed;
    }
    if (ec)
      written = 0;
  }
  // The rest completes asynchronously; the buffers it points to stay put until then.
  auto rest = std::make_shared<std::vector<asio::const_buffer>>();
  rest->reserve(buffers.size());
  for (const asio::const_buffer& b : buffers) {
    if (written >= b.size()) {
      written -= b.size();
      continue;
    }
    rest->push_back(b + written);
    written = 0;
  }
  asio::async_write(socket_, *rest,
                    [self = self(), rest](error_code ec, std::size_t) { self->on_write_done(ec); });
  return WriteResult::pending;
}

template <class Stream>
void WebSocketStream<Stream>::shutdown_stream() {
  if constexpr (kIsTls<Stream>) {
    // close_notify, bounded by the closing timer; then the socket closes.
    tls_shutdown_ = true;
    socket_.async_shutdown([self = self()](error_code) { self->finish(false); });
  } else {
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    finish(false);
  }
}

template <class Stream>
void WebSocketStream<Stream>::shutdown_send() {
  // TLS: a half-closed TCP connection under TLS is not a clean end; leave it to the deadline.
  if constexpr (!kIsTls<Stream>) {
    error_code ignored;
    tcp_socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }
}

template <class Stream>
void WebSocketStream<Stream>::close_socket() {
  error_code ignored;
  tcp_socket().close(ignored);
}

template class WebSocketStream<PlainStream>;
template class WebSocketStream<TlsStream>;

}  // namespace wps::transport
