#include "protocol/messages.hpp"

#include <gtest/gtest.h>

namespace {

using wps::protocol::DataType;
using wps::protocol::parse_data_type;
using wps::protocol::to_string;

TEST(DataTypeNames, RoundTrip) {
  for (const auto type : {DataType::json, DataType::text, DataType::binary, DataType::protobuf}) {
    EXPECT_EQ(parse_data_type(to_string(type)), type);
  }
  EXPECT_EQ(to_string(DataType::json), "json");
  EXPECT_EQ(to_string(DataType::text), "text");
  EXPECT_EQ(to_string(DataType::binary), "binary");
  EXPECT_EQ(to_string(DataType::protobuf), "protobuf");
}

TEST(DataTypeNames, ParseIsCaseSensitiveAndStrict) {
  EXPECT_FALSE(parse_data_type("Json"));
  EXPECT_FALSE(parse_data_type("TEXT"));
  EXPECT_FALSE(parse_data_type(""));
  EXPECT_FALSE(parse_data_type("json "));
  EXPECT_FALSE(parse_data_type("xml"));
}

}  // namespace
