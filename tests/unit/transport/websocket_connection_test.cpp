// WebSocketConnection, the RFC 6455 state machine, with its stream in memory: a test subclass
// implements the stream hooks (reads come from what the test's client sent, writes land in a
// string, or wait, or fail), and a recording handler stands for the client protocol. Everything
// runs on an io_context the test drives, so each case is deterministic except the timer ones
// (keep-alive, the close deadline), which wait for real, short intervals.

#include "transport/websocket_connection.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/memory_broker.hpp"
#include "core/node.hpp"
#include "handler/context.hpp"
#include "handler/endpoints.hpp"
#include "unit/transport/server_bytes.hpp"

namespace wps::transport {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::client_close;
using test::client_frame;
using test::client_text;
using test::parts_of;
using Strings = std::vector<std::string>;
using Clock = std::chrono::steady_clock;

// The client protocol's side: records every call; hooks act on the socket.
class RecordingHandler final : public handler::Handler {
 public:
  void on_open(const std::shared_ptr<handler::Socket>& socket) override {
    events.push_back("open");
    socket_ = socket;
    if (open_hook)
      open_hook(*socket);
  }
  void on_message(handler::Socket& socket, bool binary, std::string_view data) override {
    events.push_back((binary ? "binary:" : "text:") + std::string(data));
    if (message_hook)
      message_hook(socket);
  }
  handler::SharedFrame on_closing(handler::Socket&, std::string_view reason) override {
    events.push_back("closing: " + std::string(reason));
    return farewell;
  }
  void on_closed(handler::Socket&, bool recoverable) override {
    events.push_back(recoverable ? "closed recoverable" : "closed");
    socket_.reset();  // as handlers do: the connection and its handler hold each other till now
  }
  handler::Socket& socket() { return *socket_; }
  bool ended() const { return !events.empty() && events.back().rfind("closed", 0) == 0; }

  Strings events;
  std::function<void(handler::Socket&)> open_hook;
  std::function<void(handler::Socket&)> message_hook;
  handler::SharedFrame farewell = protocol::make_frame("farewell", false);

 private:
  std::shared_ptr<handler::Socket> socket_;
};

// The connection over a stream in memory.
class MemoryConnection final : public WebSocketConnection {
 public:
  enum class WriteMode { done, pending, failed };

  MemoryConnection(ServerContext& context, std::shared_ptr<handler::Handler> handler,
                   asio::any_io_executor executor)
      : WebSocketConnection(context, std::move(handler), 0, 0, std::move(executor)) {}

  // ---- the client, through the network (call on the executor) -----------------------------
  // Bytes arrive; a read armed now (or later) takes them all at once.
  void arrive(std::string bytes) {
    inbox_ += bytes;
    deliver();
  }
  // The client's TCP connection ends (EOF), noticed by the next read.
  void hang_up() {
    eof_ = true;
    deliver();
  }
  // The write that was left pending completes, or fails.
  void complete_write() {
    written += std::exchange(in_flight_, {});
    on_write_done({});
  }
  void fail_write() { on_write_done(asio::error::broken_pipe); }
  // Ends it whatever its state (the test is over).
  void end() { finish(false); }

  bool read_armed() const { return reading_; }
  bool is_closed() const { return closed(); }

  std::string written;  // what reached the client
  WriteMode write_mode = WriteMode::done;
  int writes = 0;
  int shutdowns = 0;
  bool send_shut = false;
  bool socket_closed = false;

 private:
  void start_read() override {
    // Completes later, as a real read does.
    asio::post(executor(), [self = std::static_pointer_cast<MemoryConnection>(shared_from_this())] {
      self->deliver();
    });
  }
  WriteResult write(const std::vector<asio::const_buffer>& buffers) override {
    ++writes;
    std::string bytes;
    for (const auto& b : buffers)
      bytes.append(static_cast<const char*>(b.data()), b.size());
    switch (write_mode) {
      case WriteMode::done:
        written += bytes;
        return WriteResult::done;
      case WriteMode::pending:
        in_flight_ = std::move(bytes);
        return WriteResult::pending;
      case WriteMode::failed:
        break;
    }
    return WriteResult::failed;
  }
  void shutdown_stream() override {
    ++shutdowns;
    finish(false);
  }
  void shutdown_send() override { send_shut = true; }
  void close_socket() override { socket_closed = true; }

  void deliver() {
    if (!reading_ || closed() || (inbox_.empty() && !eof_))
      return;
    reading_ = false;
    if (inbox_.empty()) {
      on_gone();
      return;
    }
    std::string bytes = std::exchange(inbox_, {});
    consume(std::span<char>(bytes.data(), bytes.size()));
    pump();
  }

  std::string inbox_;
  bool eof_ = false;
  std::string in_flight_;
};

class ConnectionTest : public ::testing::Test {
 protected:
  ~ConnectionTest() override {
    if (conn_ && !conn_->is_closed())
      on_executor([&] { conn_->end(); });
    settle();
  }

  // Builds the server's context from `config` (tests tune its limits first) and runs the
  // connection (the upgrade is answered with `subprotocol`; `early`: bytes read with the request).
  void start(std::string subprotocol = "", std::string early = "") {
    node_ = std::make_unique<core::Node>(broker_, core::HubLimits{});
    handler_context_ = std::make_unique<handler::Context>(config, *node_);
    endpoints_ = std::make_unique<handler::Endpoints>(*handler_context_);
    server_ = std::make_unique<ServerContext>(config, *endpoints_);
    server_->single_threaded = single_threaded;
    conn_ = std::make_shared<MemoryConnection>(*server_, handler, ioc.get_executor());
    on_executor([&] { conn_->run("ACCEPTKEY", subprotocol, early); });
  }

  void settle() {
    ioc.restart();
    ioc.poll();
  }
  void on_executor(std::function<void()> f) {
    asio::post(ioc, std::move(f));
    settle();
  }
  // Runs the io_context until `done` or `limit`; the time it took.
  Clock::duration run_until(const std::function<bool()>& done, Clock::duration limit = 5s) {
    const auto start = Clock::now();
    ioc.restart();
    while (!done() && Clock::now() - start < limit)
      ioc.run_one_for(10ms);
    return Clock::now() - start;
  }

  void client_sends(std::string bytes) {
    on_executor([&] { conn_->arrive(std::move(bytes)); });
  }
  // What the client received so far, in parts (see parts_of), and forgets it.
  Strings received() {
    Strings parts = parts_of(conn_->written);
    conn_->written.clear();
    return parts;
  }

  asio::io_context ioc{1};
  config::Config config;
  // As a server whose one thread runs the loop: sends made on the loop are corked.
  bool single_threaded = false;
  std::shared_ptr<RecordingHandler> handler = std::make_shared<RecordingHandler>();

 private:
  core::MemoryBroker broker_;
  std::unique_ptr<core::Node> node_;
  std::unique_ptr<handler::Context> handler_context_;
  std::unique_ptr<handler::Endpoints> endpoints_;
  std::unique_ptr<ServerContext> server_;

 protected:
  std::shared_ptr<MemoryConnection> conn_;
  ServerContext& server() { return *server_; }
};

// ---- opening and reading -------------------------------------------------------------------

TEST_F(ConnectionTest, TheUpgradeAnswerAndWhatTheHandlerSentOnOpenLeaveInOneWrite) {
  handler->open_hook = [](handler::Socket& s) { s.send(protocol::make_frame("hello", false)); };
  start("json.webpubsub.azure.v1");
  const std::string bytes = conn_->written;
  EXPECT_EQ(bytes.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0U);
  EXPECT_NE(bytes.find("\r\nSec-WebSocket-Accept: ACCEPTKEY\r\n"), std::string::npos);
  EXPECT_NE(bytes.find("\r\nSec-WebSocket-Protocol: json.webpubsub.azure.v1\r\n"),
            std::string::npos);
  EXPECT_EQ(received(), (Strings{"101", "text:hello"}));
  EXPECT_EQ(conn_->writes, 1);
  EXPECT_EQ(handler->events, Strings{"open"});
  EXPECT_TRUE(conn_->read_armed());
  EXPECT_EQ(server().open_websockets, 1U);
}

TEST_F(ConnectionTest, NoSubprotocolHeaderWithoutOne) {
  start();
  EXPECT_EQ(conn_->written.find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST_F(ConnectionTest, AMaskedMessageReachesTheHandler) {
  start();
  client_sends(client_text("hello") + client_frame(0x2, std::string("\x00\x01", 2)));
  EXPECT_EQ(handler->events,
            (Strings{"open", "text:hello", "binary:" + std::string("\x00\x01", 2)}));
  // A message in pieces, and a fragmented one.
  const std::string frame = client_text("split");
  client_sends(frame.substr(0, 3));
  client_sends(frame.substr(3));
  client_sends(client_frame(0x1, "frag", true, false) + client_frame(0x0, "ment"));
  EXPECT_EQ(handler->events.size(), 5U);
  EXPECT_EQ(handler->events[3], "text:split");
  EXPECT_EQ(handler->events[4], "text:fragment");
  EXPECT_TRUE(conn_->read_armed());
}

TEST_F(ConnectionTest, BytesSentWithTheUpgradeRequestAreHandledAfterOpen) {
  start("", client_text("early"));
  EXPECT_EQ(handler->events, (Strings{"open", "text:early"}));
}

TEST_F(ConnectionTest, PauseHoldsLaterMessagesUntilResume) {
  handler->message_hook = [](handler::Socket& s) { s.pause(); };
  start();
  client_sends(client_text("one") + client_text("two") + client_text("three"));
  EXPECT_EQ(handler->events, (Strings{"open", "text:one"}));
  EXPECT_FALSE(conn_->read_armed());  // nothing more is read while the handler waits
  handler->message_hook = nullptr;
  on_executor([&] { handler->socket().resume(); });
  EXPECT_EQ(handler->events, (Strings{"open", "text:one", "text:two", "text:three"}));
  EXPECT_TRUE(conn_->read_armed());
}

TEST_F(ConnectionTest, APingIsAnsweredWithAPongOfItsPayload) {
  start();
  received();
  client_sends(client_frame(0x9, "are you there"));
  EXPECT_EQ(received(), Strings{"pong:are you there"});
  client_sends(client_frame(0xA, "unsolicited"));  // a pong is just input
  EXPECT_TRUE(received().empty());
  EXPECT_EQ(handler->events, Strings{"open"});
}

// ---- closing -------------------------------------------------------------------------------

TEST_F(ConnectionTest, TheClientsCloseIsEchoedAndTheHandlerClosedWithoutOnClosing) {
  start();
  received();
  client_sends(client_close(1000, "done") + client_text("after the close"));
  EXPECT_EQ(received(), Strings{"close:1000"});
  EXPECT_EQ(handler->events, (Strings{"open", "closed"}));
  EXPECT_EQ(conn_->shutdowns, 1);  // both close frames exchanged: TCP ends
  EXPECT_TRUE(conn_->is_closed());
  EXPECT_TRUE(conn_->socket_closed);
}

TEST_F(ConnectionTest, TheClientsCloseDropsWhatWasQueued) {
  start();
  received();
  conn_->write_mode = MemoryConnection::WriteMode::pending;
  on_executor([&] { handler->socket().send(protocol::make_frame("in flight", false)); });
  on_executor([&] { handler->socket().send(protocol::make_frame("queued", false)); });
  client_sends(client_close(1001));
  EXPECT_EQ(handler->events, (Strings{"open", "closed"}));
  conn_->write_mode = MemoryConnection::WriteMode::done;
  on_executor([&] { conn_->complete_write(); });
  EXPECT_EQ(received(), (Strings{"text:in flight", "close:1001"}));
  EXPECT_EQ(conn_->shutdowns, 1);
}

TEST_F(ConnectionTest, AServerCloseSendsQueuedDataTheFarewellThenTheCloseFrame) {
  start();
  received();
  // From another thread (posted): the data sent before it goes out first.
  handler->socket().send(protocol::make_frame("a", false));
  handler->socket().send(protocol::make_frame("b", false));
  handler->socket().close(4000, "bye");
  settle();
  EXPECT_EQ(received(), (Strings{"text:a", "text:b", "text:farewell", "close:4000 bye"}));
  EXPECT_EQ(handler->events, (Strings{"open", "closing: bye"}));
  // Nothing new once closing, and it waits for the client's close frame.
  handler->socket().send(protocol::make_frame("late", false));
  handler->socket().close(1000, "again");
  settle();
  EXPECT_TRUE(received().empty());
  EXPECT_FALSE(conn_->is_closed());
  EXPECT_TRUE(conn_->read_armed());
  client_sends(client_text("ignored") + client_close(4000));
  EXPECT_EQ(handler->events, (Strings{"open", "closing: bye", "closed"}));
  EXPECT_EQ(conn_->shutdowns, 1);
  EXPECT_TRUE(received().empty());  // its close answered ours: nothing echoed
}

TEST_F(ConnectionTest, AServerCloseOnTheExecutorStillSendsWhatWasSentBeforeIt) {
  // close() runs inline there (one event-loop thread: a REST send then a REST close), ahead of
  // the drain that send() posted.
  start();
  received();
  on_executor([&] {
    handler->socket().send(protocol::make_frame("a", false));
    handler->socket().close(1000, "bye");
    handler->socket().send(protocol::make_frame("after", false));
  });
  EXPECT_EQ(received(), (Strings{"text:a", "text:farewell", "close:1000 bye"}));
}

TEST_F(ConnectionTest, AServerCloseWithoutAnAnswerEndsAtTheHandshakeTimeout) {
  config.limits.handshake_timeout = 100ms;
  start();
  received();
  on_executor([&] { handler->socket().close(1001, "Server shutting down."); });
  EXPECT_EQ(received(), (Strings{"text:farewell", "close:1001 Server shutting down."}));
  const auto took = run_until([&] { return handler->ended(); });
  EXPECT_GE(took, 90ms);
  EXPECT_EQ(handler->events, (Strings{"open", "closing: Server shutting down.", "closed"}));
  EXPECT_EQ(conn_->shutdowns, 0);
  EXPECT_TRUE(conn_->socket_closed);
}

TEST_F(ConnectionTest, AServerCloseWhileTheHandlerWaitsStillReadsTheClientsClose) {
  // A REST close while the client's event is upstream: reading resumes for the close frame.
  handler->message_hook = [](handler::Socket& s) { s.pause(); };
  start();
  received();
  client_sends(client_text("event") + client_text("held"));
  EXPECT_FALSE(conn_->read_armed());
  handler->socket().close(1000, "bye");
  settle();
  EXPECT_EQ(received(), (Strings{"text:farewell", "close:1000 bye"}));
  EXPECT_TRUE(conn_->read_armed());
  client_sends(client_close(1000));
  EXPECT_EQ(handler->events, (Strings{"open", "text:event", "closing: bye", "closed"}));
  EXPECT_EQ(conn_->shutdowns, 1);  // the handshake completed, no deadline needed
}

TEST_F(ConnectionTest, AHandlerWithoutAFarewellGetsOnlyTheCloseFrame) {
  handler->farewell = nullptr;
  start();
  received();
  on_executor([&] { handler->socket().close(1011, "x"); });
  EXPECT_EQ(received(), Strings{"close:1011 x"});
}

TEST_F(ConnectionTest, AHandlerClosingFromOnMessageHandlesNothingAfterIt) {
  handler->message_hook = [](handler::Socket& s) { s.close(1007, "bad"); };
  start();
  received();
  client_sends(client_text("bad") + client_text("next"));
  EXPECT_EQ(handler->events, (Strings{"open", "text:bad", "closing: bad"}));
  EXPECT_EQ(received(), (Strings{"text:farewell", "close:1007 bad"}));
}

// ---- protocol errors -----------------------------------------------------------------------

TEST_F(ConnectionTest, AnUnmaskedFrameIsAProtocolError) {
  start();
  received();
  client_sends(client_frame(0x1, "naked", /*masked=*/false));
  const Strings got = received();
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0], "text:farewell");
  EXPECT_EQ(got[1].rfind("close:1002 ", 0), 0U) << got[1];
  ASSERT_EQ(handler->events.size(), 2U);
  EXPECT_EQ(handler->events[1].rfind("closing: ", 0), 0U);
  EXPECT_EQ(server().counters.protocol_error_closes, 1U);
  // Its input cannot be parsed: no more sending, read until it hangs up.
  EXPECT_TRUE(conn_->send_shut);
  EXPECT_EQ(conn_->shutdowns, 0);
  on_executor([&] { conn_->hang_up(); });
  EXPECT_EQ(handler->events.back(), "closed");
}

TEST_F(ConnectionTest, AnOversizedMessageCloses1009NamingTheLimit) {
  config.limits.max_message_bytes = 16;
  start();
  received();
  client_sends(client_text(std::string(16, 'x')));
  client_sends(client_text(std::string(17, 'y')));
  EXPECT_EQ(received(), (Strings{"text:farewell",
                                 "close:1009 The message exceeds the maximum size of 16 bytes."}));
  EXPECT_EQ(handler->events,
            (Strings{"open", "text:" + std::string(16, 'x'),
                     "closing: The message exceeds the maximum size of 16 bytes."}));
}

// ---- slow consumers ------------------------------------------------------------------------

TEST_F(ConnectionTest, ASlowConsumerGetsOnlyTheFarewellAndA1008) {
  config.limits.max_pending_messages = 2;
  handler->open_hook = [](handler::Socket&) {};
  start();
  received();
  conn_->write_mode = MemoryConnection::WriteMode::pending;
  on_executor([&] { handler->socket().send(protocol::make_frame("in flight", false)); });
  // The client reads nothing; three more cannot wait behind it.
  for (const char* m : {"q1", "q2", "q3"})
    handler->socket().send(protocol::make_frame(m, false));
  settle();
  EXPECT_EQ(handler->events, (Strings{"open", "closing: SlowClient: the outgoing queue is full."}));
  EXPECT_EQ(server().counters.slow_consumer_closes, 1U);
  conn_->write_mode = MemoryConnection::WriteMode::done;
  on_executor([&] { conn_->complete_write(); });
  EXPECT_EQ(received(), (Strings{"text:in flight", "text:farewell",
                                 "close:1008 SlowClient: the outgoing queue is full."}));
}

TEST_F(ConnectionTest, AQueueWithinItsLimitsIsNoSlowConsumer) {
  config.limits.max_pending_messages = 2;
  start();
  received();
  conn_->write_mode = MemoryConnection::WriteMode::pending;
  on_executor([&] { handler->socket().send(protocol::make_frame("in flight", false)); });
  handler->socket().send(protocol::make_frame("q1", false));
  settle();
  conn_->write_mode = MemoryConnection::WriteMode::done;
  on_executor([&] { conn_->complete_write(); });
  EXPECT_EQ(received(), (Strings{"text:in flight", "text:q1"}));
  EXPECT_EQ(handler->events, Strings{"open"});
}

// ---- corking (one thread runs the loop) ------------------------------------------------------

TEST_F(ConnectionTest, FramesSentOnTheLoopLeaveTogetherOnceTheTurnsHandlersRan) {
  single_threaded = true;
  start();
  received();
  const int writes = conn_->writes;
  on_executor([&] {
    for (const char* m : {"a", "b", "c"})
      handler->socket().send(protocol::make_frame(m, false));
    EXPECT_EQ(conn_->writes, writes);  // nothing written while the handler runs
  });
  EXPECT_EQ(received(), (Strings{"text:a", "text:b", "text:c"}));
  EXPECT_EQ(conn_->writes, writes + 1);
}

TEST_F(ConnectionTest, ABusyLoopHoldsFramesUntilTheCoalescingWindowEndsThenWritesThemAtOnce) {
  single_threaded = true;
  config.limits.write_coalesce_window = 300ms;
  config.limits.write_coalesce_min_writes = 1;  // one connection written makes the loop busy
  start();
  received();
  const int writes = conn_->writes;
  // The first flush of the window goes out at the end of its turn and makes the loop busy.
  on_executor([&] { handler->socket().send(protocol::make_frame("a", false)); });
  EXPECT_EQ(received(), (Strings{"text:a"}));
  EXPECT_EQ(conn_->writes, writes + 1);
  // Frames sent in later turns of the same window wait for its end, then leave in one write.
  const auto sent = Clock::now();
  on_executor([&] { handler->socket().send(protocol::make_frame("b", false)); });
  on_executor([&] { handler->socket().send(protocol::make_frame("c", false)); });
  EXPECT_EQ(conn_->writes, writes + 1);
  EXPECT_TRUE(conn_->written.empty());
  run_until([&] { return conn_->writes > writes + 1; });
  EXPECT_GE(Clock::now() - sent, 150ms);
  EXPECT_EQ(received(), (Strings{"text:b", "text:c"}));
  EXPECT_EQ(conn_->writes, writes + 2);
}

TEST_F(ConnectionTest, AQuietLoopWritesEveryTurnWithoutWaiting) {
  single_threaded = true;
  config.limits.write_coalesce_window = 300ms;
  config.limits.write_coalesce_min_writes = 1000;  // far more than this test writes
  start();
  received();
  const int writes = conn_->writes;
  for (const char* m : {"a", "b", "c"}) {
    on_executor([&] { handler->socket().send(protocol::make_frame(m, false)); });
    EXPECT_EQ(received(), (Strings{std::string("text:") + m}));
  }
  EXPECT_EQ(conn_->writes, writes + 3);
}

TEST_F(ConnectionTest, AFrameSentOffTheLoopStaysAheadOfOneSentOnItLater) {
  single_threaded = true;
  start();
  received();
  on_executor([&] {
    // The drain that this send posts comes after this handler: the frame waits in the inbox.
    std::thread([&] {
      handler->socket().send(protocol::make_frame("from another thread", false));
    }).join();
    handler->socket().send(protocol::make_frame("on the loop", false));
  });
  EXPECT_EQ(received(), (Strings{"text:from another thread", "text:on the loop"}));
}

TEST_F(ConnectionTest, ACorkedSlowConsumerGetsOnlyTheFarewellAndA1008) {
  single_threaded = true;
  config.limits.max_pending_messages = 2;
  start();
  received();
  conn_->write_mode = MemoryConnection::WriteMode::pending;
  on_executor([&] { handler->socket().send(protocol::make_frame("in flight", false)); });
  on_executor([&] {
    for (const char* m : {"q1", "q2", "q3"})
      handler->socket().send(protocol::make_frame(m, false));
  });
  EXPECT_EQ(handler->events, (Strings{"open", "closing: SlowClient: the outgoing queue is full."}));
  EXPECT_EQ(server().counters.slow_consumer_closes, 1U);
  conn_->write_mode = MemoryConnection::WriteMode::done;
  on_executor([&] { conn_->complete_write(); });
  EXPECT_EQ(received(), (Strings{"text:in flight", "text:farewell",
                                 "close:1008 SlowClient: the outgoing queue is full."}));
}

// ---- drops and keep-alive ------------------------------------------------------------------

TEST_F(ConnectionTest, ADropWithoutACloseIsRecoverable) {
  start();
  on_executor([&] { conn_->hang_up(); });
  EXPECT_EQ(handler->events, (Strings{"open", "closed recoverable"}));
  EXPECT_TRUE(conn_->socket_closed);
  EXPECT_EQ(conn_->shutdowns, 0);
}

TEST_F(ConnectionTest, AFailedWriteIsADrop) {
  start();
  conn_->write_mode = MemoryConnection::WriteMode::failed;
  handler->socket().send(protocol::make_frame("x", false));
  settle();
  EXPECT_EQ(handler->events, (Strings{"open", "closed recoverable"}));
}

TEST_F(ConnectionTest, APendingWriteThatFailsIsADrop) {
  start();
  conn_->write_mode = MemoryConnection::WriteMode::pending;
  handler->socket().send(protocol::make_frame("x", false));
  settle();
  on_executor([&] { conn_->fail_write(); });
  EXPECT_EQ(handler->events, (Strings{"open", "closed recoverable"}));
}

TEST_F(ConnectionTest, KeepAlivePingsAfterTheIntervalAndDropsASilentClientAfterTwice) {
  config.limits.keep_alive_interval = 200ms;
  start();
  received();
  const auto start_time = Clock::now();
  run_until([&] { return !conn_->written.empty(); });
  const auto pinged_after = Clock::now() - start_time;
  EXPECT_EQ(received(), Strings{"ping"});
  EXPECT_GE(pinged_after, 190ms);
  EXPECT_FALSE(handler->ended());
  run_until([&] { return handler->ended(); });
  const auto dropped_after = Clock::now() - start_time;
  EXPECT_GE(dropped_after, 390ms);
  EXPECT_LT(dropped_after, 600ms);  // twice the interval, not three times
  EXPECT_EQ(handler->events, (Strings{"open", "closed recoverable"}));
  EXPECT_TRUE(received().empty());  // one ping only
  EXPECT_TRUE(conn_->socket_closed);
}

TEST_F(ConnectionTest, KeepAliveKeepsAClientThatAnswers) {
  config.limits.keep_alive_interval = 200ms;
  start();
  received();
  run_until([&] { return !conn_->written.empty(); });
  EXPECT_EQ(received(), Strings{"ping"});
  client_sends(client_frame(0xA, ""));
  const auto answered = Clock::now();
  // Past twice the interval since the start, not since the pong: still open.
  run_until([&] { return handler->ended(); }, 250ms);
  EXPECT_FALSE(handler->ended());
  EXPECT_LT(Clock::now() - answered, 400ms) << "the machine stalled: timing not checked";
  EXPECT_EQ(handler->events, Strings{"open"});
}

TEST_F(ConnectionTest, KeepAliveDoesNotDropAClientTheHandlerKeepsWaiting) {
  // Nothing is read while the handler holds the client's messages (an event handler slower than
  // twice the interval): that silence is the server's, not the client's.
  config.limits.keep_alive_interval = 100ms;
  handler->message_hook = [](handler::Socket& s) { s.pause(); };
  start();
  received();
  client_sends(client_text("event"));
  const auto paused_at = Clock::now();
  run_until([&] { return handler->ended(); }, 350ms);
  ASSERT_FALSE(handler->ended())
      << "dropped after "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - paused_at).count()
      << " ms";
  EXPECT_TRUE(received().empty());  // and not pinged: its answer could not be read
  // Resumed, it is a client like any other from then on: pinged after the interval, not dropped
  // at once for the time it waited.
  handler->message_hook = nullptr;
  on_executor([&] { handler->socket().resume(); });
  const auto resumed_at = Clock::now();
  run_until([&] { return handler->ended() || !conn_->written.empty(); }, 1s);
  ASSERT_FALSE(handler->ended())
      << "dropped "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - resumed_at).count()
      << " ms after resuming";
  EXPECT_EQ(received(), Strings{"ping"});
  client_sends(client_frame(0xA, ""));
  run_until([&] { return handler->ended(); }, 150ms);
  EXPECT_EQ(handler->events, (Strings{"open", "text:event"}));
}

TEST_F(ConnectionTest, AHandlerRefusingTheClientOnOpenClosesRightAfterThe101) {
  handler->open_hook = [](handler::Socket& s) { s.close(1008, "limit"); };
  start("", client_text("early"));
  EXPECT_EQ(received(), (Strings{"101", "text:farewell", "close:1008 limit"}));
  EXPECT_EQ(conn_->writes, 1);
  EXPECT_EQ(handler->events, (Strings{"open", "closing: limit"}));  // the early message dropped
}

}  // namespace
}  // namespace wps::transport
