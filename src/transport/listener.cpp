#include "transport/listener.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "transport/http_session.hpp"
#include "util/log.hpp"

namespace wps::transport {

namespace net = boost::asio;

Listener::Listener(net::io_context& ioc, const net::ip::tcp::endpoint& endpoint,
                   ServerContext& context, EventLoops* loops)
    : ioc_(ioc),
      acceptor_(net::make_strand(ioc)),
      backoff_(acceptor_.get_executor()),
      context_(context),
      loops_(loops) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  if (endpoint.address().is_v6())
    acceptor_.set_option(net::ip::v6_only(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
}

void Listener::run() {
  do_accept();
}

void Listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->backoff_.cancel();
  });
}

void Listener::do_accept() {
  // The connection's loop for life, straight on its executor: one thread runs each loop.
  net::io_context& loop = loops_ != nullptr ? loops_->next() : ioc_;
  acceptor_.async_accept(loop.get_executor(), [self = shared_from_this()](
                                                  boost::system::error_code ec,
                                                  net::ip::tcp::socket socket) {
    if (ec == net::error::operation_aborted || !self->acceptor_.is_open())
      return;
    if (ec) {
      // Out of file descriptors and similar: log, wait a little, keep accepting (pending
      // connections stay in the kernel backlog meanwhile).
      WPS_LOG(warn, "listener") << "accept: " << ec.message();
      self->backoff_.expires_after(std::chrono::milliseconds(50));
      self->backoff_.async_wait([self](boost::system::error_code wait_ec) {
        if (!wait_ec && self->acceptor_.is_open())
          self->do_accept();
      });
      return;
    }
    boost::system::error_code opt_ec;
    socket.set_option(net::ip::tcp::no_delay(true), opt_ec);
    if (auto tls = self->context_.tls_context())
      std::make_shared<HttpSession<TlsStream>>(std::move(socket), self->context_, std::move(tls))
          ->run();
    else
      std::make_shared<HttpSession<PlainStream>>(std::move(socket), self->context_, nullptr)->run();
    self->do_accept();
  });
}

}  // namespace wps::transport
