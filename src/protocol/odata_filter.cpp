// The OData `filter` of the REST API (spec §5): a tokenizer, a precedence-climbing parser that
// builds a typed tree and rejects type errors before any fan-out, and an evaluator.
//
// Precedence, high to low: `not`; comparisons (`eq ne gt ge lt le in`, left-associative); `and`;
// `or`. Keywords and function names are lower case; identifier names are case-insensitive.
//
// Decisions where the spec is silent (also pinned by tests/unit/protocol/odata_filter_test.cpp):
// - Strings are bytes: comparisons are ordinal, `tolower`/`toupper` change ASCII letters only
//   (other UTF-8 bytes pass through), `length`/`indexof`/`substring` count bytes, `trim` strips
//   ASCII whitespace (space, \t, \n, \v, \f, \r).
// - `substring(s, start[, len])` never fails: `start` is clamped to [0, length(s)], a negative
//   `len` counts as 0, and the end is clamped to length(s).
// - `concat`, `tolower`, `toupper`, `trim`, `substring`, `length` yield null when an argument is
//   null; `indexof` yields -1; `startswith`/`endswith`/`contains` yield false.
// - `length(groups)` of a connection without groups is 0; `x in groups` with a null `x` is false.
// - `in (..)` compares with `eq` semantics, so `userId in ('a', null)` matches anonymous users.
// - `eq`/`ne` need operands of the same type (either may be the `null` literal); `gt ge lt le`
//   need int (or null) operands. Integers are 64-bit; a literal out of range is a syntax error.
// - Whitespace is any ASCII whitespace; operators need none around quotes or parentheses.
// - The depth limit counts parentheses, function calls, `in` lists, `not` and chained
//   comparisons; `and`/`or` chains are flat and do not count.

#include "protocol/odata_filter.hpp"

#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "util/text.hpp"

namespace wps::protocol::odata {

namespace {

constexpr std::size_t max_text_bytes = 64 * 1024;
constexpr int max_depth = 100;

enum class Type : std::uint8_t { boolean, integer, string, null, collection };

const char* type_name(Type type) {
  switch (type) {
    case Type::boolean:
      return "bool";
    case Type::integer:
      return "int";
    case Type::string:
      return "string";
    case Type::null:
      return "null";
    case Type::collection:
      return "collection";
  }
  return "?";
}

enum class Op : std::uint8_t {
  lit_null,
  lit_bool,
  lit_int,
  lit_string,
  id_user,
  id_connection,
  id_protocol,
  id_groups,
  op_and,
  op_or,
  op_not,
  op_eq,
  op_ne,
  op_gt,
  op_ge,
  op_lt,
  op_le,
  in_list,    // kids[0] in (kids[1..])
  in_groups,  // kids[0] in groups
  fn_startswith,
  fn_endswith,
  fn_contains,
  fn_tolower,
  fn_toupper,
  fn_trim,
  fn_substring,
  fn_concat,
  fn_indexof,
  fn_length,
};

}  // namespace

// One node of the typed expression tree.
class Expr {
 public:
  Op op = Op::lit_null;
  Type type = Type::null;
  std::size_t pos = 0;  // byte offset of the node's first token
  bool boolean = false;
  std::int64_t integer = 0;
  std::string string;  // the literal's unescaped value
  std::vector<std::unique_ptr<Expr>> kids;
};

namespace {

using ExprPtr = std::unique_ptr<Expr>;

// ---------------------------------------------------------------------------------------------
// Tokenizer

enum class Tok : std::uint8_t { end, word, string, integer, lparen, rparen, comma };

struct Token {
  Tok kind = Tok::end;
  std::size_t pos = 0;
  std::string_view text;  // the raw bytes of the token
  std::string string;     // string literal: the unescaped value
  std::int64_t integer = 0;
};

// Thrown inside the parser only; parse() turns it into a ParseResult.
struct Failure {
  std::size_t pos;
  std::string message;  // complete, "Invalid syntax at position N: ..."
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// A short, printable rendering of input bytes for error messages (keeps them ASCII and short).
std::string snippet(std::string_view text) {
  constexpr std::size_t max_len = 24;
  std::string out;
  const std::size_t n = text.size() < max_len ? text.size() : max_len;
  out.reserve(n + 3);
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (text.size() > max_len)
    out += "...";
  return out;
}

[[noreturn]] void syntax_error(std::size_t pos, const std::string& detail) {
  throw Failure{pos, "Invalid syntax at position " + std::to_string(pos) + ": " + detail};
}

[[noreturn]] void type_error(std::size_t pos, const std::string& detail) {
  throw Failure{pos, "Type error at position " + std::to_string(pos) + ": " + detail};
}

std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (true) {
    while (i < n && util::is_ascii_space(text[i]))
      ++i;
    Token token;
    token.pos = i;
    if (i == n) {
      tokens.push_back(std::move(token));
      return tokens;
    }
    const char c = text[i];
    if (c == '(' || c == ')' || c == ',') {
      token.kind = c == '(' ? Tok::lparen : c == ')' ? Tok::rparen : Tok::comma;
      token.text = text.substr(i, 1);
      ++i;
    } else if (c == '\'') {
      token.kind = Tok::string;
      std::size_t j = i + 1;
      while (true) {
        if (j >= n)
          syntax_error(i, "unterminated string literal");
        if (text[j] == '\'') {
          if (j + 1 < n && text[j + 1] == '\'') {
            token.string.push_back('\'');
            j += 2;
            continue;
          }
          ++j;
          break;
        }
        token.string.push_back(text[j]);
        ++j;
      }
      token.text = text.substr(i, j - i);
      i = j;
    } else if (is_digit(c) || ((c == '+' || c == '-') && i + 1 < n && is_digit(text[i + 1]))) {
      token.kind = Tok::integer;
      std::size_t j = i;
      const bool negative = c == '-';
      if (c == '+' || c == '-')
        ++j;
      // Accumulate as a negative number so INT64_MIN is representable.
      std::int64_t value = 0;
      bool overflow = false;
      constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
      for (; j < n && is_digit(text[j]); ++j) {
        const std::int64_t digit = text[j] - '0';
        if (value < (min + digit) / 10)
          overflow = true;
        else
          value = value * 10 - digit;
      }
      if (j < n && (is_alpha(text[j]) || text[j] == '.'))
        syntax_error(i, "invalid number '" + snippet(text.substr(i, j + 1 - i)) + "'");
      if (!negative) {
        if (value == min)
          overflow = true;
        else
          value = -value;
      }
      if (overflow)
        syntax_error(i, "integer literal out of range");
      token.integer = value;
      token.text = text.substr(i, j - i);
      i = j;
    } else if (is_alpha(c)) {
      token.kind = Tok::word;
      std::size_t j = i + 1;
      while (j < n && (is_alpha(text[j]) || is_digit(text[j])))
        ++j;
      token.text = text.substr(i, j - i);
      i = j;
    } else {
      syntax_error(i, "unexpected character '" + snippet(text.substr(i, 1)) + "'");
    }
    tokens.push_back(std::move(token));
  }
}

std::string describe(const Token& token) {
  switch (token.kind) {
    case Tok::end:
      return "end of filter";
    case Tok::string:
      return "string literal";
    default: {
      // Appended rather than "'" + ...: GCC 12 at -O3 reports a false -Werror=restrict on
      // operator+(const char*, std::string&&) (the Release build type failed on it).
      std::string out(1, '\'');
      out += snippet(token.text);
      out += '\'';
      return out;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Parser

struct FunctionInfo {
  std::string_view name;
  Op op;
  Type result;
  std::size_t min_args;
  std::size_t max_args;
};

constexpr FunctionInfo functions[] = {
    {"startswith", Op::fn_startswith, Type::boolean, 2, 2},
    {"endswith", Op::fn_endswith, Type::boolean, 2, 2},
    {"contains", Op::fn_contains, Type::boolean, 2, 2},
    {"tolower", Op::fn_tolower, Type::string, 1, 1},
    {"toupper", Op::fn_toupper, Type::string, 1, 1},
    {"trim", Op::fn_trim, Type::string, 1, 1},
    {"substring", Op::fn_substring, Type::string, 2, 3},
    {"concat", Op::fn_concat, Type::string, 2, 2},
    {"indexof", Op::fn_indexof, Type::integer, 2, 2},
    {"length", Op::fn_length, Type::integer, 1, 1},
};

const FunctionInfo* find_function(std::string_view name) {
  for (const FunctionInfo& f : functions) {
    if (f.name == name)
      return &f;
  }
  return nullptr;
}

bool is_keyword(std::string_view word) {
  return word == "and" || word == "or" || word == "not" || word == "eq" || word == "ne" ||
         word == "gt" || word == "ge" || word == "lt" || word == "le" || word == "in" ||
         word == "null" || word == "true" || word == "false";
}

bool comparison_op(std::string_view word, Op& op) {
  if (word == "eq")
    op = Op::op_eq;
  else if (word == "ne")
    op = Op::op_ne;
  else if (word == "gt")
    op = Op::op_gt;
  else if (word == "ge")
    op = Op::op_ge;
  else if (word == "lt")
    op = Op::op_lt;
  else if (word == "le")
    op = Op::op_le;
  else
    return false;
  return true;
}

// Whether values of these types can be compared with eq/ne (or matched by `in (..)`).
bool comparable(Type a, Type b) {
  if (a == Type::collection || b == Type::collection)
    return false;
  return a == b || a == Type::null || b == Type::null;
}

bool is_string_like(Type t) {
  return t == Type::string || t == Type::null;
}
bool is_int_like(Type t) {
  return t == Type::integer || t == Type::null;
}

ExprPtr make_expr(Op op, Type type, std::size_t pos) {
  auto node = std::make_unique<Expr>();
  node->op = op;
  node->type = type;
  node->pos = pos;
  return node;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  ExprPtr parse_filter() {
    ExprPtr root = parse_or();
    if (peek().kind != Tok::end)
      syntax_error(peek().pos, "unexpected " + describe(peek()));
    if (root->type != Type::boolean)
      type_error(root->pos,
                 std::string("the filter must be a bool expression, got ") + type_name(root->type));
    return root;
  }

 private:
  // Counts one level of nesting for as long as it lives.
  class Nest {
   public:
    Nest(Parser& parser, std::size_t pos) : parser_(parser) {
      if (++parser_.depth_ > max_depth)
        syntax_error(pos, "nesting depth exceeds " + std::to_string(max_depth));
    }
    ~Nest() { --parser_.depth_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;

   private:
    Parser& parser_;
  };

  const Token& peek() const { return tokens_[index_]; }
  const Token& next() {
    const Token& token = tokens_[index_];
    if (token.kind != Tok::end)
      ++index_;
    return token;
  }
  bool at_word(std::string_view word) const {
    return peek().kind == Tok::word && peek().text == word;
  }
  void expect(Tok kind, const char* what) {
    if (peek().kind != kind)
      syntax_error(peek().pos, std::string("expected ") + what);
    next();
  }

  static void require_bool(const Expr& operand, std::size_t op_pos, const char* op) {
    if (operand.type != Type::boolean)
      type_error(op_pos,
                 std::string("'") + op + "' expects a bool, got " + type_name(operand.type));
  }

  // or_expr := and_expr ('or' and_expr)*
  ExprPtr parse_or() {
    ExprPtr first = parse_and();
    if (!at_word("or"))
      return first;
    ExprPtr node = make_expr(Op::op_or, Type::boolean, first->pos);
    require_bool(*first, peek().pos, "or");
    node->kids.push_back(std::move(first));
    while (at_word("or")) {
      const std::size_t op_pos = next().pos;
      ExprPtr operand = parse_and();
      require_bool(*operand, op_pos, "or");
      node->kids.push_back(std::move(operand));
    }
    return node;
  }

  // and_expr := cmp_expr ('and' cmp_expr)*
  ExprPtr parse_and() {
    ExprPtr first = parse_comparison();
    if (!at_word("and"))
      return first;
    ExprPtr node = make_expr(Op::op_and, Type::boolean, first->pos);
    require_bool(*first, peek().pos, "and");
    node->kids.push_back(std::move(first));
    while (at_word("and")) {
      const std::size_t op_pos = next().pos;
      ExprPtr operand = parse_comparison();
      require_bool(*operand, op_pos, "and");
      node->kids.push_back(std::move(operand));
    }
    return node;
  }

  // cmp_expr := unary ((cmp unary) | ('in' in_rhs))*
  ExprPtr parse_comparison() {
    ExprPtr left = parse_unary();
    int chained = 0;
    while (peek().kind == Tok::word) {
      Op op = Op::op_eq;
      const std::size_t op_pos = peek().pos;
      const std::string_view word = peek().text;
      if (word == "in") {
        next();
        left = parse_in(std::move(left), op_pos);
      } else if (comparison_op(word, op)) {
        next();
        ExprPtr right = parse_unary();
        left = make_comparison(op, word, std::move(left), std::move(right), op_pos);
      } else {
        break;
      }
      // A chain `a eq b eq c` nests to the left; bound it like any other nesting.
      if (++chained > 1 && depth_ + chained > max_depth)
        syntax_error(op_pos, "nesting depth exceeds " + std::to_string(max_depth));
    }
    return left;
  }

  static ExprPtr make_comparison(Op op, std::string_view word, ExprPtr left, ExprPtr right,
                                 std::size_t op_pos) {
    if (op == Op::op_eq || op == Op::op_ne) {
      if (!comparable(left->type, right->type))
        type_error(op_pos, "cannot compare " + std::string(type_name(left->type)) + " with " +
                               type_name(right->type) + " using '" + std::string(word) + "'");
    } else {
      const Type bad = !is_int_like(left->type) ? left->type : right->type;
      if (!is_int_like(left->type) || !is_int_like(right->type))
        type_error(op_pos,
                   "'" + std::string(word) + "' expects int operands, got " + type_name(bad));
    }
    ExprPtr node = make_expr(op, Type::boolean, left->pos);
    node->kids.push_back(std::move(left));
    node->kids.push_back(std::move(right));
    return node;
  }

  // in_rhs := '(' or_expr (',' or_expr)* ')' | unary   (a single collection item: membership)
  ExprPtr parse_in(ExprPtr left, std::size_t op_pos) {
    if (left->type == Type::collection)
      type_error(op_pos, "the left side of 'in' must be a value, got collection");
    std::vector<ExprPtr> items;
    if (peek().kind == Tok::lparen) {
      Nest nest(*this, peek().pos);
      next();
      items.push_back(parse_or());
      while (peek().kind == Tok::comma) {
        next();
        items.push_back(parse_or());
      }
      expect(Tok::rparen, "')'");
    } else {
      items.push_back(parse_unary());
      if (items[0]->type != Type::collection)
        type_error(items[0]->pos,
                   std::string("'in' expects a parenthesized list or a collection, got ") +
                       type_name(items[0]->type));
    }
    if (items.size() == 1 && items[0]->type == Type::collection) {
      if (!is_string_like(left->type))
        type_error(op_pos,
                   std::string("'in' a collection expects a string, got ") + type_name(left->type));
      ExprPtr node = make_expr(Op::in_groups, Type::boolean, left->pos);
      node->kids.push_back(std::move(left));
      node->kids.push_back(std::move(items[0]));
      return node;
    }
    ExprPtr node = make_expr(Op::in_list, Type::boolean, left->pos);
    for (const ExprPtr& item : items) {
      if (!comparable(left->type, item->type))
        type_error(item->pos, "'in' list item is " + std::string(type_name(item->type)) +
                                  ", expected " + type_name(left->type));
    }
    node->kids.push_back(std::move(left));
    for (ExprPtr& item : items)
      node->kids.push_back(std::move(item));
    return node;
  }

  // unary := 'not' unary | primary
  ExprPtr parse_unary() {
    if (at_word("not")) {
      const std::size_t pos = next().pos;
      Nest nest(*this, pos);
      ExprPtr operand = parse_unary();
      require_bool(*operand, pos, "not");
      ExprPtr node = make_expr(Op::op_not, Type::boolean, pos);
      node->kids.push_back(std::move(operand));
      return node;
    }
    return parse_primary();
  }

  // primary := literal | identifier | function '(' args ')' | '(' or_expr ')'
  ExprPtr parse_primary() {
    const Token& token = peek();
    switch (token.kind) {
      case Tok::lparen: {
        Nest nest(*this, token.pos);
        const std::size_t pos = next().pos;
        ExprPtr inner = parse_or();
        expect(Tok::rparen, "')'");
        inner->pos = pos;  // errors about the parenthesized operand point at its '('
        return inner;
      }
      case Tok::string: {
        ExprPtr node = make_expr(Op::lit_string, Type::string, token.pos);
        node->string = token.string;
        next();
        return node;
      }
      case Tok::integer: {
        ExprPtr node = make_expr(Op::lit_int, Type::integer, token.pos);
        node->integer = token.integer;
        next();
        return node;
      }
      case Tok::word:
        return parse_word();
      case Tok::end:
      case Tok::rparen:
      case Tok::comma:
        break;
    }
    syntax_error(token.pos, "expected a value, got " + describe(token));
  }

  ExprPtr parse_word() {
    const Token& token = next();
    const std::string_view word = token.text;
    if (word == "null")
      return make_expr(Op::lit_null, Type::null, token.pos);
    if (word == "true" || word == "false") {
      ExprPtr node = make_expr(Op::lit_bool, Type::boolean, token.pos);
      node->boolean = word == "true";
      return node;
    }
    if (is_keyword(word))
      syntax_error(token.pos, "expected a value, got '" + std::string(word) + "'");
    if (peek().kind == Tok::lparen) {
      const FunctionInfo* function = find_function(word);
      if (function == nullptr)
        syntax_error(token.pos, "unknown function '" + snippet(word) + "'");
      return parse_call(*function, token.pos);
    }
    if (util::iequals(word, "userId"))
      return make_expr(Op::id_user, Type::string, token.pos);
    if (util::iequals(word, "connectionId"))
      return make_expr(Op::id_connection, Type::string, token.pos);
    if (util::iequals(word, "protocol"))
      return make_expr(Op::id_protocol, Type::string, token.pos);
    if (util::iequals(word, "groups"))
      return make_expr(Op::id_groups, Type::collection, token.pos);
    if (find_function(word) != nullptr)
      syntax_error(peek().pos, "expected '(' after '" + std::string(word) + "'");
    syntax_error(token.pos, "unknown identifier '" + snippet(word) + "'");
  }

  ExprPtr parse_call(const FunctionInfo& function, std::size_t pos) {
    Nest nest(*this, peek().pos);
    next();  // '('
    ExprPtr node = make_expr(function.op, function.result, pos);
    node->kids.push_back(parse_or());
    while (peek().kind == Tok::comma) {
      if (node->kids.size() == function.max_args)
        syntax_error(peek().pos, "too many arguments for '" + std::string(function.name) + "'");
      next();
      node->kids.push_back(parse_or());
    }
    if (peek().kind != Tok::rparen) {
      syntax_error(peek().pos,
                   node->kids.size() < function.min_args ? "expected ','" : "expected ')'");
    }
    if (node->kids.size() < function.min_args)
      syntax_error(peek().pos, "too few arguments for '" + std::string(function.name) + "'");
    next();
    check_arguments(function, *node);
    return node;
  }

  static void check_arguments(const FunctionInfo& function, const Expr& node) {
    for (std::size_t i = 0; i < node.kids.size(); ++i) {
      const Expr& arg = *node.kids[i];
      bool ok;
      const char* wanted;
      if (function.op == Op::fn_length) {
        ok = is_string_like(arg.type) || arg.type == Type::collection;
        wanted = "a string or a collection";
      } else if (function.op == Op::fn_substring && i > 0) {
        ok = is_int_like(arg.type);
        wanted = "an int";
      } else {
        ok = is_string_like(arg.type);
        wanted = "a string";
      }
      if (!ok)
        type_error(arg.pos, "'" + std::string(function.name) + "' expects " + wanted +
                                " for argument " + std::to_string(i + 1) + ", got " +
                                type_name(arg.type));
    }
  }

  std::vector<Token> tokens_;
  std::size_t index_ = 0;
  int depth_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Evaluation

// A runtime value. Strings are views into stable storage (the tree or the subject) unless a
// function had to build a new one, which then lives in `owned`.
struct Value {
  enum class Kind : std::uint8_t { null, boolean, integer, string };
  Kind kind = Kind::null;
  bool boolean = false;
  std::int64_t integer = 0;
  std::string_view view;                // the string when !is_owned
  const std::string* stable = nullptr;  // the same string as a std::string, when known
  bool is_owned = false;
  std::string owned;

  std::string_view str() const { return is_owned ? std::string_view(owned) : view; }
  bool is_null() const { return kind == Kind::null; }

  static Value of_bool(bool b) {
    Value v;
    v.kind = Kind::boolean;
    v.boolean = b;
    return v;
  }
  static Value of_int(std::int64_t i) {
    Value v;
    v.kind = Kind::integer;
    v.integer = i;
    return v;
  }
  static Value of_stable(const std::string* s) {
    Value v;
    if (s != nullptr) {
      v.kind = Kind::string;
      v.view = *s;
      v.stable = s;
    }
    return v;
  }
  static Value of_view(std::string_view s) {
    Value v;
    v.kind = Kind::string;
    v.view = s;
    return v;
  }
  static Value of_owned(std::string s) {
    Value v;
    v.kind = Kind::string;
    v.is_owned = true;
    v.owned = std::move(s);
    return v;
  }
  // Narrows the string to [start, start + len), keeping it in its storage.
  void narrow(std::size_t start, std::size_t len) {
    if (is_owned) {
      owned.erase(start + len);
      owned.erase(0, start);
    } else {
      view = view.substr(start, len);
      stable = nullptr;
    }
  }
};

bool equal(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null())
    return a.is_null() && b.is_null();
  if (a.kind != b.kind)
    return false;  // unreachable after type checking
  switch (a.kind) {
    case Value::Kind::boolean:
      return a.boolean == b.boolean;
    case Value::Kind::integer:
      return a.integer == b.integer;
    case Value::Kind::string:
      return a.str() == b.str();
    case Value::Kind::null:
      break;
  }
  return true;
}

std::int64_t clamp_to_size(std::int64_t value, std::size_t size) {
  if (value < 0)
    return 0;
  const auto max = static_cast<std::uint64_t>(size);
  return static_cast<std::uint64_t>(value) > max ? static_cast<std::int64_t>(max) : value;
}

class Evaluator {
 public:
  explicit Evaluator(const FilterSubject& subject) : subject_(subject) {}

  bool test(const Expr& node) const {
    switch (node.op) {
      case Op::lit_bool:
        return node.boolean;
      case Op::op_and:
        for (const ExprPtr& kid : node.kids) {
          if (!test(*kid))
            return false;
        }
        return true;
      case Op::op_or:
        for (const ExprPtr& kid : node.kids) {
          if (test(*kid))
            return true;
        }
        return false;
      case Op::op_not:
        return !test(*node.kids[0]);
      case Op::op_eq:
        return equal(value(*node.kids[0]), value(*node.kids[1]));
      case Op::op_ne:
        return !equal(value(*node.kids[0]), value(*node.kids[1]));
      case Op::op_gt:
      case Op::op_ge:
      case Op::op_lt:
      case Op::op_le:
        return compare(node);
      case Op::in_list: {
        const Value left = value(*node.kids[0]);
        for (std::size_t i = 1; i < node.kids.size(); ++i) {
          if (equal(left, value(*node.kids[i])))
            return true;
        }
        return false;
      }
      case Op::in_groups:
        return in_groups(*node.kids[0]);
      case Op::fn_startswith:
      case Op::fn_endswith:
      case Op::fn_contains:
        return string_test(node);
      default:
        break;
    }
    return false;  // not a bool node: unreachable after type checking
  }

  Value value(const Expr& node) const {
    switch (node.op) {
      case Op::lit_null:
        return Value{};
      case Op::lit_int:
        return Value::of_int(node.integer);
      case Op::lit_string:
        return Value::of_stable(&node.string);
      case Op::id_user:
        return Value::of_stable(subject_.user_id);
      case Op::id_connection:
        return Value::of_view(subject_.connection_id);
      case Op::id_protocol:
        return Value::of_stable(subject_.protocol);
      case Op::id_groups:
        return Value{};  // a collection is never a value: unreachable after type checking
      case Op::fn_tolower:
      case Op::fn_toupper: {
        const Value arg = value(*node.kids[0]);
        if (arg.is_null())
          return Value{};
        std::string out(arg.str());
        for (char& c : out)
          c = node.op == Op::fn_tolower ? util::ascii_lower(c) : util::ascii_upper(c);
        return Value::of_owned(std::move(out));
      }
      case Op::fn_trim: {
        Value arg = value(*node.kids[0]);
        if (arg.is_null())
          return arg;
        const std::string_view s = arg.str();
        const std::string_view trimmed = util::trim_ascii_space(s);
        if (trimmed.size() != s.size())
          arg.narrow(static_cast<std::size_t>(trimmed.data() - s.data()), trimmed.size());
        return arg;
      }
      case Op::fn_substring:
        return substring(node);
      case Op::fn_concat: {
        const Value a = value(*node.kids[0]);
        const Value b = value(*node.kids[1]);
        if (a.is_null() || b.is_null())
          return Value{};
        std::string out;
        out.reserve(a.str().size() + b.str().size());
        out += a.str();
        out += b.str();
        return Value::of_owned(std::move(out));
      }
      case Op::fn_indexof: {
        const Value a = value(*node.kids[0]);
        const Value b = value(*node.kids[1]);
        if (a.is_null() || b.is_null())
          return Value::of_int(-1);
        const std::size_t at = a.str().find(b.str());
        return Value::of_int(at == std::string_view::npos ? -1 : static_cast<std::int64_t>(at));
      }
      case Op::fn_length: {
        const Expr& arg = *node.kids[0];
        if (arg.op == Op::id_groups) {
          const std::size_t n = subject_.groups != nullptr ? subject_.groups->size() : 0;
          return Value::of_int(static_cast<std::int64_t>(n));
        }
        const Value v = value(arg);
        if (v.is_null())
          return Value{};
        return Value::of_int(static_cast<std::int64_t>(v.str().size()));
      }
      default:
        return Value::of_bool(test(node));
    }
  }

 private:
  bool compare(const Expr& node) const {
    const Value a = value(*node.kids[0]);
    const Value b = value(*node.kids[1]);
    if (a.kind != Value::Kind::integer || b.kind != Value::Kind::integer)
      return false;  // null on either side
    switch (node.op) {
      case Op::op_gt:
        return a.integer > b.integer;
      case Op::op_ge:
        return a.integer >= b.integer;
      case Op::op_lt:
        return a.integer < b.integer;
      case Op::op_le:
        return a.integer <= b.integer;
      default:
        return false;
    }
  }

  bool in_groups(const Expr& item) const {
    if (subject_.groups == nullptr || subject_.groups->empty())
      return false;
    const Value v = value(item);
    if (v.is_null())
      return false;
    if (v.stable != nullptr)
      return subject_.groups->contains(*v.stable);
    if (v.is_owned)
      return subject_.groups->contains(v.owned);
    return subject_.groups->contains(v.view);
  }

  bool string_test(const Expr& node) const {
    const Value a = value(*node.kids[0]);
    const Value b = value(*node.kids[1]);
    if (a.is_null() || b.is_null())
      return false;
    const std::string_view s = a.str();
    const std::string_view t = b.str();
    switch (node.op) {
      case Op::fn_startswith:
        return s.starts_with(t);
      case Op::fn_endswith:
        return s.ends_with(t);
      default:
        return s.find(t) != std::string_view::npos;
    }
  }

  Value substring(const Expr& node) const {
    Value s = value(*node.kids[0]);
    const Value start = value(*node.kids[1]);
    if (s.is_null() || start.is_null())
      return Value{};
    const std::size_t size = s.str().size();
    const auto from = static_cast<std::size_t>(clamp_to_size(start.integer, size));
    std::size_t len = size - from;
    if (node.kids.size() > 2) {
      const Value count = value(*node.kids[2]);
      if (count.is_null())
        return Value{};
      len = static_cast<std::size_t>(clamp_to_size(count.integer, len));
    }
    if (from != 0 || len != size)
      s.narrow(from, len);
    return s;
  }

  const FilterSubject& subject_;
};

}  // namespace

Filter::Filter(std::string text, std::unique_ptr<Expr> root)
    : text_(std::move(text)), root_(std::move(root)) {}

Filter::~Filter() = default;

bool Filter::matches(const FilterSubject& subject) const {
  if (root_ == nullptr)
    return true;  // empty filter
  try {
    return Evaluator(subject).test(*root_);
  } catch (...) {
    return false;  // only allocation failure can get here
  }
}

ParseResult parse(std::string_view text) {
  ParseResult result;
  try {
    if (text.size() > max_text_bytes) {
      syntax_error(max_text_bytes, "filter exceeds " + std::to_string(max_text_bytes) + " bytes");
    }
    std::vector<Token> tokens = tokenize(text);
    ExprPtr root;
    if (tokens.size() > 1) {  // anything but the end token
      Parser parser(std::move(tokens));
      root = parser.parse_filter();
    }
    result.filter = std::shared_ptr<const Filter>(new Filter(std::string(text), std::move(root)));
  } catch (const Failure& failure) {
    result.error = failure.message;
    result.position = failure.pos;
  } catch (const std::exception&) {
    result.error = "Invalid syntax at position 0: the filter could not be parsed";
    result.position = 0;
  }
  return result;
}

}  // namespace wps::protocol::odata
