#include "protocol/messages.hpp"

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

}  // namespace wps::protocol
