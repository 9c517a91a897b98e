#pragma once
// TLS for the client endpoint and the REST API: the server context (modern defaults), and a
// self-signed development certificate made with the OpenSSL API.

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

namespace wps::transport {

// A TLS server context with the certificate chain and key of these PEM files: TLS 1.2 or
// later, no compression, no renegotiation, OpenSSL 3's default (secure) cipher suites, server
// cipher preference. Throws std::runtime_error naming the file and the reason.
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const std::string& cert_file,
                                                                   const std::string& key_file);

// Makes `cert_file` and `key_file` (PEM; the key readable by the owner only) for a self-signed
// ECDSA P-256 certificate valid for localhost, 127.0.0.1 and ::1, for `days` days, unless both
// files already exist and the certificate is still valid for at least a day. Returns true when it
// made new ones. Throws std::runtime_error on failure.
bool ensure_self_signed_certificate(const std::string& cert_file, const std::string& key_file,
                                    int days = 365);

}  // namespace wps::transport
