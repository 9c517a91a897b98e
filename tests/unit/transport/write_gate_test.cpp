// WriteGate: frames the session writes itself (several per gather write) and Beast's own writes
// (pongs, close) reach a real Beast client over loopback TCP intact, in order, never interleaved.

#include "transport/write_gate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "protocol/ws_frame.hpp"

namespace wps::transport {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

TEST(FrameHeader, LengthEncodings) {
  using protocol::ws::encode_frame_header;
  auto h = encode_frame_header(false, 5);
  ASSERT_EQ(h.size, 2u);
  EXPECT_EQ(h.bytes[0], 0x81);
  EXPECT_EQ(h.bytes[1], 5);
  h = encode_frame_header(true, 125);
  ASSERT_EQ(h.size, 2u);
  EXPECT_EQ(h.bytes[0], 0x82);
  EXPECT_EQ(h.bytes[1], 125);
  h = encode_frame_header(false, 126);
  ASSERT_EQ(h.size, 4u);
  EXPECT_EQ(h.bytes[1], 126);
  EXPECT_EQ(h.bytes[2], 0);
  EXPECT_EQ(h.bytes[3], 126);
  h = encode_frame_header(false, 65535);
  ASSERT_EQ(h.size, 4u);
  EXPECT_EQ(h.bytes[2], 0xFF);
  EXPECT_EQ(h.bytes[3], 0xFF);
  h = encode_frame_header(true, 65536);
  ASSERT_EQ(h.size, 10u);
  EXPECT_EQ(h.bytes[1], 127);
  EXPECT_EQ(h.bytes[7], 1);
  EXPECT_EQ(h.bytes[8], 0);
  EXPECT_EQ(h.bytes[9], 0);
}

// A server socket behind a gate, accepted by Beast, and a plain Beast client.
struct GateFixture : ::testing::Test {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::unique_ptr<websocket::stream<WriteGate<beast::tcp_stream>>> server;
  websocket::stream<beast::tcp_stream> client{io};

  void SetUp() override {
    tcp::socket accepted(io);
    client.next_layer().connect(acceptor.local_endpoint());
    acceptor.accept(accepted);
    server = std::make_unique<websocket::stream<WriteGate<beast::tcp_stream>>>(std::move(accepted));
    bool accepted_ws = false;
    server->async_accept([&](beast::error_code ec) {
      ASSERT_FALSE(ec) << ec.message();
      accepted_ws = true;
    });
    client.async_handshake("localhost", "/",
                           [](beast::error_code ec) { ASSERT_FALSE(ec) << ec.message(); });
    io.run_for(std::chrono::seconds(10));
    io.restart();
    ASSERT_TRUE(accepted_ws);
  }

  // Writes `messages` (text) through the gate in batches of `per_batch` frames, one batch after
  // the other.
  void write_batches(const std::vector<std::string>& messages, std::size_t per_batch,
                     std::size_t& batches_done) {
    struct Writer : std::enable_shared_from_this<Writer> {
      WriteGate<beast::tcp_stream>* gate;
      const std::vector<std::string>* messages;
      std::size_t per_batch;
      std::size_t* done;
      std::size_t next = 0;
      std::vector<protocol::ws::FrameHeader> headers;
      void step() {
        if (next == messages->size())
          return;
        std::vector<asio::const_buffer> buffers;
        const std::size_t end = std::min(messages->size(), next + per_batch);
        headers.resize(end - next);
        for (std::size_t i = next; i < end; ++i) {
          auto& h = headers[i - next];
          h = protocol::ws::encode_frame_header(false, (*messages)[i].size());
          buffers.emplace_back(h.bytes.data(), h.size);
          buffers.emplace_back(asio::buffer((*messages)[i]));
        }
        next = end;
        gate->async_write_frames(std::move(buffers),
                                 [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                   ASSERT_FALSE(ec) << ec.message();
                                   ++*self->done;
                                   self->step();
                                 });
      }
    };
    auto w = std::make_shared<Writer>();
    w->gate = &server->next_layer();
    w->messages = &messages;
    w->per_batch = per_batch;
    w->done = &batches_done;
    w->step();
  }
};

TEST_F(GateFixture, BatchedFramesArriveAsSeparateMessagesInOrder) {
  std::vector<std::string> messages;
  for (int i = 0; i < 50; ++i)
    messages.push_back("message " + std::to_string(i) +
                       std::string(static_cast<std::size_t>(i * 40), 'x'));
  std::size_t batches = 0;
  write_batches(messages, 16, batches);
  std::vector<std::string> received;
  beast::flat_buffer buffer;
  std::function<void()> read = [&] {
    client.async_read(buffer, [&](beast::error_code ec, std::size_t) {
      ASSERT_FALSE(ec) << ec.message();
      EXPECT_TRUE(client.got_text());
      received.push_back(beast::buffers_to_string(buffer.data()));
      buffer.consume(buffer.size());
      if (received.size() < messages.size())
        read();
    });
  };
  read();
  io.run_for(std::chrono::seconds(20));
  EXPECT_EQ(batches, 4u);
  EXPECT_EQ(received, messages);
}

// The client pings while the server writes large batches: Beast's pongs go through the gate
// between batches, never inside one, and every message arrives intact. Then a close handshake
// started by the client completes through the gate.
TEST_F(GateFixture, BeastControlFramesNeverSplitAFrame) {
  std::vector<std::string> messages;
  for (int i = 0; i < 40; ++i)
    messages.push_back(std::to_string(i) + ":" +
                       std::string(200'000, static_cast<char>('a' + i % 26)));
  std::size_t batches = 0;
  write_batches(messages, 8, batches);

  // The server reads (so Beast answers pings and the close) on its own.
  beast::flat_buffer server_buffer;
  beast::error_code server_read_error;
  bool server_read_done = false;
  server->async_read(server_buffer, [&](beast::error_code ec, std::size_t) {
    server_read_error = ec;
    server_read_done = true;
  });

  std::size_t pongs = 0;
  client.control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong)
      ++pongs;
  });
  std::size_t pings_sent = 0;
  std::function<void()> ping = [&] {
    if (pings_sent == 20)
      return;
    ++pings_sent;
    client.async_ping({}, [&](beast::error_code ec) {
      ASSERT_FALSE(ec) << ec.message();
      ping();
    });
  };

  std::vector<std::string> received;
  beast::flat_buffer buffer;
  bool closed = false;
  std::function<void()> read = [&] {
    client.async_read(buffer, [&](beast::error_code ec, std::size_t) {
      ASSERT_FALSE(ec) << ec.message();
      received.push_back(beast::buffers_to_string(buffer.data()));
      buffer.consume(buffer.size());
      if (received.size() == 1)
        ping();  // start pinging once data flows
      if (received.size() < messages.size()) {
        read();
        return;
      }
      client.async_close(websocket::close_code::normal, [&](beast::error_code close_ec) {
        EXPECT_FALSE(close_ec) << close_ec.message();
        closed = true;
      });
    });
  };
  read();
  io.run_for(std::chrono::seconds(60));
  ASSERT_EQ(received.size(), messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i)
    EXPECT_TRUE(received[i] == messages[i]) << "message " << i << " differs";
  EXPECT_EQ(batches, 5u);
  EXPECT_GT(pongs, 0u);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(server_read_done);
  EXPECT_EQ(server_read_error, websocket::error::closed);
}

}  // namespace
}  // namespace wps::transport
