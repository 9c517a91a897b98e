#include "webhook/dispatcher.hpp"

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>

#include "util/log.hpp"
#include "util/text.hpp"
#include "webhook/events.hpp"
#include "webhook/http_client.hpp"
#include "webhook/responses.hpp"

namespace wps::webhook {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr const char* kLog = "webhook";

// The URL without its query (which may carry a `code` secret), for logs.
std::string redact(std::string_view url) {
  return std::string(url.substr(0, url.find('?')));
}

bool is_2xx(unsigned status) {
  return status >= 200 && status < 300;
}

// The outcome of one call to a handler.
struct Outcome {
  bool called = false;  // a response arrived (see response.status)
  std::string error;    // why not, when !called
  HttpResponse response;
};

}  // namespace

struct Dispatcher::Impl : std::enable_shared_from_this<Impl> {
  core::Metrics* metrics = nullptr;  // set before the first event
  Impl(asio::any_io_executor exec, const config::Config& config, std::string host,
       DispatcherOptions opts)
      : executor(std::move(exec)),
        origin(std::move(host)),
        primary_key(config.primary_key),
        secondary_key(config.secondary_key),
        options(std::move(opts)),
        default_hub(config.default_hub),
        hubs(config.hubs) {}

  struct Validation {
    enum class State { pending, valid, invalid } state = State::pending;
    std::string reason;
    Clock::time_point at;
    std::vector<std::function<void(bool, std::string)>> waiters;
  };

  // One queued connected/disconnected event.
  struct SystemEvent {
    std::string hub;
    std::string connection_id;
    std::string event;
    HeaderList headers;
    std::string body;
  };

  // Fires a blocking event's completion once: on the outcome or on the overall deadline.
  struct Once {
    std::function<void(Outcome)> fn;
    std::atomic<bool> fired{false};
    std::atomic<std::uint64_t> guard{0};
    void fire(Outcome outcome) {
      if (fired.exchange(true))
        return;
      auto f = std::move(fn);
      f(std::move(outcome));
    }
  };

  asio::any_io_executor executor;
  const std::string origin;
  const std::string primary_key;
  const std::optional<std::string> secondary_key;
  const DispatcherOptions options;

  mutable std::mutex mutex;
  config::HubSettings default_hub;
  std::map<std::string, config::HubSettings> hubs;
  bool stopped = false;
  std::map<std::string, std::shared_ptr<Validation>> validations;  // by validation URL
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, std::shared_ptr<HttpCall>> calls;
  std::map<std::uint64_t, std::shared_ptr<asio::steady_timer>> timers;
  std::map<std::string, std::deque<SystemEvent>> queues;  // per connection, while busy
  std::atomic<std::uint64_t> event_ids{1};
  // Keep-alive connections to the handlers; shut down by stop().
  std::shared_ptr<ConnectionPool> pool = make_connection_pool();

  // ce-signature depends only on the connection id (the keys are fixed for the dispatcher's
  // life); computing it costs two HMACs, about 5 % of the server's CPU in the webhook-echo
  // benchmark. A 4-way set-associative cache of the ids seen last (round-robin replacement):
  // bounded, nothing to evict on disconnect, allocated on first use.
  struct SignatureSlot {
    std::string connection_id;
    std::string signature;
  };
  static constexpr std::size_t kSignatureWays = 4;
  static constexpr std::size_t kSignatureSets = 1024;
  std::mutex signature_mutex;
  std::vector<SignatureSlot> signatures;        // kSignatureSets * kSignatureWays
  std::vector<std::uint8_t> signature_victims;  // per set: the way replaced next

  std::string signature_of(const std::string& connection_id) {
    if (connection_id.empty())
      return compute_signature(connection_id, primary_key, secondary_key);
    const std::size_t set = std::hash<std::string>{}(connection_id) % kSignatureSets;
    {
      std::lock_guard lock(signature_mutex);
      if (signatures.empty()) {
        signatures.resize(kSignatureSets * kSignatureWays);
        signature_victims.resize(kSignatureSets);
      }
      for (std::size_t way = 0; way < kSignatureWays; ++way) {
        const auto& slot = signatures[set * kSignatureWays + way];
        if (slot.connection_id == connection_id)
          return slot.signature;
      }
    }
    auto signature = compute_signature(connection_id, primary_key, secondary_key);
    std::lock_guard lock(signature_mutex);
    auto& victim = signature_victims[set];
    auto& slot = signatures[set * kSignatureWays + victim];
    victim = static_cast<std::uint8_t>((victim + 1U) % kSignatureWays);
    slot.connection_id = connection_id;
    slot.signature = signature;
    return signature;
  }

  // ---- settings ---------------------------------------------------------------------------

  // Requires `mutex`.
  const config::HubSettings& settings_of(const std::string& hub) const {
    auto it = hubs.find(util::to_lower(hub));
    return it == hubs.end() ? default_hub : it->second;
  }

  std::optional<std::string> handler_template(const std::string& hub, std::string_view event,
                                              bool user) const {
    std::lock_guard lock(mutex);
    const auto* handler = select_handler(settings_of(hub), event, user);
    if (handler == nullptr)
      return std::nullopt;
    return handler->url_template;
  }

  // ---- timers and calls (cancelled by stop) -----------------------------------------------

  // Runs `fn(true)` after `delay`, or `fn(false)` when cancelled. Returns 0 (and never calls
  // `fn`) once stopped.
  std::uint64_t schedule(milliseconds delay, std::function<void(bool)> fn) {
    auto timer = std::make_shared<asio::steady_timer>(asio::make_strand(executor));
    std::uint64_t id = 0;
    {
      std::lock_guard lock(mutex);
      if (stopped)
        return 0;
      id = next_id++;
      timers.emplace(id, timer);
    }
    asio::post(timer->get_executor(),
               [self = shared_from_this(), timer, id, delay, fn = std::move(fn)]() mutable {
                 timer->expires_after(delay);
                 timer->async_wait([self, id, fn = std::move(fn)](boost::system::error_code ec) {
                   {
                     std::lock_guard lock(self->mutex);
                     self->timers.erase(id);
                   }
                   fn(!ec);
                 });
               });
    return id;
  }

  void cancel_timer(std::uint64_t id) {
    std::shared_ptr<asio::steady_timer> timer;
    {
      std::lock_guard lock(mutex);
      auto it = timers.find(id);
      if (it == timers.end())
        return;
      timer = it->second;
    }
    asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  }

  // One call of a handler in the metrics and the trace.
  void count(const std::string& hub, const std::string& event, const char* outcome,
             Clock::duration took, const std::string& detail) {
    if (metrics == nullptr)
      return;
    const double seconds = std::chrono::duration<double>(took).count();
    metrics->count_event_handler(hub, event, outcome, seconds);
    if (metrics->tracer.active()) {
      core::TraceEvent trace;
      trace.kind = "event-handler";
      trace.hub = hub;
      trace.detail = event + ": " + outcome + " (" + detail + ", " +
                     std::to_string(std::chrono::duration_cast<milliseconds>(took).count()) +
                     " ms)";
      metrics->tracer.emit(std::move(trace));
    }
  }

  void http(HttpRequest request, std::function<void(HttpResponse)> done) {
    request.ca_file = options.tls_ca_file;
    request.max_connections = options.max_connections_per_origin;
    std::uint64_t id = 0;
    std::shared_ptr<HttpCall> call;
    {
      std::lock_guard lock(mutex);
      if (!stopped) {
        id = next_id++;
        call = make_http_call(
            executor, std::move(request),
            [self = shared_from_this(), id, done = std::move(done)](HttpResponse response) {
              {
                std::lock_guard inner(self->mutex);
                self->calls.erase(id);
              }
              done(std::move(response));
            },
            pool);
        calls.emplace(id, call);
      }
    }
    if (!call) {
      HttpResponse response;
      response.error = "dispatcher stopped";
      done(std::move(response));
      return;
    }
    call->start();
  }

  // ---- abuse protection (§8.2) ------------------------------------------------------------

  void ensure_validated(const std::string& url, std::function<void(bool, std::string)> done) {
    std::shared_ptr<Validation> entry;
    bool start = false;
    bool verdict = false;
    std::string reason;
    {
      std::lock_guard lock(mutex);
      if (stopped) {
        reason = "dispatcher stopped";
      } else {
        auto& slot = validations[url];
        if (slot && slot->state == Validation::State::invalid &&
            Clock::now() - slot->at >= options.validation_failure_ttl) {
          slot.reset();  // try again
        }
        if (!slot) {
          slot = std::make_shared<Validation>();
          start = true;
        }
        entry = slot;
        switch (entry->state) {
          case Validation::State::pending:
            entry->waiters.push_back(std::move(done));
            break;
          case Validation::State::valid:
            verdict = true;
            break;
          case Validation::State::invalid:
            reason = entry->reason;
            break;
        }
      }
    }
    if (done) {
      done(verdict, std::move(reason));
      return;
    }
    if (start)
      validate(url, entry, "OPTIONS");
  }

  void validate(const std::string& url, const std::shared_ptr<Validation>& entry,
                std::string method) {
    HttpRequest request;
    request.method = method;
    request.url = url;
    request.headers = {{"WebHook-Request-Origin", origin}, {"ce-awpsversion", "1.0"}};
    request.timeout = options.validation_timeout;
    request.max_body_bytes = 64 * 1024;
    http(std::move(request),
         [self = shared_from_this(), url, entry, method](HttpResponse response) {
           if (response.completed && response.status == 404 && method == "OPTIONS") {
             self->validate(url, entry, "GET");
             return;
           }
           bool valid = false;
           std::string reason;
           if (!response.completed) {
             reason = "AbuseProtectionRequestFailed: " + response.error;
           } else if (!is_2xx(response.status)) {
             reason = "AbuseProtectionResponseInvalidStatusCode: " + method + " returned " +
                      std::to_string(response.status);
           } else if (!origin_allowed(response.values("WebHook-Allowed-Origin"), self->origin)) {
             reason =
                 "AbuseProtectionResponseMissingAllowedOrigin: no WebHook-Allowed-Origin equal "
                 "to * or " +
                 self->origin;
           } else {
             valid = true;
           }
           if (valid) {
             WPS_LOG(info, kLog) << "event handler " << redact(url) << " validated";
           } else {
             WPS_LOG(warn, kLog) << "event handler " << redact(url)
                                 << " failed validation and will not be called: " << reason;
           }
           std::vector<std::function<void(bool, std::string)>> waiters;
           {
             std::lock_guard lock(self->mutex);
             entry->state = valid ? Validation::State::valid : Validation::State::invalid;
             entry->reason = reason;
             entry->at = Clock::now();
             waiters.swap(entry->waiters);
           }
           for (auto& waiter : waiters)
             waiter(valid, reason);
         });
  }

  // ---- requests (§8.3) --------------------------------------------------------------------

  HeaderList event_headers(const ConnectionContext& context, std::string_view event, bool user,
                           std::string_view content_type) {
    HeaderList headers;
    headers.reserve(16);
    headers.emplace_back("Content-Type", std::string(content_type));
    headers.emplace_back("WebHook-Request-Origin", origin);
    headers.emplace_back("ce-specversion", "1.0");
    headers.emplace_back("ce-awpsversion", "1.0");
    const char* type_prefix = user                             ? "azure.webpubsub.user."
                              : is_group_presence_event(event) ? "azure.webpubsub.gp."
                                                               : "azure.webpubsub.sys.";
    headers.emplace_back("ce-type", type_prefix + std::string(event));
    headers.emplace_back("ce-source", "/hubs/" + context.hub + "/client/" + context.connection_id +
                                          (context.physical_connection_id.empty()
                                               ? std::string()
                                               : "/" + context.physical_connection_id));
    headers.emplace_back("ce-id", std::to_string(event_ids.fetch_add(1)));
    headers.emplace_back("ce-time", utc_timestamp(std::chrono::system_clock::now()));
    headers.emplace_back("ce-signature", signature_of(context.connection_id));
    if (context.user_id)
      headers.emplace_back("ce-userId", *context.user_id);
    headers.emplace_back("ce-connectionId", context.connection_id);
    headers.emplace_back("ce-hub", context.hub);
    headers.emplace_back("ce-eventName", std::string(event));
    if (!context.subprotocol.empty())
      headers.emplace_back("ce-subprotocol", context.subprotocol);
    if (!context.physical_connection_id.empty()) {
      // MQTT (spec mqtt §8.1): one session per network connection here, so both ids are the
      // network connection's.
      headers.emplace_back("ce-physicalConnectionId", context.physical_connection_id);
      if (event != "connect")
        headers.emplace_back("ce-sessionId", context.physical_connection_id);
    }
    if (context.state)
      headers.emplace_back("ce-connectionState", *context.state);
    if (!context.cookies.empty())
      headers.emplace_back("Cookie", context.cookies);
    return headers;
  }

  // Selects the handler, validates it, POSTs. `deadline`: blocking events (the POST gets the
  // time left); otherwise the POST gets options.system_event_timeout.
  void call_handler(const std::string& hub, const std::string& event, bool user, HeaderList headers,
                    std::string body, std::optional<Clock::time_point> deadline,
                    std::function<void(Outcome)> done) {
    auto url_template = handler_template(hub, event, user);
    if (!url_template) {
      Outcome outcome;
      outcome.error = "no event handler for " + std::string(user ? "user" : "system") + " event '" +
                      event + "'";
      done(std::move(outcome));
      return;
    }
    auto validation_url = expand_url_template(*url_template, hub, "validate");
    auto event_url = expand_url_template(*url_template, hub, event);
    ensure_validated(validation_url, [self = shared_from_this(), event_url,
                                      headers = std::move(headers), body = std::move(body),
                                      deadline, done = std::move(done), hub,
                                      event](bool valid, std::string reason) mutable {
      if (!valid) {
        Outcome outcome;
        outcome.error = "handler " + redact(event_url) + " failed validation: " + reason;
        self->count(hub, event, "invalid_handler", Clock::duration::zero(), outcome.error);
        done(std::move(outcome));
        return;
      }
      HttpRequest request;
      request.method = "POST";
      request.url = event_url;
      request.headers = std::move(headers);
      request.body = std::move(body);
      request.max_body_bytes = self->options.max_response_bytes;
      if (deadline) {
        auto left = std::chrono::duration_cast<milliseconds>(*deadline - Clock::now());
        request.timeout = std::max(left, milliseconds{1});
      } else {
        request.timeout = self->options.system_event_timeout;
      }
      const auto started = Clock::now();
      self->http(std::move(request), [self, hub = std::move(hub), event = std::move(event), started,
                                      done = std::move(done)](HttpResponse response) mutable {
        const char* result = response.completed
                                 ? (is_2xx(response.status) ? "success" : "http_error")
                             : response.timed_out ? "timeout"
                                                  : "failed";
        self->count(
            hub, event, result, Clock::now() - started,
            response.completed ? "status " + std::to_string(response.status) : response.error);
        Outcome outcome;
        outcome.called = response.completed;
        if (!response.completed)
          outcome.error = response.error;
        outcome.response = std::move(response);
        done(std::move(outcome));
      });
    });
  }

  void blocking(const ConnectionContext& context, const std::string& event, bool user,
                std::string_view content_type, std::string body, milliseconds timeout,
                std::function<void(Outcome)> done) {
    auto once = std::make_shared<Once>();
    once->fn = std::move(done);
    auto guard = schedule(timeout, [once, timeout](bool fired) {
      if (!fired)
        return;
      Outcome outcome;
      outcome.error = "timed out after " + std::to_string(timeout.count()) + " ms";
      once->fire(std::move(outcome));
    });
    if (guard == 0) {
      Outcome outcome;
      outcome.error = "dispatcher stopped";
      once->fire(std::move(outcome));
      return;
    }
    once->guard = guard;
    call_handler(context.hub, event, user, event_headers(context, event, user, content_type),
                 std::move(body), Clock::now() + timeout,
                 [self = shared_from_this(), once](Outcome outcome) {
                   self->cancel_timer(once->guard.load());
                   once->fire(std::move(outcome));
                 });
  }

  // ---- connected / disconnected (§8.6) ----------------------------------------------------

  void enqueue(const ConnectionContext& context, std::string event, std::string body) {
    SystemEvent item{context.hub, context.connection_id, event,
                     event_headers(context, event, false, "application/json; charset=utf-8"),
                     std::move(body)};
    bool idle = false;
    {
      std::lock_guard lock(mutex);
      if (stopped)
        return;
      auto& queue = queues[context.connection_id];
      idle = queue.empty();
      queue.push_back(std::move(item));
    }
    if (idle) {
      asio::post(executor,
                 [self = shared_from_this(), id = context.connection_id] { self->run_front(id); });
    }
  }

  void run_front(const std::string& connection_id) {
    SystemEvent item;
    {
      std::lock_guard lock(mutex);
      auto it = queues.find(connection_id);
      if (stopped || it == queues.end() || it->second.empty())
        return;
      item = it->second.front();
    }
    attempt(std::move(item), 0);
  }

  void attempt(SystemEvent item, std::size_t number) {
    auto headers = item.headers;
    auto body = item.body;
    auto hub = item.hub;
    auto event = item.event;
    call_handler(hub, event, false, std::move(headers), std::move(body), std::nullopt,
                 [self = shared_from_this(), item = std::move(item), number](Outcome outcome) {
                   self->on_attempt(std::move(item), number, std::move(outcome));
                 });
  }

  void on_attempt(SystemEvent item, std::size_t number, Outcome outcome) {
    const auto status = outcome.response.status;
    if (outcome.called && is_2xx(status)) {
      finish_front(item.connection_id);
      return;
    }
    const bool no_handler = !outcome.called && outcome.error.rfind("no event handler", 0) == 0;
    if (no_handler) {
      WPS_LOG_AT(debug, kLog, (util::LogFields{item.hub, item.connection_id, {}, item.event}))
          << "hub:" << item.hub << ",event:" << item.event << " skipped: " << outcome.error;
      finish_front(item.connection_id);
      return;
    }
    const bool validation_failed =
        !outcome.called && outcome.error.find("failed validation") != std::string::npos;
    const bool retryable =
        outcome.called ? (status == 408 || status >= 500)
                       : (!validation_failed && !outcome.response.timed_out &&
                          outcome.error != "cancelled" && outcome.error != "dispatcher stopped");
    std::string reason = outcome.called
                             ? "unexpected response with status code " + std::to_string(status)
                             : outcome.error;
    if (retryable && number < options.retry_delays.size()) {
      WPS_LOG_AT(info, kLog, (util::LogFields{item.hub, item.connection_id, {}, item.event}))
          << "hub:" << item.hub << ",event:" << item.event << ",connection:" << item.connection_id
          << " attempt " << number + 1 << " failed (" << reason << "), retrying";
      auto delay = options.retry_delays[number];
      auto id = item.connection_id;
      auto scheduled = schedule(
          delay, [self = shared_from_this(), item = std::move(item), number](bool fired) mutable {
            if (!fired)
              return;  // stopped
            self->attempt(std::move(item), number + 1);
          });
      if (scheduled == 0)
        finish_front(id);
      return;
    }
    WPS_LOG_AT(warn, kLog, (util::LogFields{item.hub, item.connection_id, {}, item.event}))
        << "hub:" << item.hub << ",event:" << item.event << ",connection:" << item.connection_id
        << " failed: " << reason;
    finish_front(item.connection_id);
  }

  void finish_front(const std::string& connection_id) {
    bool more = false;
    {
      std::lock_guard lock(mutex);
      auto it = queues.find(connection_id);
      if (it == queues.end())
        return;
      if (!it->second.empty())
        it->second.pop_front();
      more = !it->second.empty();
      if (!more)
        queues.erase(it);
    }
    if (more)
      run_front(connection_id);
  }

  // ---- stop -------------------------------------------------------------------------------

  void stop() {
    std::map<std::uint64_t, std::shared_ptr<HttpCall>> pending_calls;
    std::map<std::uint64_t, std::shared_ptr<asio::steady_timer>> pending_timers;
    {
      std::lock_guard lock(mutex);
      stopped = true;
      pending_calls.swap(calls);
      pending_timers.swap(timers);
      queues.clear();
    }
    for (auto& [id, call] : pending_calls)
      call->cancel();
    shutdown_connection_pool(*pool);
    for (auto& entry : pending_timers) {
      // (A copy, not a structured binding: clang 14 cannot capture those.)
      auto timer = entry.second;
      asio::post(timer->get_executor(), [timer] { timer->cancel(); });
    }
  }
};

// ---- Dispatcher -------------------------------------------------------------------------

Dispatcher::Dispatcher(asio::any_io_executor executor, const config::Config& config,
                       std::string origin)
    : Dispatcher(std::move(executor), config, std::move(origin), DispatcherOptions(config)) {}

Dispatcher::Dispatcher(asio::any_io_executor executor, const config::Config& config,
                       std::string origin, DispatcherOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), config, std::move(origin),
                                   std::move(options))) {}

void Dispatcher::set_metrics(core::Metrics* metrics) {
  impl_->metrics = metrics;
}

Dispatcher::~Dispatcher() {
  impl_->stop();
}

void Dispatcher::update_settings(const config::HubSettings& default_hub,
                                 const std::map<std::string, config::HubSettings>& hubs) {
  std::lock_guard lock(impl_->mutex);
  impl_->default_hub = default_hub;
  impl_->hubs.clear();
  for (const auto& [name, settings] : hubs)
    impl_->hubs[util::to_lower(name)] = settings;
  impl_->validations.clear();
}

bool Dispatcher::has_handler(const std::string& hub, std::string_view event, bool user) const {
  std::lock_guard lock(impl_->mutex);
  return select_handler(impl_->settings_of(hub), event, user) != nullptr;
}

void Dispatcher::connect(ConnectionContext context, ConnectRequest request,
                         std::function<void(ConnectResult)> done) {
  auto jar = context.cookies;
  auto hub = context.hub;
  auto connection_id = context.connection_id;
  impl_->blocking(
      context, "connect", false, "application/json; charset=utf-8", connect_body(request),
      impl_->options.connect_timeout,
      [jar, hub, connection_id, done = std::move(done)](Outcome outcome) {
        ConnectResult result;
        result.cookies = jar;
        const auto status = outcome.response.status;
        if (!outcome.called) {
          result.status = 500;
          result.error = outcome.error;
        } else if (is_2xx(status)) {
          auto body =
              parse_connect_response(status == 204 ? std::string_view() : outcome.response.body);
          if (body.ok) {
            result.accepted = true;
            result.status = status;
            result.user_id = std::move(body.user_id);
            result.groups = std::move(body.groups);
            result.roles = std::move(body.roles);
            result.subprotocol = std::move(body.subprotocol);
            result.state = outcome.response.last("ce-connectionState");
            result.cookies = merge_cookies(jar, outcome.response.values("Set-Cookie"));
            if (status != 204)
              result.mqtt_user_properties =
                  parse_mqtt_connect_answer(outcome.response.body).user_properties;
          } else {
            result.status = 500;
            result.error = body.error;
          }
        } else if (status >= 400 && status < 500) {
          result.status = status;
          result.error = "handler rejected the connection with status " + std::to_string(status);
        } else {
          result.status = 500;
          result.error = "unexpected response with status code " + std::to_string(status);
        }
        if (outcome.called && !is_2xx(status)) {
          // MQTT refusals carry the CONNACK code (spec mqtt §8.2); others ignore it.
          auto mqtt = parse_mqtt_connect_answer(outcome.response.body);
          result.mqtt_code = mqtt.code;
          result.mqtt_reason = std::move(mqtt.reason);
          result.mqtt_user_properties = std::move(mqtt.user_properties);
        }
        if (!result.accepted && (result.status == 500)) {
          WPS_LOG_AT(warn, kLog, (util::LogFields{hub, connection_id, {}, "connect"}))
              << "hub:" << hub << ",event:connect,connection:" << connection_id
              << " failed: " << result.error;
        }
        done(std::move(result));
      });
}

void Dispatcher::user_event(ConnectionContext context, std::string event, protocol::Payload payload,
                            std::function<void(UserEventResult)> done) {
  auto jar = context.cookies;
  auto hub = context.hub;
  auto connection_id = context.connection_id;
  impl_->blocking(context, event, true, content_type_for(payload.type), std::move(payload.bytes),
                  impl_->options.user_event_timeout,
                  [jar, hub, connection_id, event, done = std::move(done)](Outcome outcome) {
                    UserEventResult result;
                    result.cookies = jar;
                    const auto status = outcome.response.status;
                    if (outcome.called) {
                      result.status = status;
                      for (const auto& [name, value] : outcome.response.headers) {
                        if (name.size() > 5 && util::istarts_with(name, "mqtt-"))
                          result.mqtt_user_properties.emplace_back(name.substr(5), value);
                      }
                    }
                    if (!outcome.called) {
                      result.error = outcome.error;
                    } else if (!is_2xx(status)) {
                      result.error =
                          "unexpected response with status code " + std::to_string(status);
                    } else {
                      auto reply = parse_user_event_response(
                          outcome.response.last("Content-Type"),
                          status == 204 ? std::string() : std::move(outcome.response.body));
                      if (reply.ok) {
                        result.ok = true;
                        result.reply = std::move(reply.reply);
                        result.state = outcome.response.last("ce-connectionState");
                        result.cookies = merge_cookies(jar, outcome.response.values("Set-Cookie"));
                      } else {
                        result.error = reply.error;
                      }
                    }
                    if (!result.ok) {
                      WPS_LOG_AT(warn, kLog, (util::LogFields{hub, connection_id, {}, event}))
                          << "hub:" << hub << ",event:" << event << ",connection:" << connection_id
                          << " failed: " << result.error;
                    }
                    done(std::move(result));
                  });
}

void Dispatcher::connected(ConnectionContext context) {
  impl_->enqueue(context, "connected", "{}");
}

void Dispatcher::group_presence(ConnectionContext context, bool joined, std::string group) {
  boost::json::object body;
  body["group"] = std::move(group);
  impl_->enqueue(context, joined ? "joined" : "left", boost::json::serialize(body));
}

void Dispatcher::disconnected(ConnectionContext context, std::string reason) {
  boost::json::object body;
  body["reason"] = reason;
  if (context.mqtt_disconnect) {
    const auto& info = *context.mqtt_disconnect;
    if (reason.empty())
      body["reason"] = nullptr;
    boost::json::object mqtt;
    mqtt["initiatedByClient"] = info.initiated_by_client;
    if (info.has_packet) {
      boost::json::object packet;
      packet["code"] = info.code;
      if (info.user_properties) {
        boost::json::array properties;
        for (const auto& [name, value] : *info.user_properties)
          properties.push_back(boost::json::object{{"name", name}, {"value", value}});
        packet["userProperties"] = std::move(properties);
      } else {
        packet["userProperties"] = nullptr;
      }
      mqtt["disconnectPacket"] = std::move(packet);
    } else {
      mqtt["disconnectPacket"] = nullptr;
    }
    body["mqtt"] = std::move(mqtt);
  }
  impl_->enqueue(context, "disconnected", boost::json::serialize(body));
}

std::size_t Dispatcher::pending_system_events() const {
  std::lock_guard lock(impl_->mutex);
  std::size_t n = 0;
  for (const auto& entry : impl_->queues)
    n += entry.second.size();
  return n;
}

void Dispatcher::stop() {
  impl_->stop();
}

}  // namespace wps::webhook
