#include "protocol/messages.hpp"

#include <algorithm>

namespace wps::protocol {

std::string_view to_string(DataType type) noexcept {
  switch (type) {
    case DataType::json:
      return "json";
    case DataType::text:
      return "text";
    case DataType::binary:
      return "binary";
    case DataType::protobuf:
      return "protobuf";
  }
  return "json";
}

std::optional<DataType> parse_data_type(std::string_view name) noexcept {
  if (name == "json") {
    return DataType::json;
  }
  if (name == "text") {
    return DataType::text;
  }
  if (name == "binary") {
    return DataType::binary;
  }
  if (name == "protobuf") {
    return DataType::protobuf;
  }
  return std::nullopt;
}

namespace {
// RFC 7230 tchar: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA
bool is_token_char(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
    return true;
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return kSpecials.find(c) != std::string_view::npos;
}
}  // namespace

std::string_view check_metadata(const Metadata& metadata) noexcept {
  std::size_t total = 0;
  for (const auto& [key, value] : metadata) {
    if (key.empty() || key.size() > kMaxMetadataKey)
      return "A 'metadata' key must have 1 to 256 characters.";
    if (!std::all_of(key.begin(), key.end(), is_token_char))
      return "A 'metadata' key has a character that is not allowed.";
    if (value.size() > kMaxMetadataValue)
      return "A 'metadata' value must have at most 1024 characters.";
    // Printable ASCII only: values become HTTP header values upstream (spec §6.10).
    if (!std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7F; }))
      return "A 'metadata' value must be printable ASCII.";
    total += key.size() + value.size();
  }
  if (total > kMaxMetadataTotal)
    return "The 'metadata' keys and values exceed 8192 characters in total.";
  return {};
}

void set_metadata(Metadata& metadata, std::string key, std::string value) {
  for (auto& entry : metadata) {
    if (entry.first == key) {
      entry.second = std::move(value);
      return;
    }
  }
  metadata.emplace_back(std::move(key), std::move(value));
}

}  // namespace wps::protocol
