#pragma once
// Building blocks of the CloudEvents requests (spec §8.1, §8.3, §8.4, §8.5, §8.7): handler
// selection, URL templates, signatures, bodies. Pure functions.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "protocol/messages.hpp"
#include "webhook/dispatcher.hpp"

namespace wps::webhook {

// Replaces {hub} and {event} (names case-insensitive) with their percent-encoded values
// (util::percent_encode).
std::string expand_url_template(std::string_view url_template, std::string_view hub,
                                std::string_view event);

// `pattern`: "*", "a,b", or "a" (case-insensitive, entries trimmed); empty matches nothing.
bool user_event_matches(std::string_view pattern, std::string_view event);

// "joined" or "left": the group presence events (spec §8.8), which handlers take through their
// group_presence_events (system events never have these names).
bool is_group_presence_event(std::string_view event);

// The first handler of `hub` taking the event (user, group presence or system), or null.
const config::EventHandler* select_handler(const config::HubSettings& hub, std::string_view event,
                                           bool user);

// "sha256=<hex>[,sha256=<hex>]": HMAC-SHA256 of the connection id keyed by each access key.
std::string compute_signature(std::string_view connection_id, std::string_view primary_key,
                              const std::optional<std::string>& secondary_key);

// Lower-case hex HMAC-SHA256(key, data).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// "2024-01-02T03:04:05.123Z"
std::string utc_timestamp(std::chrono::system_clock::time_point when);

// The JSON body of a connect event.
std::string connect_body(const ConnectRequest& request);

// Request Content-Type of a user event carrying `type`.
std::string_view content_type_for(protocol::DataType type) noexcept;

}  // namespace wps::webhook
