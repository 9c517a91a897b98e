#pragma once
// The OData `filter` of the REST API (spec §5): a parser that checks syntax and types up front,
// and an evaluator over one connection. Pure: no I/O, no globals.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "util/string_set.hpp"

namespace wps::protocol::odata {

// What a filter can see of one connection.
struct FilterSubject {
  std::string_view connection_id;
  const std::string* user_id = nullptr;     // nullptr: null (anonymous)
  const util::StringSet* groups = nullptr;  // nullptr: no groups
  const std::string* protocol = nullptr;    // nullptr: null (simple client)
};

class Expr;  // the parsed expression tree (defined in odata_filter.cpp)
struct ParseResult;

class Filter {
 public:
  ~Filter();
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;

  // Whether the connection matches. Never throws.
  bool matches(const FilterSubject& subject) const;

  // The filter text as parsed (for logs and the broker envelope).
  const std::string& text() const { return text_; }

 private:
  friend struct ParseResult;
  friend ParseResult parse(std::string_view text);
  Filter(std::string text, std::unique_ptr<Expr> root);
  std::string text_;
  std::unique_ptr<Expr> root_;
};

struct ParseResult {
  std::shared_ptr<const Filter> filter;  // set on success
  std::string error;         // on failure: "Invalid syntax at position 12: ..." (< 200 bytes)
  std::size_t position = 0;  // 0-based offset of the error in the input
  explicit operator bool() const noexcept { return filter != nullptr; }
};

// Parses and type-checks `text` (an empty or all-whitespace text matches everything). Limits:
// at most 64 KiB of text and a nesting depth of 100.
ParseResult parse(std::string_view text);

}  // namespace wps::protocol::odata
