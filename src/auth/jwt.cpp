#include "auth/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstddef>
#include <exception>
#include <initializer_list>
#include <limits>
#include <system_error>
#include <utility>
#include <vector>

#include "util/base64.hpp"
#include "util/text.hpp"

namespace wps::auth {

namespace {

namespace json = boost::json;

// Tokens longer than this are rejected before any decoding (spec: headers are bounded anyway;
// SDK tokens are a few hundred bytes).
constexpr std::size_t max_token_length = 16 * 1024;
// Claims are flat; anything deeper than this is not a token we produced or expect.
constexpr std::size_t max_json_depth = 16;
constexpr std::size_t sha256_length = 32;

constexpr std::string_view hs256_header = R"({"alg":"HS256","typ":"JWT"})";

constexpr std::string_view claim_subject_alt =
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier";
constexpr std::string_view claim_role_alt =
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/role";

// ---------------------------------------------------------------------------------------------
// HMAC-SHA256

// OpenSSL 3's one-shot HMAC() fetches the MAC and digest implementations by name on every call
// (about 6 us of an 8 us HMAC of a token). Each thread keeps a keyed context per key instead and
// re-initialises it with the same key (EVP_MAC_init with a null key) for every MAC.
class HmacCache {
 public:
  HmacCache() = default;
  HmacCache(const HmacCache&) = delete;
  HmacCache& operator=(const HmacCache&) = delete;
  ~HmacCache() {
    for (Entry& entry : entries_)
      drop(entry);
  }

  // A context keyed with `key`, ready for EVP_MAC_update; nullptr if OpenSSL fails.
  EVP_MAC_CTX* get(std::string_view key) {
    for (Entry& entry : entries_) {
      if (entry.key == key) {
        if (EVP_MAC_init(entry.ctx, nullptr, 0, nullptr) != 1)
          return nullptr;
        return entry.ctx;
      }
    }
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr)
      return nullptr;
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
    if (ctx == nullptr)
      return nullptr;
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                                 OSSL_PARAM_construct_end()};
    static constexpr unsigned char empty_key = 0;
    const auto* key_ptr =
        key.empty() ? &empty_key : reinterpret_cast<const unsigned char*>(key.data());
    if (EVP_MAC_init(ctx, key_ptr, key.size(), params) != 1) {
      EVP_MAC_CTX_free(ctx);
      return nullptr;
    }
    // Keys change only on a config reload: a handful of entries, the oldest evicted first.
    if (entries_.size() == kMaxEntries) {
      drop(entries_.front());
      entries_.erase(entries_.begin());
    }
    entries_.push_back(Entry{std::string(key), ctx});
    return ctx;
  }

 private:
  struct Entry {
    std::string key;
    EVP_MAC_CTX* ctx;
  };
  static constexpr std::size_t kMaxEntries = 4;
  static void drop(Entry& entry) {
    OPENSSL_cleanse(entry.key.data(), entry.key.size());
    EVP_MAC_CTX_free(entry.ctx);
  }
  std::vector<Entry> entries_;
};

std::optional<std::array<unsigned char, sha256_length>> hmac_sha256(std::string_view key,
                                                                    std::string_view data) {
  thread_local HmacCache cache;
  EVP_MAC_CTX* ctx = cache.get(key);
  if (ctx == nullptr)
    return std::nullopt;
  std::array<unsigned char, sha256_length> mac{};
  std::size_t mac_length = 0;
  if ((!data.empty() && EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()),
                                       data.size()) != 1) ||
      EVP_MAC_final(ctx, mac.data(), &mac_length, mac.size()) != 1 || mac_length != sha256_length) {
    return std::nullopt;
  }
  return mac;
}

// ---------------------------------------------------------------------------------------------
// JSON helpers

// A token's header and payload are parsed into this stack buffer (a larger token spills over to
// the heap): they live only while the claims are read.
class TokenJsonStorage {
 public:
  json::storage_ptr ptr() { return json::storage_ptr(&resource_); }

 private:
  std::array<unsigned char, 4096> buffer_;
  json::monotonic_resource resource_{buffer_.data(), buffer_.size()};
};

// `storage`: where the parsed values live (a token's parts are parsed into a stack buffer: a
// handshake or REST request then allocates nothing for them).
std::optional<json::object> parse_object(std::string_view text, json::storage_ptr storage) {
  json::parse_options options;
  options.max_depth = max_json_depth;
  std::error_code ec;
  json::value value = json::parse(text, ec, std::move(storage), options);
  if (ec || !value.is_object()) {
    return std::nullopt;
  }
  return std::move(value.as_object());
}

std::string scalar_text(const json::value& value) {
  if (value.is_string()) {
    const json::string& s = value.get_string();
    return std::string(s.data(), s.size());
  }
  if (value.is_double()) {
    // Shortest round-trip form ("1.5", "1e+300") rather than Boost's "1.5E0".
    std::array<char, 64> buffer{};
    const auto [end, ec] =
        std::to_chars(buffer.data(), buffer.data() + buffer.size(), value.get_double());
    if (ec == std::errc()) {
      return std::string(buffer.data(), end);
    }
  }
  return json::serialize(value);
}

// String or array of strings; anything else fails.
bool append_strings(const json::value& value, std::vector<std::string>& out) {
  if (value.is_string()) {
    out.push_back(scalar_text(value));
    return true;
  }
  if (!value.is_array()) {
    return false;
  }
  for (const json::value& element : value.get_array()) {
    if (!element.is_string()) {
      return false;
    }
    out.push_back(scalar_text(element));
  }
  return true;
}

// JSON number -> whole seconds, truncating fractions; fails for non-numbers or out-of-range.
std::optional<std::int64_t> numeric_date(const json::value& value) {
  if (value.is_int64()) {
    return value.get_int64();
  }
  if (value.is_uint64()) {
    const std::uint64_t u = value.get_uint64();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (value.is_double()) {
    const double d = std::trunc(value.get_double());
    // 2^63 is exactly representable; the valid range is [-2^63, 2^63).
    constexpr double limit = 9223372036854775808.0;
    if (!std::isfinite(d) || d >= limit || d < -limit) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
  if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b) {
    return std::numeric_limits<std::int64_t>::max();
  }
  if (b < 0 && a < std::numeric_limits<std::int64_t>::min() - b) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return a + b;
}

void append_unique(std::vector<std::string>& out, std::vector<std::string> values) {
  for (std::string& v : values) {
    bool seen = false;
    for (const std::string& existing : out) {
      if (existing == v) {
        seen = true;
        break;
      }
    }
    if (!seen) {
      out.push_back(std::move(v));
    }
  }
}

VerifyResult failure(TokenError error) {
  VerifyResult result;
  result.error = error;
  return result;
}

// Fills `claims` from the payload object; false when a known claim has the wrong type.
bool read_claims(const json::object& payload, Claims& claims) {
  std::optional<std::string> subject_alt;
  std::vector<std::string> roles_alt;
  std::vector<std::string> groups_alt;
  for (const auto& entry : payload) {
    const std::string_view name(entry.key().data(), entry.key().size());
    const json::value& value = entry.value();

    std::vector<std::string> as_list;
    if (value.is_array()) {
      for (const json::value& element : value.get_array()) {
        as_list.push_back(scalar_text(element));
      }
    } else {
      as_list.push_back(scalar_text(value));
    }
    claims.all[std::string(name)] = std::move(as_list);

    if (name == "aud") {
      if (!append_strings(value, claims.audiences)) {
        return false;
      }
    } else if (name == "sub" || name == claim_subject_alt) {
      if (!value.is_string()) {
        return false;
      }
      (name == "sub" ? claims.subject : subject_alt) = scalar_text(value);
    } else if (name == "role") {
      if (!append_strings(value, claims.roles)) {
        return false;
      }
    } else if (name == claim_role_alt) {
      if (!append_strings(value, roles_alt)) {
        return false;
      }
    } else if (name == "webpubsub.group") {
      if (!append_strings(value, claims.groups)) {
        return false;
      }
    } else if (name == "group") {
      if (!append_strings(value, groups_alt)) {
        return false;
      }
    } else if (name == "exp" || name == "nbf" || name == "iat") {
      const std::optional<std::int64_t> seconds = numeric_date(value);
      if (!seconds) {
        return false;
      }
      (name == "exp" ? claims.exp : name == "nbf" ? claims.nbf : claims.iat) = *seconds;
    }
  }
  if (!claims.subject && subject_alt) {
    claims.subject = std::move(subject_alt);
  }
  append_unique(claims.roles, std::move(roles_alt));
  append_unique(claims.groups, std::move(groups_alt));
  return true;
}

// The three base64url parts of a compact JWS, or nullopt.
struct TokenParts {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
};
std::optional<TokenParts> split_token(std::string_view token) {
  if (token.empty() || token.size() > max_token_length) {
    return std::nullopt;
  }
  const std::size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) {
    return std::nullopt;
  }
  const std::size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return TokenParts{token.substr(0, first_dot),
                    token.substr(first_dot + 1, second_dot - first_dot - 1),
                    token.substr(second_dot + 1)};
}

std::optional<Claims> read_unverified_impl(std::string_view token) {
  const std::optional<TokenParts> parts = split_token(token);
  if (!parts) {
    return std::nullopt;
  }
  const std::optional<std::string> header_text = util::base64url_decode(parts->header);
  const std::optional<std::string> payload_text = util::base64url_decode(parts->payload);
  if (!header_text || !payload_text) {
    return std::nullopt;
  }
  TokenJsonStorage storage;
  const std::optional<json::object> header = parse_object(*header_text, storage.ptr());
  const json::value* alg = header ? header->if_contains("alg") : nullptr;
  if (alg == nullptr || !alg->is_string()) {
    return std::nullopt;
  }
  const std::optional<json::object> payload = parse_object(*payload_text, storage.ptr());
  Claims claims;
  if (!payload || !read_claims(*payload, claims)) {
    return std::nullopt;
  }
  return claims;
}

VerifyResult verify_impl(std::string_view token, const VerifyOptions& options) {
  if (token.empty() || token.size() > max_token_length) {
    return failure(TokenError::malformed);
  }
  const std::size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) {
    return failure(TokenError::malformed);
  }
  const std::size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return failure(TokenError::malformed);
  }
  const std::string_view header_part = token.substr(0, first_dot);
  const std::string_view payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_part = token.substr(second_dot + 1);
  const std::string_view signing_input = token.substr(0, second_dot);

  // Canonical encodings only, so that a signature has exactly one textual form.
  constexpr auto canonical = util::TrailingBits::reject;
  const std::optional<std::string> header_text = util::base64url_decode(header_part, canonical);
  const std::optional<std::string> payload_text = util::base64url_decode(payload_part, canonical);
  const std::optional<std::string> signature = util::base64url_decode(signature_part, canonical);
  if (!header_text || !payload_text || !signature) {
    return failure(TokenError::malformed);
  }

  TokenJsonStorage storage;
  const std::optional<json::object> header = parse_object(*header_text, storage.ptr());
  if (!header) {
    return failure(TokenError::malformed);
  }
  const json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string() || alg->get_string() != "HS256") {
    return failure(TokenError::unsupported_algorithm);
  }

  bool signature_ok = false;
  if (signature->size() == sha256_length) {
    for (const std::string& key : options.keys) {
      const auto mac = hmac_sha256(key, signing_input);
      if (mac && CRYPTO_memcmp(mac->data(), signature->data(), sha256_length) == 0) {
        signature_ok = true;
        break;
      }
    }
  }
  if (!signature_ok) {
    return failure(TokenError::bad_signature);
  }

  const std::optional<json::object> payload = parse_object(*payload_text, storage.ptr());
  if (!payload) {
    return failure(TokenError::malformed);
  }
  Claims claims;
  if (!read_claims(*payload, claims)) {
    return failure(TokenError::malformed);
  }

  if (const auto error = lifetime_error(claims, options)) {
    return failure(*error);
  }

  VerifyResult result;
  result.claims = std::move(claims);
  result.error = TokenError::malformed;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Audience helpers

bool starts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.substr(0, prefix.size()) == prefix;
}

// Position of "://" when `url` starts with a URI scheme (RFC 3986 §3.1), npos otherwise.
std::size_t scheme_end(std::string_view url) noexcept {
  const std::size_t pos = url.find("://");
  if (pos == std::string_view::npos || pos == 0) {
    return std::string_view::npos;
  }
  for (std::size_t i = 0; i < pos; ++i) {
    const char c = util::ascii_lower(url[i]);
    const bool alpha = c >= 'a' && c <= 'z';
    const bool other = (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    if (!alpha && (i == 0 || !other)) {
      return std::string_view::npos;
    }
  }
  return pos;
}

// Lower-cases, maps ws/wss to http/https, drops a default port, drops one trailing '/' of the
// path and an empty query ("?" alone). Input may be an absolute URL or a bare path.
std::string normalize_url(std::string_view url) {
  std::string s = util::to_lower(url);
  if (starts_with(s, "ws://")) {
    s = "http://" + s.substr(5);
  } else if (starts_with(s, "wss://")) {
    s = "https://" + s.substr(6);
  }
  const std::size_t scheme_length = scheme_end(s);
  if (scheme_length != std::string::npos) {
    const std::size_t authority_start = scheme_length + 3;
    std::size_t authority_end = s.find_first_of("/?#", authority_start);
    if (authority_end == std::string::npos) {
      authority_end = s.size();
    }
    const std::string_view scheme = std::string_view(s).substr(0, scheme_length);
    const std::string_view authority =
        std::string_view(s).substr(authority_start, authority_end - authority_start);
    std::string_view default_port;
    if (scheme == "http") {
      default_port = ":80";
    } else if (scheme == "https") {
      default_port = ":443";
    }
    if (!default_port.empty() && authority.size() > default_port.size() &&
        authority.substr(authority.size() - default_port.size()) == default_port) {
      s.erase(authority_end - default_port.size(), default_port.size());
    }
  }
  std::size_t query = s.find('?');
  if (query != std::string::npos && query + 1 == s.size()) {
    s.pop_back();
    query = std::string::npos;
  }
  const std::size_t path_end = query == std::string::npos ? s.size() : query;
  if (path_end > 0 && s[path_end - 1] == '/') {
    s.erase(path_end - 1, 1);
  }
  return s;
}

// The part of a (normalized) URL after scheme://authority; a bare path is returned unchanged.
std::string_view path_part(std::string_view url) {
  const std::size_t scheme_length = scheme_end(url);
  if (scheme_length == std::string_view::npos) {
    return url;
  }
  const std::size_t path_start = url.find_first_of("/?#", scheme_length + 3);
  if (path_start == std::string_view::npos) {
    return {};
  }
  return url.substr(path_start);
}

std::string_view strip_trailing_slash(std::string_view text) {
  if (!text.empty() && text.back() == '/') {
    text.remove_suffix(1);
  }
  return text;
}

// Normalized forms of each audience: as given and percent-decoded.
std::vector<std::string> audience_forms(const std::vector<std::string>& audiences, bool any_host) {
  std::vector<std::string> forms;
  forms.reserve(audiences.size() * 2);
  for (const std::string& aud : audiences) {
    for (std::string form :
         {normalize_url(aud), normalize_url(util::percent_decode_lenient(aud))}) {
      if (any_host) {
        form = std::string(path_part(form));
      }
      forms.push_back(std::move(form));
    }
  }
  return forms;
}

bool any_equal(const std::vector<std::string>& forms, const std::vector<std::string>& expected) {
  for (const std::string& f : forms) {
    for (const std::string& e : expected) {
      if (f == e) {
        return true;
      }
    }
  }
  return false;
}

bool client_audience_impl(const std::vector<std::string>& audiences, std::string_view hub,
                          const std::vector<std::string>& origins, bool any_host,
                          std::string_view endpoint) {
  if (audiences.empty() || (!any_host && origins.empty())) {
    return false;
  }
  std::vector<std::string> paths;
  for (const std::string& h : {std::string(hub), util::percent_decode_lenient(hub)}) {
    paths.push_back(std::string(endpoint) + h);
  }
  std::vector<std::string> expected;
  if (any_host) {
    for (const std::string& p : paths) {
      expected.push_back(normalize_url(p));
    }
  } else {
    for (const std::string& origin : origins) {
      const std::string_view base = strip_trailing_slash(origin);
      for (const std::string& p : paths) {
        expected.push_back(normalize_url(std::string(base) + p));
      }
    }
  }
  return any_equal(audience_forms(audiences, any_host), expected);
}

bool rest_audience_impl(const std::vector<std::string>& audiences, std::string_view target,
                        const std::vector<std::string>& origins, bool any_host) {
  if (audiences.empty() || (!any_host && origins.empty())) {
    return false;
  }
  const std::string_view path = target.substr(0, target.find('?'));
  const std::vector<std::string> suffixes = {std::string(target), std::string(path),
                                             util::percent_decode_lenient(target),
                                             util::percent_decode_lenient(path)};
  std::vector<std::string> expected;
  if (any_host) {
    for (const std::string& suffix : suffixes) {
      expected.push_back(normalize_url(suffix));
    }
  } else {
    for (const std::string& origin : origins) {
      const std::string_view base = strip_trailing_slash(origin);
      for (const std::string& suffix : suffixes) {
        expected.push_back(normalize_url(std::string(base) + suffix));
      }
    }
  }
  return any_equal(audience_forms(audiences, any_host), expected);
}

}  // namespace

std::string_view to_string(TokenError error) noexcept {
  switch (error) {
    case TokenError::malformed:
      return "malformed";
    case TokenError::unsupported_algorithm:
      return "unsupported_algorithm";
    case TokenError::bad_signature:
      return "bad_signature";
    case TokenError::expired:
      return "expired";
    case TokenError::not_yet_valid:
      return "not_yet_valid";
    case TokenError::missing_expiry:
      return "missing_expiry";
    case TokenError::audience_mismatch:
      return "audience_mismatch";
  }
  return "unknown";
}

std::optional<TokenError> lifetime_error(const Claims& claims, const VerifyOptions& options) {
  const std::int64_t skew = static_cast<std::int64_t>(options.clock_skew.count());
  if (!claims.exp) {
    if (options.require_expiry) {
      return TokenError::missing_expiry;
    }
  } else if (options.now >= saturating_add(*claims.exp, skew)) {
    return TokenError::expired;
  }
  if (claims.nbf && *claims.nbf > saturating_add(options.now, skew)) {
    return TokenError::not_yet_valid;
  }
  return std::nullopt;
}

std::optional<Claims> read_unverified_claims(std::string_view token) {
  try {
    return read_unverified_impl(token);
  } catch (...) {
    return std::nullopt;
  }
}

VerifyResult verify_token(std::string_view token, const VerifyOptions& options) {
  try {
    return verify_impl(token, options);
  } catch (...) {
    return failure(TokenError::malformed);
  }
}

std::string sign_token(std::string_view claims_json, std::string_view key) {
  std::string token = util::base64url_encode(hs256_header);
  token.push_back('.');
  token += util::base64url_encode(claims_json);
  const auto mac = hmac_sha256(key, token);
  token.push_back('.');
  if (mac) {
    token += util::base64url_encode(
        std::string_view(reinterpret_cast<const char*>(mac->data()), mac->size()));
  }
  return token;
}

bool client_audience_matches(const std::vector<std::string>& audiences, std::string_view hub,
                             const std::vector<std::string>& origins, bool any_host,
                             std::string_view endpoint) {
  try {
    return client_audience_impl(audiences, hub, origins, any_host, endpoint);
  } catch (...) {
    return false;
  }
}

bool client_audience_is_exactly(const std::vector<std::string>& audiences, std::string_view hub,
                                std::string_view host, std::string_view public_origin,
                                std::string_view endpoint) {
  // `text` == `a` + `b` + `c` + `d`, without building the concatenation.
  const auto equals = [](std::string_view text, std::initializer_list<std::string_view> parts) {
    for (std::string_view part : parts) {
      if (!starts_with(text, part))
        return false;
      text.remove_prefix(part.size());
    }
    return text.empty();
  };
  const std::string_view origin = strip_trailing_slash(public_origin);
  for (const std::string& aud : audiences) {
    if (!host.empty() && (equals(aud, {"http://", host, endpoint, hub}) ||
                          equals(aud, {"https://", host, endpoint, hub})))
      return true;
    if (!origin.empty() && equals(aud, {origin, endpoint, hub}))
      return true;
  }
  return false;
}

bool rest_audience_matches(const std::vector<std::string>& audiences, std::string_view target,
                           const std::vector<std::string>& origins, bool any_host) {
  try {
    return rest_audience_impl(audiences, target, origins, any_host);
  } catch (...) {
    return false;
  }
}

}  // namespace wps::auth
