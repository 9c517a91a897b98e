#pragma once
// The two kinds of byte stream a client session runs on: plain TCP and TLS over TCP. Sessions
// are templates on the stream, explicitly instantiated for both in their .cpp files.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <type_traits>

namespace wps::transport {

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

template <class Stream>
inline constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// Wraps an accepted socket; `tls` is required for TlsStream and ignored otherwise.
template <class Stream>
Stream open_stream(boost::asio::ip::tcp::socket&& socket, boost::asio::ssl::context* tls) {
  if constexpr (kIsTls<Stream>) {
    return Stream(std::move(socket), *tls);
  } else {
    (void)tls;
    return Stream(std::move(socket));
  }
}

}  // namespace wps::transport
