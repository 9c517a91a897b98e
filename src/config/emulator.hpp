#pragma once
// Microsoft's Web PubSub emulator keeps its settings in an ASP.NET Core appsettings.json
// (spec: shared/spec/microsoft-emulator.md §3):
//
//   { "Urls": "http://localhost:8080",
//     "Logging": { "LogLevel": { "Default": "Information" } },
//     "WebPubSub": { "AccessKey": "...", "AllowUnvalidatedEntraTokens": false,
//                    "Hubs": { "chat": { "EventHandlers": [ { "UrlTemplate": "...",
//                      "SystemEvents": ["connect"], "EventPattern": "*" } ] } } } }
//
// Keys are case-insensitive there (ASP.NET configuration). This file only translates such a
// document into this server's own config-file object (docs/CONFIGURATION.md), checking what it
// can name in the emulator's terms; the loader then applies the result like any config file, so
// precedence, validation and the hot reload of event handlers are the same.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <stdexcept>
#include <string>

namespace wps::config {

// A problem in an emulator settings file; what() names the key as the emulator spells it
// ("WebPubSub:Hubs:chat:EventHandlers:0:Auth") and says what to do.
class EmulatorSettingsError : public std::runtime_error {
 public:
  explicit EmulatorSettingsError(const std::string& message) : std::runtime_error(message) {}
};

// True when the document's top level has a key only the emulator's format uses (WebPubSub, Urls,
// Logging or AllowedHosts, in any case): this server's own format has none of them.
bool looks_like_emulator_settings(const boost::json::value& root);

// The same settings in this server's config-file format (keys accessKey,
// allowUnvalidatedEntraTokens, host, port, tlsSelfSigned, logLevel, hubs). Throws
// EmulatorSettingsError for keys the server does not support (EventListeners, Auth, ...), wrong
// types and bad values.
boost::json::object translate_emulator_settings(const boost::json::value& root);

}  // namespace wps::config
