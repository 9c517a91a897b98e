// libFuzzer target for the JWT verifier and the audience helpers.
// The input is verified as a token with a fixed key, and read unverified (Entra tokens under
// --allow-unvalidated-entra-tokens); the bytes are also fed to the audience helpers (as
// audience, hub and request-target), and re-signed to check sign/verify agree.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/token_claims.hpp"

namespace {

constexpr std::string_view fuzz_key = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH";
constexpr std::string_view fuzz_secondary = "fuzz-secondary-key-0123456789-0123456789";

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wps::auth;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  VerifyOptions options;
  options.keys = {std::string(fuzz_key), std::string(fuzz_secondary)};
  options.now = 1700000000;
  const std::vector<std::string> origins = {"http://localhost:8080", "https://localhost:8080"};

  const VerifyResult result = verify_token(input, options);
  // Whatever verifies also reads unverified, to the same claims.
  const std::optional<Claims> unverified = read_unverified_claims(input);
  if (unverified)
    (void)lifetime_error(*unverified, options);
  if (result) {
    check(unverified.has_value());
    check(unverified->audiences == result.claims->audiences);
    check(unverified->exp == result.claims->exp);
  }
  if (result) {
    const Claims& claims = *result.claims;
    (void)client_audience_matches(claims.audiences, "chat", origins, false);
    (void)client_audience_matches(claims.audiences, "chat", origins, true);
    (void)rest_audience_matches(claims.audiences, "/api/hubs/chat/:send?api-version=2024-12-01",
                                origins, false);
    (void)rest_audience_matches(claims.audiences, "/api/hubs/chat/:send", origins, true);
  }

  // The raw bytes as audience, as hub and as request-target; split once at a NUL-free point.
  const std::size_t split = input.find('\n');
  const std::string_view first = input.substr(0, split);
  const std::string_view second =
      split == std::string_view::npos ? std::string_view{} : input.substr(split + 1);
  const std::vector<std::string> audiences = {std::string(first), std::string(second)};
  for (const bool any_host : {false, true}) {
    (void)client_audience_matches(audiences, second, origins, any_host);
    (void)rest_audience_matches(audiences, second, origins, any_host);
    (void)client_audience_matches({"http://localhost:8080/client/hubs/chat"}, input, origins,
                                  any_host);
    (void)rest_audience_matches({"http://localhost:8080/api/hubs/chat"}, input,
                                {std::string(first)}, any_host);
  }
  // An audience built from a hub must match that hub.
  const std::string aud = client_token_audience("http://localhost:8080", first);
  check(client_audience_matches({aud}, first, origins, false));
  check(client_audience_matches({aud}, first, origins, true));
  // The same for a REST target that starts with '/'.
  if (!second.empty() && second.front() == '/') {
    check(rest_audience_matches({"http://localhost:8080" + std::string(second)}, second, origins,
                                false));
  }

  // Signing the bytes as claims never yields a signature or algorithm failure.
  VerifyOptions relaxed = options;
  relaxed.require_expiry = false;
  const VerifyResult signed_result = verify_token(sign_token(input, fuzz_key), relaxed);
  check(signed_result || (signed_result.error != TokenError::bad_signature &&
                          signed_result.error != TokenError::unsupported_algorithm));
  return 0;
}
