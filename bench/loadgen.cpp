// loadgen: a single-threaded WebSocket load generator for webpubsub-server and peers.
//
// It opens N subscriber WebSockets (Azure Web PubSub simple / json / json.reliable / protobuf
// clients with tokens it mints itself, or plain WebSockets from a URL template for peers such as
// nginx+nchan), then publishes at stepped target rates over REST (keep-alive HTTP, a JWT per
// request), over a json.webpubsub.azure.v1 publisher connection (sendToGroup), or by HTTP POST to a
// generic URL. With --protocol mqtt the subscribers are MQTT 3.1.1 clients over WebSocket
// (subprotocol mqtt: CONNECT, SUBSCRIBE to the group's topic at QoS 0), against our
// /clients/mqtt/hubs/{hub} (with a token) or any MQTT broker's WebSocket listener (generic mode,
// e.g. Mosquitto), and --publish mqtt publishes with MQTT publisher connections (PUBLISH QoS 0),
// the same path for both servers. Each payload carries the send time (CLOCK_MONOTONIC ns) so every
// receiver computes end-to-end latency into a log-linear histogram. Per step it reads the server's
// CPU time and RSS from /proc/<pid>/stat, and its own CPU time, so results carry deliveries per
// server CPU-second.
//
// The WebSocket client side is hand-rolled (handshake and frame parser over raw Asio sockets):
// one read syscall drains every frame queued for a socket, which keeps the generator cheaper per
// delivery than the server under test. Loopback only; every run is bounded by --duration.
//
// Output: human lines on stderr, one JSON result line on stdout.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

// ---------------------------------------------------------------------------------------------
// Time, options

std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

double seconds_since(std::uint64_t start_ns) {
  return static_cast<double>(now_ns() - start_ns) / 1e9;
}

struct Options {
  std::string mode = "awps";  // awps | generic
  std::string host = "localhost";  // Host header / token audience host
  std::string connect_ip = "127.0.0.1";
  unsigned short port = 8080;
  unsigned short publish_port = 0;  // REST / ws publishers connect here; 0 = port (cross-node runs)
  std::string hub = "bench";
  std::string group = "g";
  std::size_t groups = 1;
  std::string key = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH";
  std::string protocol = "json";  // simple | json | reliable | protobuf | mqtt (3.1.1)
  std::size_t connections = 1000;
  // rest | ws | http | none | echo (each subscriber sends its own messages: a webhook echo)
  // | members (each subscriber sends sendToGroup to its own group: small groups)
  // | rest-user (REST sendToUser to one subscriber per request, a JWT per request)
  // | mqtt (MQTT publisher connections: PUBLISH QoS 0 to the group's topic)
  std::string publish = "rest";
  std::string publish_url;       // generic: HTTP POST target ({g} = group index)
  std::string subscribe_url_template;  // generic: ws URL ({i} = connection index, {g} = group)
  std::vector<double> rates{100};
  double step_seconds = 5;
  double drain_seconds = 1;
  double duration = 60;  // hard bound on the whole run
  double hold_seconds = 0;  // idle mode: hold after connecting, then measure
  std::size_t payload = 256;
  int cpu = -1;
  int server_pid = 0;
  double slo_p99_ms = 100;
  double saturation = 0.95;
  bool no_stop = false;
  std::size_t connect_concurrency = 256;
  std::size_t per_source = 25000;
  std::size_t publish_conns = 4;
  double connect_timeout = 30;
  std::string label;
  std::string malloc_count_file;  // the server's allocation counters (bench/malloc_count.cpp)
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "loadgen: %s\n"
               "usage: loadgen [--mode awps|generic] [--port N] [--publish-port N] [--host H] "
               "[--hub H] [--group G]\n"
               "  [--groups K] [--key KEY] [--protocol simple|json|reliable|protobuf|mqtt] "
               "[--connections N]\n"
               "  [--publish rest|rest-user|ws|members|http|echo|mqtt|none] [--publish-url URL] "
               "[--subscribe-url-template URL]\n"
               "  [--rates r1,r2,...] [--step-seconds S] [--drain-seconds S] [--duration S]\n"
               "  [--hold-seconds S] [--payload BYTES] [--cpu N] [--server-pid PID]\n"
               "  [--slo-p99-ms MS] [--no-stop] [--connect-concurrency N] [--per-source N]\n"
               "  [--publish-conns N] [--connect-timeout S] [--label TEXT] "
               "[--malloc-count-file PATH]\n",
               why);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  auto need = [&](int& i) -> std::string {
    if (i + 1 >= argc) usage("missing value");
    return argv[++i];
  };
  auto num = [&](int& i) { return std::stod(need(i)); };
  auto count = [&](int& i) { return static_cast<std::size_t>(std::stoull(need(i))); };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mode") o.mode = need(i);
    else if (a == "--host") o.host = need(i);
    else if (a == "--connect-ip") o.connect_ip = need(i);
    else if (a == "--port") o.port = static_cast<unsigned short>(std::stoul(need(i)));
    else if (a == "--publish-port") o.publish_port = static_cast<unsigned short>(std::stoul(need(i)));
    else if (a == "--hub") o.hub = need(i);
    else if (a == "--group") o.group = need(i);
    else if (a == "--groups") o.groups = std::max<std::size_t>(1, count(i));
    else if (a == "--key") o.key = need(i);
    else if (a == "--protocol") o.protocol = need(i);
    else if (a == "--connections") o.connections = count(i);
    else if (a == "--publish") o.publish = need(i);
    else if (a == "--publish-url") o.publish_url = need(i);
    else if (a == "--subscribe-url-template") o.subscribe_url_template = need(i);
    else if (a == "--rates") {
      o.rates.clear();
      std::stringstream ss(need(i));
      std::string part;
      while (std::getline(ss, part, ',')) o.rates.push_back(std::stod(part));
    } else if (a == "--step-seconds") o.step_seconds = num(i);
    else if (a == "--drain-seconds") o.drain_seconds = num(i);
    else if (a == "--duration") o.duration = num(i);
    else if (a == "--hold-seconds") o.hold_seconds = num(i);
    else if (a == "--payload") o.payload = count(i);
    else if (a == "--cpu") o.cpu = std::stoi(need(i));
    else if (a == "--server-pid") o.server_pid = std::stoi(need(i));
    else if (a == "--slo-p99-ms") o.slo_p99_ms = num(i);
    else if (a == "--saturation") o.saturation = num(i);
    else if (a == "--no-stop") o.no_stop = true;
    else if (a == "--connect-concurrency") o.connect_concurrency = std::max<std::size_t>(1, count(i));
    else if (a == "--per-source") o.per_source = std::max<std::size_t>(1, count(i));
    else if (a == "--publish-conns") o.publish_conns = std::max<std::size_t>(1, count(i));
    else if (a == "--connect-timeout") o.connect_timeout = num(i);
    else if (a == "--label") o.label = need(i);
    else if (a == "--malloc-count-file")
      o.malloc_count_file = need(i);
    else if (a == "--help" || a == "-h") usage("help");
    else usage(("unknown argument " + a).c_str());
  }
  if (o.mode != "awps" && o.mode != "generic") usage("--mode must be awps or generic");
  if (o.mode == "generic") {
    if (o.subscribe_url_template.empty()) usage("generic mode needs --subscribe-url-template");
    // An MQTT broker: its own MQTT publishers (the subscribe URL); members: each subscriber sends
    // its bare payload, which the server publishes to that subscriber's topic (small groups);
    // anything else: HTTP POST.
    if (o.publish != "none" && o.publish != "members")
      o.publish = o.protocol == "mqtt" ? "mqtt" : "http";
    if (o.publish == "http" && o.publish_url.empty()) usage("generic mode needs --publish-url");
  }
  if ((o.publish == "members") && o.protocol != "json" && o.protocol != "protobuf")
    usage("--publish members needs --protocol json or protobuf");
  if (o.protocol != "simple" && o.protocol != "json" && o.protocol != "reliable" &&
      o.protocol != "protobuf" && o.protocol != "mqtt")
    usage("--protocol must be simple, json, reliable, protobuf or mqtt");
  if (o.publish == "mqtt" && o.protocol != "mqtt")
    usage("--publish mqtt needs --protocol mqtt");
  if (o.protocol == "mqtt" && o.publish != "mqtt" && o.publish != "rest" && o.publish != "ws" &&
      o.publish != "none")
    usage("--protocol mqtt takes --publish mqtt, rest, ws or none");
  if (o.duration <= 0 || o.duration > 600) usage("--duration must be in (0, 600]");
  return o;
}

std::string replace_all(std::string s, std::string_view what, std::string_view with) {
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
  return s;
}

// ---------------------------------------------------------------------------------------------
// HS256 JWT

std::string base64url(std::string_view in) {
  static constexpr char tbl[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i + 1 == in.size()) {
    const std::uint32_t v = byte(i) << 16;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
  }
  return out;
}

std::string jwt_hs256(const json::object& claims, const std::string& key) {
  static const std::string header = base64url(R"({"alg":"HS256","typ":"JWT"})");
  std::string signing_input = header + "." + base64url(json::serialize(claims));
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
       mac.data(), &mac_len);
  signing_input += '.';
  signing_input += base64url(std::string_view(reinterpret_cast<const char*>(mac.data()), mac_len));
  return signing_input;
}

std::int64_t unix_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// ---------------------------------------------------------------------------------------------
// Histogram: log-linear buckets (32 per power of two, ~3% resolution), values in ns.

class Histogram {
 public:
  void record(std::uint64_t v) {
    ++buckets_[index(v)];
    ++count_;
    max_ = std::max(max_, v);
    sum_ += static_cast<double>(v);
  }
  void reset() { *this = Histogram(); }
  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0; }
  std::uint64_t percentile(double q) const {
    if (count_ == 0) return 0;
    const auto target = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= std::max<std::uint64_t>(target, 1)) return std::min(upper(i), max_);
    }
    return max_;
  }

 private:
  static std::size_t index(std::uint64_t v) {
    if (v < 64) return static_cast<std::size_t>(v);
    const int msb = 63 - std::countl_zero(v);
    const int shift = msb - 5;
    return static_cast<std::size_t>(shift) * 32 + static_cast<std::size_t>(v >> shift);
  }
  static std::uint64_t upper(std::size_t idx) {
    if (idx < 64) return idx;
    const std::size_t s = idx / 32 - 1;
    const std::uint64_t m = idx % 32 + 32;
    return ((m + 1) << s) - 1;
  }
  std::array<std::uint64_t, 64 * 32> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  double sum_ = 0;
};

// ---------------------------------------------------------------------------------------------
// /proc readers

struct ProcSample {
  double cpu_seconds = 0;  // utime + stime, all threads
  std::uint64_t rss_bytes = 0;
  bool ok = false;
};

ProcSample read_proc(int pid) {
  ProcSample s;
  std::ifstream f(pid > 0 ? "/proc/" + std::to_string(pid) + "/stat" : "/proc/self/stat");
  std::string line;
  if (!std::getline(f, line)) return s;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> fields;
  std::string field;
  while (rest >> field) fields.push_back(field);
  // fields[0] is field 3 (state): utime = field 14, stime = 15, rss = 24.
  if (fields.size() < 22) return s;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  s.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / tick;
  s.rss_bytes = std::stoull(fields[21]) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  s.ok = true;
  return s;
}

// The 1/5/15-minute load averages ("1.89 0.50 0.33"): benchmarks on a shared machine record them.
std::string read_loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// The allocation counters that bench/malloc_count.cpp keeps for the server (allocations, frees);
// zeros without the file.
struct AllocSample {
  std::uint64_t allocs = 0;
  std::uint64_t frees = 0;
  bool ok = false;
};

AllocSample read_allocs(const std::string& path) {
  AllocSample a;
  if (path.empty())
    return a;
  std::ifstream f(path, std::ios::binary);
  std::array<std::uint64_t, 2> v{};
  if (f.read(reinterpret_cast<char*>(v.data()), sizeof v)) {
    a.allocs = v[0];
    a.frees = v[1];
    a.ok = true;
  }
  return a;
}

struct SockStat {
  std::int64_t tcp_inuse = 0;
  std::int64_t tcp_mem_pages = 0;
};

SockStat read_sockstat() {
  SockStat s;
  std::ifstream f("/proc/net/sockstat");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("TCP:", 0) != 0) continue;
    std::istringstream in(line.substr(4));
    std::string k;
    std::int64_t v = 0;
    while (in >> k >> v) {
      if (k == "inuse") s.tcp_inuse = v;
      if (k == "mem") s.tcp_mem_pages = v;
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Shared run state

struct Counters {
  std::uint64_t connect_errors = 0;
  std::uint64_t handshake_errors = 0;
  std::uint64_t read_errors = 0;
  std::uint64_t server_closes = 0;
  std::uint64_t publish_errors = 0;
  std::uint64_t publish_non2xx = 0;
  std::uint64_t unparsed_frames = 0;
};

struct Run {
  Options opt;
  asio::io_context io{1};
  Counters err;
  Histogram hist;
  std::uint64_t delivered_total = 0;
  std::uint64_t delivered_window = 0;  // deliveries while the step's publish window is open
  bool window_open = false;
  std::uint64_t last_delivery_ns = 0;
  std::size_t connected = 0;
  std::size_t open = 0;  // connected and not closed
  std::uint64_t published = 0;
  std::string pad;  // payload filler
};

Run* g_run = nullptr;

// Payload: "@ts=<ns>;" + filler up to the requested size. Only [A-Za-z0-9@=;.] so it needs no
// escaping inside a JSON string.
std::string make_payload(std::uint64_t ts) {
  char head[48];
  const int n = std::snprintf(head, sizeof head, "@ts=%llu;", static_cast<unsigned long long>(ts));
  std::string p(head, static_cast<std::size_t>(n));
  if (p.size() < g_run->opt.payload) p.append(g_run->pad, 0, g_run->opt.payload - p.size());
  return p;
}

void note_delivery(std::string_view frame) {
  static constexpr std::string_view marker = "@ts=";
  const void* hit = memmem(frame.data(), frame.size(), marker.data(), marker.size());
  if (hit == nullptr) {
    ++g_run->err.unparsed_frames;
    return;
  }
  const char* p = static_cast<const char*>(hit) + marker.size();
  const char* end = frame.data() + frame.size();
  std::uint64_t ts = 0;
  while (p < end && *p >= '0' && *p <= '9') ts = ts * 10 + static_cast<std::uint64_t>(*p++ - '0');
  const std::uint64_t now = now_ns();
  g_run->hist.record(now > ts ? now - ts : 0);
  ++g_run->delivered_total;
  if (g_run->window_open) ++g_run->delivered_window;
  g_run->last_delivery_ns = now;
}

// protobuf.webpubsub.azure.v1 UpstreamMessage { send_to_group_message (1) { group (1),
// data (3): MessageData { text_data (1) } } }, without ack id or noEcho.
void append_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void append_field(std::string& out, unsigned field, std::string_view bytes) {
  append_varint(out, (field << 3) | 2u);  // length-delimited
  append_varint(out, bytes.size());
  out += bytes;
}
std::string protobuf_send_to_group(std::string_view group, std::string_view text) {
  std::string data;
  append_field(data, 1, text);
  std::string send;
  append_field(send, 1, group);
  append_field(send, 3, data);
  std::string upstream;
  append_field(upstream, 1, send);
  return upstream;
}

// MQTT 3.1.1 control packets (OASIS standard, section 3) that the generator sends, each in its
// own binary WebSocket frame. Remaining Length is the same base-128 varint as protobuf's.
constexpr unsigned k_mqtt_keep_alive_s = 120;  // our server takes 1..180 from a 3.1.1 client
void append_mqtt_string(std::string& out, std::string_view s) {
  out += static_cast<char>((s.size() >> 8) & 0xffu);
  out += static_cast<char>(s.size() & 0xffu);
  out += s;
}
std::string mqtt_packet(unsigned first_byte, std::string_view body) {
  std::string p;
  p.reserve(body.size() + 5);
  p += static_cast<char>(first_byte);
  append_varint(p, body.size());
  p += body;
  return p;
}
// Clean Session, no will, no user name or password (our server takes the token from the URL).
std::string mqtt_connect(std::string_view client_id) {
  std::string body;
  append_mqtt_string(body, "MQTT");
  body += '\x04';  // protocol level 4: 3.1.1
  body += '\x02';  // connect flags: Clean Session
  body += static_cast<char>((k_mqtt_keep_alive_s >> 8) & 0xffu);
  body += static_cast<char>(k_mqtt_keep_alive_s & 0xffu);
  append_mqtt_string(body, client_id);
  return mqtt_packet(0x10, body);
}
std::string mqtt_subscribe_qos0(std::string_view topic) {
  std::string body("\x00\x01", 2);  // packet identifier 1
  append_mqtt_string(body, topic);
  body += '\x00';  // requested QoS 0
  return mqtt_packet(0x82, body);
}
std::string mqtt_publish_qos0(std::string_view topic, std::string_view payload) {
  std::string body;
  body.reserve(topic.size() + payload.size() + 2);
  append_mqtt_string(body, topic);
  body += payload;
  return mqtt_packet(0x30, body);
}

// Client-to-server frames are masked (RFC 6455 5.3).
void append_masked_frame(std::string& out, unsigned opcode, std::string_view payload) {
  static std::uint32_t seed = 0x9e3779b9u;
  seed = seed * 1664525u + 1013904223u;
  const std::array<unsigned char, 4> mask{static_cast<unsigned char>(seed >> 24),
                                          static_cast<unsigned char>(seed >> 16),
                                          static_cast<unsigned char>(seed >> 8),
                                          static_cast<unsigned char>(seed)};
  out += static_cast<char>(0x80u | opcode);
  const std::size_t n = payload.size();
  if (n < 126) {
    out += static_cast<char>(0x80u | n);
  } else if (n < 65536) {
    out += static_cast<char>(0x80u | 126u);
    out += static_cast<char>((n >> 8) & 0xffu);
    out += static_cast<char>(n & 0xffu);
  } else {
    out += static_cast<char>(0x80u | 127u);
    for (int s = 56; s >= 0; s -= 8) out += static_cast<char>((n >> s) & 0xffu);
  }
  for (unsigned char m : mask) out += static_cast<char>(m);
  const std::size_t base = out.size();
  out.append(payload);
  for (std::size_t i = 0; i < n; ++i)
    out[base + i] = static_cast<char>(static_cast<unsigned char>(out[base + i]) ^ mask[i & 3]);
}

// ---------------------------------------------------------------------------------------------
// WebSocket connection (subscriber, and the JSON-protocol publisher)

struct Target {
  std::string host_header;  // host:port
  std::string path;         // path + query
  tcp::endpoint endpoint;
};

Target parse_ws_url(const std::string& url) {
  auto r = boost::urls::parse_uri(url);
  if (!r) usage(("bad URL " + url).c_str());
  Target t;
  const std::string host = r->host();
  const unsigned short port = r->has_port() ? r->port_number()
                                            : static_cast<unsigned short>(r->scheme() == "wss" || r->scheme() == "https" ? 443 : 80);
  t.host_header = host + ":" + std::to_string(port);
  t.path = std::string(r->encoded_path().empty() ? "/" : r->encoded_path());
  if (r->has_query()) t.path += "?" + std::string(r->encoded_query());
  const std::string ip = (host == "localhost") ? "127.0.0.1" : host;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(ip, ec);
  if (ec || !addr.is_loopback()) usage("only loopback targets are allowed");
  t.endpoint = tcp::endpoint(addr, port);
  return t;
}

class WsConn : public std::enable_shared_from_this<WsConn> {
 public:
  WsConn(std::size_t index, Target target, std::string subprotocol, bool is_publisher)
      : index_(index),
        target_(std::move(target)),
        subprotocol_(std::move(subprotocol)),
        publisher_(is_publisher),
        mqtt_(subprotocol_ == "mqtt"),
        sock_(g_run->io) {
    rbuf_.resize(publisher_ ? 16384 : 4096);
  }

  // MQTT connections: the client id of their CONNECT and the topic a subscriber subscribes to
  // (empty for a publisher). They are ready after CONNACK (publisher) or SUBACK (subscriber).
  void mqtt_identity(std::string client_id, std::string topic) {
    mqtt_client_id_ = std::move(client_id);
    mqtt_topic_ = std::move(topic);
  }

  template <class OnReady>
  void start(std::optional<asio::ip::address_v4> source, OnReady on_ready) {
    on_ready_ = std::move(on_ready);
    boost::system::error_code ec;
    sock_.open(tcp::v4(), ec);
    if (!ec && source) {
      int one = 1;
      ::setsockopt(sock_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sock_.bind(tcp::endpoint(*source, 0), ec);
    }
    if (ec) return fail_connect();
    auto self = shared_from_this();
    sock_.async_connect(target_.endpoint, [self](boost::system::error_code e) {
      if (e) return self->fail_connect();
      self->sock_.set_option(tcp::no_delay(true));
      // Reset instead of FIN on exit: no TIME_WAIT left behind, so back-to-back runs do not run
      // out of ephemeral ports (28k per source address).
      self->sock_.set_option(asio::socket_base::linger(true, 0));
      self->send_handshake();
    });
  }

  void send_text(std::string_view payload) {
    append_masked_frame(wbuf_pending_, 1, payload);
    flush();
  }
  void send_binary(std::string_view payload) {
    append_masked_frame(wbuf_pending_, 2, payload);
    flush();
  }
  bool is_open() const { return open_; }
  bool is_ready() const { return open_ && (!mqtt_ || mqtt_ready_); }
  void send_mqtt_publish(std::string_view topic, std::string_view payload) {
    send_binary(mqtt_publish_qos0(topic, payload));
  }
  void mqtt_ping() {
    if (mqtt_ready_ && open_)
      send_binary(std::string_view("\xc0\x00", 2));  // PINGREQ
  }
  std::size_t queued_bytes() const { return wbuf_pending_.size() + wbuf_inflight_.size(); }
  void maybe_sequence_ack(bool force) {
    if (last_seq_ > acked_seq_ && (force || last_seq_ - acked_seq_ >= 100)) {
      acked_seq_ = last_seq_;
      send_text(R"({"type":"sequenceAck","sequenceId":)" + std::to_string(last_seq_) + "}");
    }
  }

 private:
  void fail_connect() {
    ++g_run->err.connect_errors;
    finish_ready(false);
  }
  void finish_ready(bool ok) {
    if (on_ready_) {
      auto f = std::move(on_ready_);
      on_ready_ = nullptr;
      f(ok);
    }
  }

  void send_handshake() {
    req_ = "GET " + target_.path + " HTTP/1.1\r\nHost: " + target_.host_header +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    if (!subprotocol_.empty()) req_ += "Sec-WebSocket-Protocol: " + subprotocol_ + "\r\n";
    req_ += "\r\n";
    auto self = shared_from_this();
    asio::async_write(sock_, asio::buffer(req_), [self](boost::system::error_code e, std::size_t) {
      if (e) return self->fail_connect();
      self->req_.clear();
      self->read_handshake();
    });
  }

  void read_handshake() {
    auto self = shared_from_this();
    sock_.async_read_some(asio::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                          [self](boost::system::error_code e, std::size_t n) {
                            if (e) return self->fail_connect();
                            self->rlen_ += n;
                            const std::string_view got(self->rbuf_.data(), self->rlen_);
                            const auto end = got.find("\r\n\r\n");
                            if (end == std::string_view::npos) {
                              if (self->rlen_ == self->rbuf_.size()) {
                                ++g_run->err.handshake_errors;
                                return self->finish_ready(false);
                              }
                              return self->read_handshake();
                            }
                            if (got.substr(0, 12) != "HTTP/1.1 101") {
                              if (g_run->err.handshake_errors++ < 3)
                                std::fprintf(stderr, "handshake refused: %.*s\n",
                                             static_cast<int>(std::min<std::size_t>(end, 200)), got.data());
                              return self->finish_ready(false);
                            }
                            const std::size_t consumed = end + 4;
                            std::memmove(self->rbuf_.data(), self->rbuf_.data() + consumed, self->rlen_ - consumed);
                            self->rlen_ -= consumed;
                            self->open_ = true;
                            ++g_run->open;
                            if (self->mqtt_)
                              self->send_binary(mqtt_connect(self->mqtt_client_id_));
                            else
                              self->finish_ready(true);
                            self->parse_frames();
                            self->read_frames();
                          });
  }

  void read_frames() {
    if (!open_) return;
    if (rlen_ == rbuf_.size()) rbuf_.resize(rbuf_.size() * 2);
    auto self = shared_from_this();
    sock_.async_read_some(asio::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                          [self](boost::system::error_code e, std::size_t n) {
                            if (e) {
                              if (self->open_) ++g_run->err.read_errors;
                              return self->close();
                            }
                            self->rlen_ += n;
                            self->parse_frames();
                            self->read_frames();
                          });
  }

  void parse_frames() {
    const auto* b = reinterpret_cast<const unsigned char*>(rbuf_.data());
    std::size_t pos = 0;
    while (open_ && rlen_ - pos >= 2) {
      const unsigned opcode = b[pos] & 0x0fu;
      const bool masked = (b[pos + 1] & 0x80u) != 0;
      std::uint64_t len = b[pos + 1] & 0x7fu;
      std::size_t hdr = 2;
      if (len == 126) {
        if (rlen_ - pos < 4) break;
        len = (static_cast<std::uint64_t>(b[pos + 2]) << 8) | b[pos + 3];
        hdr = 4;
      } else if (len == 127) {
        if (rlen_ - pos < 10) break;
        len = 0;
        for (std::size_t k = 0; k < 8; ++k) len = (len << 8) | b[pos + 2 + k];
        hdr = 10;
      }
      if (masked) hdr += 4;  // servers do not mask; tolerate it anyway (payload left masked)
      if (rlen_ - pos < hdr + len) {
        if (hdr + len > rbuf_.size()) rbuf_.resize(static_cast<std::size_t>(hdr + len) + 4096);
        break;
      }
      const std::string_view payload(rbuf_.data() + pos + hdr, static_cast<std::size_t>(len));
      on_frame(opcode, payload);
      pos += hdr + static_cast<std::size_t>(len);
    }
    if (pos > 0) {
      std::memmove(rbuf_.data(), rbuf_.data() + pos, rlen_ - pos);
      rlen_ -= pos;
    }
  }

  void on_frame(unsigned opcode, std::string_view payload) {
    switch (opcode) {
      case 0x0:
      case 0x1:
      case 0x2:
        if (mqtt_) {
          if (opcode == 0x1) {
            ++g_run->err.unparsed_frames;  // MQTT travels in binary frames only
            return;
          }
          return on_mqtt_bytes(payload);
        }
        if (publisher_) return;  // acks and the connected message
        if (payload.size() > 11 && payload.substr(0, 10) == R"({"type":"s)") return;  // system
        // protobuf.webpubsub.azure.v1: a DownstreamMessage; only data_message (field 2, tag 0x12)
        // carries a delivery (ack_message is 0x0a, system_message 0x1a).
        if (opcode == 0x2 && g_run->opt.protocol == "protobuf" && !payload.empty() && payload[0] != '\x12') return;
        note_delivery(payload);
        if (g_run->opt.protocol == "reliable") {
          static constexpr std::string_view k = R"("sequenceId":)";
          const auto at = payload.find(k);
          if (at != std::string_view::npos) {
            std::uint64_t v = 0;
            for (std::size_t i = at + k.size(); i < payload.size() && payload[i] >= '0' && payload[i] <= '9'; ++i)
              v = v * 10 + static_cast<std::uint64_t>(payload[i] - '0');
            last_seq_ = std::max(last_seq_, v);
            maybe_sequence_ack(false);
          }
        }
        return;
      case 0x8:
        ++g_run->err.server_closes;
        if (g_run->err.server_closes <= 3)
          std::fprintf(stderr, "server closed connection %zu: code %u %.*s\n", index_,
                       payload.size() >= 2 ? (static_cast<unsigned>(static_cast<unsigned char>(payload[0])) << 8) |
                                                 static_cast<unsigned char>(payload[1])
                                           : 0u,
                       static_cast<int>(payload.size() > 2 ? payload.size() - 2 : 0),
                       payload.size() > 2 ? payload.data() + 2 : "");
        return close();
      case 0x9:
        append_masked_frame(wbuf_pending_, 0xA, payload);
        flush();
        return;
      default:
        return;
    }
  }

  // A WebSocket frame may hold several MQTT packets or part of one: whole packets are read in
  // place, only a partial tail is kept (and completed by the next frames).
  void on_mqtt_bytes(std::string_view bytes) {
    if (mqtt_in_.empty()) {
      const std::size_t used = parse_mqtt(bytes);
      if (used < bytes.size() && open_)
        mqtt_in_.assign(bytes.substr(used));
      return;
    }
    mqtt_in_.append(bytes);
    const std::size_t used = parse_mqtt(mqtt_in_);
    mqtt_in_.erase(0, used);
  }

  std::size_t parse_mqtt(std::string_view s) {
    std::size_t pos = 0;
    while (open_ && s.size() - pos >= 2) {
      // Fixed header: type and flags, then Remaining Length in 1 to 4 bytes.
      std::size_t len = 0, hdr = 1;
      bool complete = false;
      for (unsigned shift = 0; hdr < 5 && pos + hdr < s.size(); shift += 7) {
        const auto b = static_cast<unsigned char>(s[pos + hdr++]);
        len |= static_cast<std::size_t>(b & 0x7fu) << shift;
        if ((b & 0x80u) == 0) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (hdr < 5)
          break;  // the length continues in the next frame
        ++g_run->err.unparsed_frames;
        close();
        return s.size();
      }
      if (s.size() - pos - hdr < len)
        break;
      on_mqtt_packet(static_cast<unsigned char>(s[pos]), s.substr(pos + hdr, len));
      pos += hdr + len;
    }
    return pos;
  }

  void mqtt_refused(const char* what, std::string_view body) {
    if (g_run->err.handshake_errors++ < 3)
      std::fprintf(
          stderr, "MQTT %s refused connection %zu: code %u\n", what, index_,
          body.size() >= 2 ? static_cast<unsigned>(static_cast<unsigned char>(body.back())) : 0u);
    finish_ready(false);
    close();
  }

  void on_mqtt_packet(unsigned char first, std::string_view body) {
    switch (first >> 4) {
      case 3: {  // PUBLISH: topic, packet identifier when QoS > 0, payload
        const unsigned qos = (first >> 1) & 3u;
        const std::size_t topic_len =
            body.size() < 2 ? 0
                            : (static_cast<std::size_t>(static_cast<unsigned char>(body[0])) << 8) |
                                  static_cast<unsigned char>(body[1]);
        const std::size_t at = 2 + topic_len + (qos > 0 ? 2 : 0);
        if (body.size() < 2 || at > body.size()) {
          ++g_run->err.unparsed_frames;
          return;
        }
        if (qos == 1) {  // e.g. groups joined through the token or REST: acknowledge
          std::string ack("\x40\x02", 2);
          ack += body.substr(2 + topic_len, 2);
          send_binary(ack);
        }
        if (!publisher_)
          note_delivery(body.substr(at));
        return;
      }
      case 2:  // CONNACK: flags, return code
        if (body.size() < 2 || body[1] != 0)
          return mqtt_refused("CONNECT", body);
        if (mqtt_topic_.empty())
          return mqtt_ready();
        return send_binary(mqtt_subscribe_qos0(mqtt_topic_));
      case 9:  // SUBACK: packet identifier, one return code (0x80 = failure)
        if (body.size() < 3 || static_cast<unsigned char>(body[2]) == 0x80)
          return mqtt_refused("SUBSCRIBE", body);
        return mqtt_ready();
      case 14:  // DISCONNECT (a 5.0 server's; a 3.1.1 server just closes)
        ++g_run->err.server_closes;
        return close();
      default:  // PINGRESP, PUBACK
        return;
    }
  }

  void mqtt_ready() {
    mqtt_ready_ = true;
    finish_ready(true);
  }

  void flush() {
    if (writing_ || wbuf_pending_.empty() || !open_) return;
    writing_ = true;
    wbuf_inflight_.swap(wbuf_pending_);
    auto self = shared_from_this();
    asio::async_write(sock_, asio::buffer(wbuf_inflight_), [self](boost::system::error_code e, std::size_t) {
      self->writing_ = false;
      self->wbuf_inflight_.clear();
      if (e) {
        if (self->open_) ++g_run->err.read_errors;
        return self->close();
      }
      self->flush();
    });
  }

  void close() {
    if (!open_) return;
    open_ = false;
    --g_run->open;
    boost::system::error_code ec;
    sock_.close(ec);
    finish_ready(false);  // closed during the MQTT handshake
  }

  std::size_t index_;
  Target target_;
  std::string subprotocol_;
  bool publisher_;
  bool mqtt_;
  bool mqtt_ready_ = false;
  std::string mqtt_client_id_, mqtt_topic_;
  std::string mqtt_in_;  // a partial MQTT packet
  tcp::socket sock_;
  std::vector<char> rbuf_;
  std::size_t rlen_ = 0;
  std::string req_;
  std::string wbuf_pending_, wbuf_inflight_;
  bool writing_ = false;
  bool open_ = false;
  std::uint64_t last_seq_ = 0, acked_seq_ = 0;
  std::function<void(bool)> on_ready_;
};

// ---------------------------------------------------------------------------------------------
// HTTP publisher (REST sendToGroup with a JWT per request, or a generic POST)

class HttpPublisher : public std::enable_shared_from_this<HttpPublisher> {
 public:
  explicit HttpPublisher(Target target) : target_(std::move(target)), sock_(g_run->io) {}

  void start(std::function<void(bool)> on_ready) {
    auto self = shared_from_this();
    sock_.async_connect(target_.endpoint, [self, on_ready](boost::system::error_code e) {
      if (e) {
        ++g_run->err.publish_errors;
        return on_ready(false);
      }
      self->sock_.set_option(tcp::no_delay(true));
      self->ready_ = true;
      on_ready(true);
    });
  }
  bool idle() const { return ready_ && !busy_; }

  // path: target path+query; bearer: optional token.
  void post(const std::string& path, const std::string& bearer, std::string body,
            std::function<void()> on_done) {
    busy_ = true;
    req_ = {};
    req_.method(http::verb::post);
    req_.target(path);
    req_.version(11);
    req_.set(http::field::host, target_.host_header);
    req_.set(http::field::content_type, "text/plain");
    if (!bearer.empty()) req_.set(http::field::authorization, "Bearer " + bearer);
    req_.body() = std::move(body);
    req_.prepare_payload();
    auto self = shared_from_this();
    http::async_write(sock_, req_, [self, on_done](boost::system::error_code e, std::size_t) {
      if (e) return self->broken(on_done);
      self->res_ = {};
      http::async_read(self->sock_, self->buf_, self->res_, [self, on_done](boost::system::error_code e2, std::size_t) {
        if (e2) return self->broken(on_done);
        const unsigned status = self->res_.result_int();
        if (status < 200 || status >= 300) {
          if (g_run->err.publish_non2xx++ < 3)
            std::fprintf(stderr, "publish answered %u: %.200s\n", status, self->res_.body().c_str());
        }
        self->busy_ = false;
        on_done();
      });
    });
  }

 private:
  void broken(const std::function<void()>& on_done) {
    ++g_run->err.publish_errors;
    ready_ = false;
    busy_ = false;
    boost::system::error_code ec;
    sock_.close(ec);
    on_done();
  }
  Target target_;
  tcp::socket sock_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  bool ready_ = false;
  bool busy_ = false;
};

// ---------------------------------------------------------------------------------------------
// Driver

std::string client_url_path(const Options& o) {
  return "/client/hubs/" + o.hub;
}

std::string client_token(const Options& o, std::size_t i, std::size_t group_index, bool publisher) {
  json::object claims;
  claims["aud"] = "http://" + o.host + ":" + std::to_string(o.port) + client_url_path(o);
  claims["exp"] = unix_now() + 3600;
  claims["iat"] = unix_now();
  claims["sub"] = (publisher ? "pub" : "u") + std::to_string(i);
  if (publisher) {
    claims["role"] = json::array{"webpubsub.sendToGroup"};
  } else {
    // Small-groups scenario: members publish to their own group.
    claims["role"] = o.publish == "members" ? json::array{"webpubsub.sendToGroup"} : json::array{};
    claims["webpubsub.group"] = json::array{json::string(o.group + std::to_string(group_index))};
  }
  return jwt_hs256(claims, o.key);
}

std::string mqtt_url_path(const Options& o) {
  return "/clients/mqtt/hubs/" + o.hub;
}

// An MQTT token: the audience names the MQTT endpoint. Subscribers may join their group by
// SUBSCRIBE (not through the token: that would deliver at QoS 1), publishers send to any group.
std::string mqtt_token(const Options& o, std::size_t i, std::size_t group_index, bool publisher) {
  json::object claims;
  claims["aud"] = "http://" + o.host + ":" + std::to_string(o.port) + mqtt_url_path(o);
  claims["exp"] = unix_now() + 3600;
  claims["iat"] = unix_now();
  claims["sub"] = (publisher ? "pub" : "u") + std::to_string(i);
  claims["role"] = publisher ? json::array{"webpubsub.sendToGroup"}
                             : json::array{json::string("webpubsub.joinLeaveGroup." + o.group +
                                                        std::to_string(group_index))};
  return jwt_hs256(claims, o.key);
}

std::string subprotocol_for(const std::string& protocol) {
  if (protocol == "mqtt")
    return "mqtt";
  if (protocol == "json") return "json.webpubsub.azure.v1";
  if (protocol == "reliable") return "json.reliable.webpubsub.azure.v1";
  if (protocol == "protobuf") return "protobuf.webpubsub.azure.v1";
  return "";
}

struct StepResult {
  double rate = 0;
  double seconds = 0;
  std::uint64_t published = 0;
  std::uint64_t delivered = 0;
  std::uint64_t delivered_window = 0;
  double expected = 0;
  Histogram hist;
  double server_cpu = 0;  // fraction of one core
  double self_cpu = 0;
  std::uint64_t server_rss = 0;
  std::size_t open = 0;
  AllocSample allocs;  // the server's allocations over the step and its drain
};

json::object counters_json() {
  const auto& e = g_run->err;
  return {{"connect", e.connect_errors},     {"handshake", e.handshake_errors},
          {"read", e.read_errors},           {"server_close", e.server_closes},
          {"publish", e.publish_errors},     {"publish_non2xx", e.publish_non2xx},
          {"unparsed_frames", e.unparsed_frames}};
}

double ms(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

asio::awaitable<void> sleep_for(double seconds) {
  asio::steady_timer t(g_run->io);
  t.expires_after(std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9)));
  co_await t.async_wait(asio::use_awaitable);
}

class Driver {
 public:
  explicit Driver(Run& run) : run_(run), o_(run.opt) {}

  asio::awaitable<void> main() {
    start_ns_ = now_ns();
    const ProcSample server0 = read_proc(o_.server_pid);
    const SockStat sock0 = read_sockstat();
    const ProcSample self0 = read_proc(0);

    co_await connect_all();
    if (o_.protocol == "mqtt")
      asio::co_spawn(run_.io, mqtt_keep_alive(), asio::detached);
    const double connect_seconds = connect_seconds_;
    std::fprintf(stderr, "connected %zu/%zu in %.2f s (%.0f handshakes/s); errors: connect %llu handshake %llu\n",
                 run_.connected, o_.connections, connect_seconds,
                 static_cast<double>(run_.connected) / std::max(connect_seconds, 1e-9),
                 static_cast<unsigned long long>(run_.err.connect_errors),
                 static_cast<unsigned long long>(run_.err.handshake_errors));

    json::object result;
    result["label"] = o_.label;
    result["loadavg"] = read_loadavg();
    result["slo_p99_ms"] = o_.slo_p99_ms;
    result["mode"] = o_.mode;
    result["protocol"] = o_.mode == "generic" && o_.protocol != "mqtt" ? "generic" : o_.protocol;
    result["publish"] = o_.publish;
    result["connections_requested"] = o_.connections;
    result["connections"] = run_.connected;
    result["groups"] = o_.groups;
    result["payload_bytes"] = o_.payload;
    result["connect_seconds"] = connect_seconds;
    result["handshakes_per_s"] = static_cast<double>(run_.connected) / std::max(connect_seconds, 1e-9);
    // Server and generator CPU during the connect phase (tokens were minted before it began).
    result["connect_server_cpu"] = connect_server_cpu_ / std::max(connect_seconds, 1e-9);
    result["connect_loadgen_cpu"] = connect_self_cpu_ / std::max(connect_seconds, 1e-9);
    result["handshakes_per_server_cpu_s"] =
        connect_server_cpu_ > 0 ? static_cast<double>(run_.connected) / connect_server_cpu_ : 0.0;
    if (o_.server_pid > 0)
      std::fprintf(stderr, "connect phase: server CPU %.0f%%, loadgen CPU %.0f%%, %.0f handshakes per server CPU-s\n",
                   result["connect_server_cpu"].as_double() * 100, result["connect_loadgen_cpu"].as_double() * 100,
                   result["handshakes_per_server_cpu_s"].as_double());

    if (o_.hold_seconds > 0) {
      co_await sleep_for(std::min(o_.hold_seconds, remaining()));
      const ProcSample server1 = read_proc(o_.server_pid);
      const SockStat sock1 = read_sockstat();
      const ProcSample self1 = read_proc(0);
      const double n = static_cast<double>(std::max<std::size_t>(run_.open, 1));
      json::object idle;
      idle["open"] = run_.open;
      idle["server_rss_before"] = server0.rss_bytes;
      idle["server_rss_after"] = server1.rss_bytes;
      idle["server_rss_per_conn"] =
          (static_cast<double>(server1.rss_bytes) - static_cast<double>(server0.rss_bytes)) / n;
      idle["tcp_mem_pages_before"] = sock0.tcp_mem_pages;
      idle["tcp_mem_pages_after"] = sock1.tcp_mem_pages;
      idle["tcp_inuse_after"] = sock1.tcp_inuse;
      // Kernel memory of both ends of every loopback connection, per connection.
      idle["tcp_mem_per_conn"] = static_cast<double>(sock1.tcp_mem_pages - sock0.tcp_mem_pages) *
                                 static_cast<double>(sysconf(_SC_PAGESIZE)) / n;
      idle["loadgen_rss"] = self1.rss_bytes;
      idle["loadgen_rss_per_conn"] = static_cast<double>(self1.rss_bytes - self0.rss_bytes) / n;
      idle["server_cpu_seconds_connect_and_hold"] = server1.cpu_seconds - server0.cpu_seconds;
      std::fprintf(stderr,
                   "idle: %zu open; server RSS %.1f -> %.1f MB (%.0f B/conn); kernel TCP mem %lld -> %lld pages "
                   "(%.0f B/conn, both ends); loadgen RSS %.1f MB\n",
                   run_.open, static_cast<double>(server0.rss_bytes) / 1e6, static_cast<double>(server1.rss_bytes) / 1e6,
                   idle["server_rss_per_conn"].as_double(), static_cast<long long>(sock0.tcp_mem_pages),
                   static_cast<long long>(sock1.tcp_mem_pages), idle["tcp_mem_per_conn"].as_double(),
                   static_cast<double>(self1.rss_bytes) / 1e6);
      result["idle"] = idle;
    }

    json::array steps;
    if (o_.publish != "none" && run_.connected > 0) {
      co_await start_publishers();
      for (double rate : o_.rates) {
        if (remaining() < o_.step_seconds + 0.5) {
          std::fprintf(stderr, "stopping: --duration reached\n");
          break;
        }
        StepResult s = co_await run_step(rate);
        const double p99 = ms(s.hist.percentile(0.99));
        json::object js;
        js["rate"] = s.rate;
        js["seconds"] = s.seconds;
        js["published"] = s.published;
        js["publish_per_s"] = static_cast<double>(s.published) / s.seconds;
        js["delivered"] = s.delivered;
        js["delivery_ratio"] = s.expected > 0 ? static_cast<double>(s.delivered) / s.expected : 0.0;
        js["deliveries_per_s"] = static_cast<double>(s.delivered_window) / s.seconds;
        js["server_cpu"] = s.server_cpu;
        js["deliveries_per_server_cpu_s"] =
            s.server_cpu > 0 ? static_cast<double>(s.delivered_window) / s.seconds / s.server_cpu : 0.0;
        js["loadgen_cpu"] = s.self_cpu;
        js["server_rss"] = s.server_rss;
        js["p50_ms"] = ms(s.hist.percentile(0.50));
        js["p99_ms"] = p99;
        js["p999_ms"] = ms(s.hist.percentile(0.999));
        js["max_ms"] = ms(s.hist.max());
        js["mean_ms"] = s.hist.mean() / 1e6;
        js["open"] = s.open;
        js["loadavg"] = read_loadavg();
        if (s.allocs.ok) {
          // Everything the server allocated from the step's start to the end of its drain: per
          // delivery, and per publish (the REST request, its JWT, the encoding).
          js["server_allocs"] = s.allocs.allocs;
          js["server_frees"] = s.allocs.frees;
          js["allocs_per_delivery"] = s.delivered > 0 ? static_cast<double>(s.allocs.allocs) /
                                                            static_cast<double>(s.delivered)
                                                      : 0.0;
          js["allocs_per_publish"] = s.published > 0 ? static_cast<double>(s.allocs.allocs) /
                                                           static_cast<double>(s.published)
                                                     : 0.0;
          std::fprintf(
              stderr,
              "  server allocations: %llu (%.3f per delivery, %.1f per publish), frees %llu\n",
              static_cast<unsigned long long>(s.allocs.allocs),
              js["allocs_per_delivery"].as_double(), js["allocs_per_publish"].as_double(),
              static_cast<unsigned long long>(s.allocs.frees));
        }
        std::fprintf(stderr,
                     "step rate %7.0f/s: published %6.0f/s, delivered %9.0f/s (%.3f of expected), p50 %.2f p99 %.2f "
                     "p99.9 %.2f max %.2f ms; server CPU %.0f%% (%.0f deliveries per CPU-s), loadgen CPU %.0f%%, "
                     "server RSS %.1f MB, open %zu\n",
                     rate, js["publish_per_s"].as_double(), js["deliveries_per_s"].as_double(),
                     js["delivery_ratio"].as_double(), js["p50_ms"].as_double(), p99, js["p999_ms"].as_double(),
                     js["max_ms"].as_double(), s.server_cpu * 100, js["deliveries_per_server_cpu_s"].as_double(),
                     s.self_cpu * 100, static_cast<double>(s.server_rss) / 1e6, s.open);
        steps.push_back(js);
        if (!o_.no_stop) {
          if (p99 > o_.slo_p99_ms) {
            std::fprintf(stderr, "stopping: p99 %.1f ms > %.1f ms\n", p99, o_.slo_p99_ms);
            result["stop_reason"] = "p99";
            break;
          }
          // Saturated: its core is busy AND it no longer takes the offered publish rate. A busy
          // core alone is not saturation for a server that coalesces writes: it then spends the
          // same core on more deliveries per write as the rate rises (docs/BENCHMARKS.md).
          const bool kept_up = js["publish_per_s"].as_double() >= 0.95 * rate;
          if (o_.server_pid > 0 && s.server_cpu >= o_.saturation && !kept_up) {
            std::fprintf(stderr, "stopping: server CPU %.0f%% >= %.0f%% and it took only %.0f of %.0f publishes/s\n",
                         s.server_cpu * 100, o_.saturation * 100, js["publish_per_s"].as_double(), rate);
            result["stop_reason"] = "server_saturated";
            break;
          }
          if (s.expected > 0 && static_cast<double>(s.delivered) < 0.95 * s.expected) {
            std::fprintf(stderr, "stopping: only %.1f%% delivered\n", 100.0 * static_cast<double>(s.delivered) / s.expected);
            result["stop_reason"] = "loss";
            break;
          }
        }
      }
    }
    result["steps"] = steps;
    result["errors"] = counters_json();
    result["open_at_end"] = run_.open;
    result["elapsed_seconds"] = seconds_since(start_ns_);
    std::cout << json::serialize(result) << std::endl;
    run_.io.stop();
  }

 private:
  double remaining() const { return o_.duration - seconds_since(start_ns_); }

  asio::awaitable<void> connect_all() {
    const bool mqtt = o_.protocol == "mqtt";
    const std::string subprotocol =
        o_.mode == "generic" && !mqtt ? "" : subprotocol_for(o_.protocol);
    const std::size_t n = o_.connections;
    subs_.reserve(n);
    // Mint every token first, so that the connect phase measures handshakes, not the generator.
    std::vector<std::string> tokens;
    if (o_.mode != "generic") {
      tokens.reserve(n);
      for (std::size_t i = 0; i < n; ++i)
        tokens.push_back(mqtt ? mqtt_token(o_, i, i % o_.groups, false)
                              : client_token(o_, i, i % o_.groups, false));
    }
    const std::uint64_t connect_start_ns = now_ns();
    const ProcSample server0 = read_proc(o_.server_pid);
    const ProcSample self0 = read_proc(0);
    std::size_t next = 0, in_flight = 0, done = 0;
    auto deadline = now_ns() + static_cast<std::uint64_t>(std::min(o_.connect_timeout, o_.duration) * 1e9);
    asio::steady_timer wake(run_.io);
    std::function<void()> launch = [&]() {
      while (in_flight < o_.connect_concurrency && next < n) {
        const std::size_t i = next++;
        const std::size_t g = i % o_.groups;
        Target t;
        if (o_.mode == "generic") {
          t = parse_ws_url(replace_all(replace_all(o_.subscribe_url_template, "{i}", std::to_string(i)), "{g}",
                                       std::to_string(g)));
        } else {
          t.host_header = o_.host + ":" + std::to_string(o_.port);
          t.path = (mqtt ? mqtt_url_path(o_) : client_url_path(o_)) +
                   "?access_token=" + std::move(tokens[i]);
          t.endpoint = tcp::endpoint(asio::ip::make_address(o_.connect_ip), o_.port);
        }
        std::optional<asio::ip::address_v4> source;
        if (n > o_.per_source) {
          source = asio::ip::address_v4(static_cast<asio::ip::address_v4::uint_type>(
              0x7f000001u + static_cast<std::uint32_t>(i / o_.per_source)));
        }
        auto c = std::make_shared<WsConn>(i, std::move(t), subprotocol, false);
        if (mqtt)
          c->mqtt_identity("s" + std::to_string(i), o_.group + std::to_string(g));
        subs_.push_back(c);
        ++in_flight;
        c->start(source, [&](bool ok) {
          --in_flight;
          ++done;
          if (ok) ++run_.connected;
          launch();
          if (done == n) wake.cancel();
        });
      }
    };
    launch();
    while (done < n && now_ns() < deadline) {
      wake.expires_after(std::chrono::milliseconds(50));
      boost::system::error_code ec;
      co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (done < n) std::fprintf(stderr, "connect phase timed out with %zu of %zu done\n", done, n);
    connect_seconds_ = seconds_since(connect_start_ns);
    connect_server_cpu_ = read_proc(o_.server_pid).cpu_seconds - server0.cpu_seconds;
    connect_self_cpu_ = read_proc(0).cpu_seconds - self0.cpu_seconds;
    // Let the connected / system messages settle.
    co_await sleep_for(0.3);
  }

  // MQTT servers close a connection that sends nothing for 1.5 x its Keep Alive (120 s).
  asio::awaitable<void> mqtt_keep_alive() {
    for (;;) {
      co_await sleep_for(60);
      for (auto& c : subs_)
        c->mqtt_ping();
      for (auto& c : ws_pubs_)
        c->mqtt_ping();
    }
  }

  std::string user_send_path(std::size_t user) const {
    return "/api/hubs/" + o_.hub + "/users/u" + std::to_string(user) + "/:send?api-version=2024-12-01";
  }
  unsigned short pub_port() const { return o_.publish_port != 0 ? o_.publish_port : o_.port; }

  asio::awaitable<void> start_publishers() {
    if (o_.publish == "rest-user") {
      // The server verifies a JWT on every request; the generator signs one per target user up
      // front (the audience is the request URL) so that its own cost per request stays low.
      user_tokens_.reserve(subs_.size());
      for (std::size_t u = 0; u < subs_.size(); ++u) {
        json::object claims;
        claims["aud"] = "http://" + o_.host + ":" + std::to_string(o_.port) + user_send_path(u);
        claims["exp"] = unix_now() + 3600;
        user_tokens_.push_back(jwt_hs256(claims, o_.key));
      }
    }
    const std::size_t k = (o_.publish == "echo" || o_.publish == "members") ? 0 : o_.publish_conns;
    std::size_t pending = k;
    asio::steady_timer wake(run_.io);
    auto ready = [&](bool) {
      if (--pending == 0) wake.cancel();
    };
    for (std::size_t i = 0; i < k; ++i) {
      if (o_.publish == "mqtt") {
        Target t;
        if (o_.mode == "generic") {
          t = parse_ws_url(replace_all(
              replace_all(o_.subscribe_url_template, "{i}", std::to_string(o_.connections + i)),
              "{g}", "0"));
        } else {
          t.host_header = o_.host + ":" + std::to_string(pub_port());
          t.path = mqtt_url_path(o_) + "?access_token=" + mqtt_token(o_, i, 0, true);
          t.endpoint = tcp::endpoint(asio::ip::make_address(o_.connect_ip), pub_port());
        }
        auto c = std::make_shared<WsConn>(i, std::move(t), "mqtt", true);
        c->mqtt_identity("p" + std::to_string(i), "");
        ws_pubs_.push_back(c);
        c->start(std::nullopt, ready);
      } else if (o_.publish == "ws") {
        Target t;
        t.host_header = o_.host + ":" + std::to_string(pub_port());
        t.path = client_url_path(o_) + "?access_token=" + client_token(o_, i, 0, true);
        t.endpoint = tcp::endpoint(asio::ip::make_address(o_.connect_ip), pub_port());
        auto c = std::make_shared<WsConn>(i, std::move(t), "json.webpubsub.azure.v1", true);
        ws_pubs_.push_back(c);
        c->start(std::nullopt, ready);
      } else {
        Target t;
        if (o_.publish == "http") {
          t = parse_ws_url(o_.publish_url);
        } else {
          t.host_header = o_.host + ":" + std::to_string(pub_port());
          t.endpoint = tcp::endpoint(asio::ip::make_address(o_.connect_ip), pub_port());
        }
        auto c = std::make_shared<HttpPublisher>(std::move(t));
        http_pubs_.push_back(c);
        c->start(ready);
      }
    }
    while (pending > 0) {
      wake.expires_after(std::chrono::seconds(5));
      boost::system::error_code ec;
      co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) break;
    }
    co_await sleep_for(0.2);
  }

  // Sends one message on a free publisher; false if none is free.
  bool publish_one() {
    const std::size_t g = pub_counter_ % o_.groups;
    if (o_.publish == "echo") {
      // Round-robin over the subscribers: each sends a timestamped text frame, which the server
      // hands to the event handler; the handler's reply comes back to the same client.
      for (std::size_t k = 0; k < subs_.size(); ++k) {
        auto& c = subs_[(pub_counter_ + k) % subs_.size()];
        if (!c->is_open() || c->queued_bytes() > (1u << 16)) continue;
        c->send_text(make_payload(now_ns()));
        pub_counter_ += k + 1;
        ++run_.published;
        return true;
      }
      return false;
    }
    if (o_.publish == "members") {
      // Round-robin over the subscribers: each sends sendToGroup (with echo) to its own group.
      for (std::size_t k = 0; k < subs_.size(); ++k) {
        const std::size_t i = (pub_counter_ + k) % subs_.size();
        auto& c = subs_[i];
        if (!c->is_open() || c->queued_bytes() > (1u << 16)) continue;
        const std::string group = o_.group + std::to_string(i % o_.groups);
        if (o_.mode == "generic")
          c->send_text(make_payload(now_ns()));
        else if (o_.protocol == "protobuf")
          c->send_binary(protobuf_send_to_group(group, make_payload(now_ns())));
        else
          c->send_text(R"({"type":"sendToGroup","group":")" + group + R"(","dataType":"text","data":")" +
                       make_payload(now_ns()) + "\"}");
        pub_counter_ += k + 1;
        ++run_.published;
        return true;
      }
      return false;
    }
    if (o_.publish == "mqtt") {
      for (std::size_t k = 0; k < ws_pubs_.size(); ++k) {
        auto& c = ws_pubs_[(pub_counter_ + k) % ws_pubs_.size()];
        if (!c->is_ready() || c->queued_bytes() > (1u << 20))
          continue;
        c->send_mqtt_publish(o_.group + std::to_string(g), make_payload(now_ns()));
        ++pub_counter_;
        ++run_.published;
        return true;
      }
      return false;
    }
    if (o_.publish == "ws") {
      for (std::size_t k = 0; k < ws_pubs_.size(); ++k) {
        auto& c = ws_pubs_[(pub_counter_ + k) % ws_pubs_.size()];
        if (!c->is_open() || c->queued_bytes() > (1u << 20)) continue;
        std::string msg = R"({"type":"sendToGroup","group":")" + o_.group + std::to_string(g) +
                          R"(","dataType":"text","noEcho":true,"data":")" + make_payload(now_ns()) + "\"}";
        c->send_text(msg);
        ++pub_counter_;
        ++run_.published;
        return true;
      }
      return false;
    }
    for (std::size_t k = 0; k < http_pubs_.size(); ++k) {
      auto& c = http_pubs_[(pub_counter_ + k) % http_pubs_.size()];
      if (!c->idle()) continue;
      std::string path, bearer;
      if (o_.publish == "http") {
        path = parse_ws_url(replace_all(o_.publish_url, "{g}", std::to_string(g))).path;
      } else if (o_.publish == "rest-user") {
        const std::size_t u = pub_counter_ % user_tokens_.size();
        path = user_send_path(u);
        bearer = user_tokens_[u];
      } else {
        path = "/api/hubs/" + o_.hub + "/groups/" + o_.group + std::to_string(g) + "/:send?api-version=2024-12-01";
        json::object claims;
        claims["aud"] = "http://" + o_.host + ":" + std::to_string(pub_port()) + path;
        claims["exp"] = unix_now() + 3600;
        bearer = jwt_hs256(claims, o_.key);
      }
      ++pub_counter_;
      ++run_.published;
      c->post(path, bearer, make_payload(now_ns()), [this] { pump(); });
      return true;
    }
    return false;
  }

  // Publishes what is due at the current rate.
  void pump() {
    if (!publishing_) return;
    const double due = step_rate_ * static_cast<double>(now_ns() - step_start_ns_) / 1e9;
    while (static_cast<double>(step_published_) < due) {
      if (!publish_one()) break;
      ++step_published_;
    }
  }

  asio::awaitable<StepResult> run_step(double rate) {
    StepResult s;
    s.rate = rate;
    run_.hist.reset();
    const std::uint64_t delivered0 = run_.delivered_total;
    run_.delivered_window = 0;
    const ProcSample server0 = read_proc(o_.server_pid);
    const ProcSample self0 = read_proc(0);
    const AllocSample allocs0 = read_allocs(o_.malloc_count_file);
    step_rate_ = rate;
    step_published_ = 0;
    step_start_ns_ = now_ns();
    publishing_ = true;
    run_.window_open = true;
    asio::steady_timer tick(run_.io);
    std::uint64_t last_ack_ns = step_start_ns_;
    const auto end_ns = step_start_ns_ + static_cast<std::uint64_t>(o_.step_seconds * 1e9);
    while (now_ns() < end_ns) {
      pump();
      if (o_.protocol == "reliable" && now_ns() - last_ack_ns > 1000000000ULL) {
        last_ack_ns = now_ns();
        for (auto& c : subs_)
          if (c->is_open()) c->maybe_sequence_ack(true);
      }
      tick.expires_after(std::chrono::microseconds(500));
      co_await tick.async_wait(asio::use_awaitable);
    }
    publishing_ = false;
    run_.window_open = false;
    s.seconds = static_cast<double>(now_ns() - step_start_ns_) / 1e9;
    const ProcSample server1 = read_proc(o_.server_pid);
    const ProcSample self1 = read_proc(0);
    s.server_cpu = (server1.cpu_seconds - server0.cpu_seconds) / s.seconds;
    s.self_cpu = (self1.cpu_seconds - self0.cpu_seconds) / s.seconds;
    s.server_rss = server1.rss_bytes;
    s.delivered_window = run_.delivered_window;
    s.published = step_published_;
    // Drain: wait until deliveries stop for 200 ms, at most drain_seconds.
    const auto drain_end = now_ns() + static_cast<std::uint64_t>(o_.drain_seconds * 1e9);
    while (now_ns() < drain_end && now_ns() - std::max(run_.last_delivery_ns, end_ns) < 200000000ULL)
      co_await sleep_for(0.02);
    s.delivered = run_.delivered_total - delivered0;
    if (const AllocSample allocs1 = read_allocs(o_.malloc_count_file); allocs0.ok && allocs1.ok) {
      s.allocs.allocs = allocs1.allocs - allocs0.allocs;
      s.allocs.frees = allocs1.frees - allocs0.frees;
      s.allocs.ok = true;
    }
    // Echo: every message comes back to its sender only.
    // rest-user: one connection per user.
    s.expected = (o_.publish == "echo" || o_.publish == "rest-user") ? static_cast<double>(s.published)
                                      : static_cast<double>(s.published) * static_cast<double>(run_.connected) /
                                            static_cast<double>(o_.groups);
    s.hist = run_.hist;
    s.open = run_.open;
    co_return s;
  }

  Run& run_;
  const Options& o_;
  std::uint64_t start_ns_ = 0;
  std::vector<std::shared_ptr<WsConn>> subs_;
  std::vector<std::shared_ptr<WsConn>> ws_pubs_;
  std::vector<std::shared_ptr<HttpPublisher>> http_pubs_;
  double connect_seconds_ = 0;
  double connect_server_cpu_ = 0;  // CPU-seconds over the connect phase
  double connect_self_cpu_ = 0;
  std::vector<std::string> user_tokens_;  // rest-user: one token per target user (its own URL)
  bool publishing_ = false;
  double step_rate_ = 0;
  std::uint64_t step_start_ns_ = 0;
  std::uint64_t step_published_ = 0;
  std::uint64_t pub_counter_ = 0;
};

void raise_nofile() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
    getrlimit(RLIMIT_NOFILE, &r);
    std::fprintf(stderr, "open-file limit %llu\n", static_cast<unsigned long long>(r.rlim_cur));
  }
}

void pin_cpu(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<std::size_t>(cpu), &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) std::perror("sched_setaffinity");
}

}  // namespace

int main(int argc, char** argv) {
  Run run;
  run.opt = parse_options(argc, argv);
  g_run = &run;
  run.pad.assign(std::max<std::size_t>(run.opt.payload, 64), 'x');
  pin_cpu(run.opt.cpu);
  raise_nofile();
  if (run.opt.mode == "awps") {
    boost::system::error_code ec;
    if (!asio::ip::make_address(run.opt.connect_ip, ec).is_loopback() || ec) usage("only loopback targets are allowed");
  }

  Driver driver(run);
  asio::co_spawn(run.io, driver.main(), [](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "loadgen: %s\n", ex.what());
      }
      std::exit(1);
    }
  });
  // Hard bound: whatever happens, stop after --duration plus a small grace.
  asio::steady_timer guard(run.io);
  guard.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(run.opt.duration * 1000) + 5000));
  guard.async_wait([&](boost::system::error_code ec) {
    if (!ec) {
      std::fprintf(stderr, "loadgen: hard time limit reached\n");
      std::exit(3);
    }
  });
  run.io.run();
  std::_Exit(0);  // skip tearing down thousands of sockets one by one
}
