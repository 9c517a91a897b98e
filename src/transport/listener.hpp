#pragma once
// Accepts TCP connections on one endpoint and starts an HttpSession for each, on the next event
// loop (EventLoops, round robin) or on the listener's io_context, on that loop's executor itself
// (one thread runs each loop: no strand).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "transport/event_loops.hpp"
#include "transport/server_context.hpp"

namespace wps::transport {

class Listener final : public std::enable_shared_from_this<Listener> {
 public:
  // Binds and listens on `ioc`; throws boost::system::system_error when the endpoint cannot be
  // used. `loops` (may be null: `ioc`): where accepted connections go.
  Listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
           ServerContext& context, EventLoops* loops = nullptr);
  void run();
  // Stops accepting (thread-safe).
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  void do_accept();

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // Delays the next accept after an error such as EMFILE, instead of spinning on it.
  boost::asio::steady_timer backoff_;
  ServerContext& context_;
  EventLoops* const loops_;
};

}  // namespace wps::transport
