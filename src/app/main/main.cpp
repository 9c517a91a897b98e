// webpubsub-server: a self-hosted server speaking the Azure Web PubSub protocols.

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "app/server.hpp"
#include "config/loader.hpp"
#include "util/log.hpp"

extern char** environ;

int main(int argc, char** argv) {
  using namespace wps;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos)
      env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }

  config::LoadResult loaded = config::load_config(args, env);
  if (loaded.help) {
    std::cout << loaded.help_text;
    return 0;
  }
  if (loaded.version) {
    std::cout << "webpubsub-server " << WPS_VERSION << "\n";
    return 0;
  }
  if (!loaded.config) {
    std::cerr << "webpubsub-server: invalid configuration: " << loaded.error << "\n";
    return 2;
  }
  config::Config& config = *loaded.config;
  util::set_log_level(util::parse_log_level(config.log_level));
  util::set_log_format(config.log_format == "json" ? util::LogFormat::json : util::LogFormat::text);

  if (config.uses_development_key() && !config.allow_default_key_on_public_address &&
      !app::is_loopback_host(config.host)) {
    std::cerr << "webpubsub-server: refusing to listen on '" << config.host
              << "' with the well-known development access key: anyone who can reach this "
                 "address could connect and publish. Set your own key with --access-key (or "
                 "WPS_ACCESS_KEY), or pass --allow-default-key-on-public-address if you really "
                 "mean it.\n";
    return 2;
  }
  if (config.metrics_port != 0 && config.uses_development_key() &&
      !config.allow_default_key_on_public_address && !app::is_loopback_host(config.metrics_host)) {
    std::cerr << "webpubsub-server: refusing to open the operations listener on '"
              << config.metrics_host
              << "' with the well-known development access key: its pages take tokens signed "
                 "with that key, which anyone can make. Set your own key with --access-key (or "
                 "WPS_ACCESS_KEY), or pass --allow-default-key-on-public-address if you really "
                 "mean it.\n";
    return 2;
  }
  if (config.allow_unvalidated_entra_tokens &&
      !config.allow_unvalidated_entra_tokens_on_public_address &&
      !app::is_loopback_host(config.host)) {
    std::cerr << "webpubsub-server: refusing --allow-unvalidated-entra-tokens on '" << config.host
              << "': it accepts REST calls with any bearer token for https://webpubsub.azure.com "
                 "without checking its signature, so anyone who can reach this address could "
                 "make one up and send, close connections and mint client tokens. It is for "
                 "local development on a loopback address (--host localhost). Pass "
                 "--allow-unvalidated-entra-tokens-on-public-address if you really mean it.\n";
    return 2;
  }

  const bool unvalidated_entra_tokens = config.allow_unvalidated_entra_tokens;
  try {
    app::Server server(std::move(config));
    server.start();
    if (!loaded.config_file.empty()) {
      server.watch_config(loaded.config_file, [args, env](std::string& error) {
        config::LoadResult again = config::load_config(args, env);
        if (!again.config)
          error = again.error;
        return std::move(again.config);
      });
    }
    if (loaded.emulator_format) {
      WPS_LOG(info, "server") << "read " << loaded.config_file
                              << " in the format of Microsoft's Web PubSub emulator";
    }
    if (unvalidated_entra_tokens) {
      // Loud on purpose: this switch turns REST authentication into a formality.
      const std::string banner =
          "WARNING: --allow-unvalidated-entra-tokens is on. REST calls with a bearer token for "
          "https://webpubsub.azure.com are accepted WITHOUT checking its signature, issuer, "
          "tenant or roles (audience and lifetime only). For local development only; never "
          "expose this server.";
      WPS_LOG(warn, "server") << banner;
      std::cerr << "webpubsub-server: " << banner << "\n";
      if (server.connection_string().starts_with("Endpoint=http:"))
        std::cerr << "webpubsub-server: the server SDKs send such tokens only over https: add "
                     "--tls-self-signed (or --tls-cert-file/--tls-key-file).\n";
    }
    std::cout << server.tls_notice();
    std::cout << "webpubsub-server listening on port " << server.port() << "\n"
              << "Connection string:\n"
              << server.connection_string() << "\n"
              << std::flush;
    server.run();
  } catch (const std::exception& e) {
    std::cerr << "webpubsub-server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
