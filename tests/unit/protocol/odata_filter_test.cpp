// Tests of the OData `filter` parser and evaluator (spec §5).

#include "protocol/odata_filter.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace {

using namespace wps::protocol::odata;

// A connection as a filter sees it, owning its strings.
struct Conn {
  std::string connection_id = "conn1";
  std::optional<std::string> user_id;
  std::optional<std::string> protocol;
  std::optional<wps::util::StringSet> groups;

  FilterSubject subject() const {
    FilterSubject s;
    s.connection_id = connection_id;
    s.user_id = user_id ? &*user_id : nullptr;
    s.protocol = protocol ? &*protocol : nullptr;
    s.groups = groups ? &*groups : nullptr;
    return s;
  }
};

Conn user(std::string id, wps::util::StringSet groups = {}) {
  Conn c;
  c.user_id = std::move(id);
  c.groups = std::move(groups);
  return c;
}

Conn anonymous() {
  return Conn{};
}

// Parses `text`, expecting success, and evaluates it against `conn`.
bool eval(std::string_view text, const Conn& conn) {
  const ParseResult result = parse(text);
  EXPECT_TRUE(result) << text << " -> " << result.error;
  if (!result)
    return false;
  EXPECT_EQ(result.filter->text(), text);
  return result.filter->matches(conn.subject());
}

// Parses `text`, expecting a failure; returns the result for its error and position.
ParseResult fail(std::string_view text) {
  ParseResult result = parse(text);
  EXPECT_FALSE(result) << text;
  EXPECT_FALSE(result.error.empty()) << text;
  EXPECT_LT(result.error.size(), 200u) << text;
  EXPECT_NE(result.error.find("at position " + std::to_string(result.position) + ":"),
            std::string::npos)
      << result.error;
  return result;
}

void expect_syntax_error(std::string_view text, std::size_t position, std::string_view detail) {
  const ParseResult result = fail(text);
  EXPECT_EQ(result.position, position) << text << " -> " << result.error;
  EXPECT_EQ(result.error.rfind("Invalid syntax at position ", 0), 0u) << result.error;
  EXPECT_NE(result.error.find(detail), std::string::npos) << text << " -> " << result.error;
}

void expect_type_error(std::string_view text, std::size_t position, std::string_view detail) {
  const ParseResult result = fail(text);
  EXPECT_EQ(result.position, position) << text << " -> " << result.error;
  EXPECT_EQ(result.error.rfind("Type error at position ", 0), 0u) << result.error;
  EXPECT_NE(result.error.find(detail), std::string::npos) << text << " -> " << result.error;
}

// --- documented examples (spec §5) -------------------------------------------------------------

TEST(ODataFilter, DocExampleGroupsOr) {
  const char* f = "'group1' in groups or 'group2' in groups";
  EXPECT_TRUE(eval(f, user("a", {"group1"})));
  EXPECT_TRUE(eval(f, user("a", {"x", "group2"})));
  EXPECT_FALSE(eval(f, user("a", {"group3"})));
  EXPECT_FALSE(eval(f, anonymous()));  // no groups at all
}

TEST(ODataFilter, DocExampleUserInListAndGroup) {
  const char* f = "userId in ('user1', 'user2') and 'group1' in groups";
  EXPECT_TRUE(eval(f, user("user1", {"group1"})));
  EXPECT_TRUE(eval(f, user("user2", {"group1", "g"})));
  EXPECT_FALSE(eval(f, user("user3", {"group1"})));
  EXPECT_FALSE(eval(f, user("user1", {"group2"})));
  EXPECT_FALSE(eval(f, anonymous()));
}

TEST(ODataFilter, DocExampleUserAndConnection) {
  const char* f = "userId eq 'user1' and connectionId ne '123'";
  Conn c = user("user1");
  EXPECT_TRUE(eval(f, c));
  c.connection_id = "123";
  EXPECT_FALSE(eval(f, c));
  EXPECT_FALSE(eval(f, user("user2")));
}

TEST(ODataFilter, DocExampleNotInGroup) {
  const char* f = "userId eq 'user1' and (not ('group1' in groups))";
  EXPECT_TRUE(eval(f, user("user1")));
  EXPECT_TRUE(eval(f, user("user1", {"group2"})));
  EXPECT_FALSE(eval(f, user("user1", {"group1"})));
  EXPECT_FALSE(eval(f, user("user2")));
}

TEST(ODataFilter, DocExampleQuoteEscaping) {
  EXPECT_TRUE(eval("userId eq 'user''1'", user("user'1")));
  EXPECT_FALSE(eval("userId eq 'user''1'", user("user1")));
  EXPECT_TRUE(eval("userId eq ''''''", user("''")));
  EXPECT_TRUE(eval("userId eq ''", user("")));
  EXPECT_FALSE(eval("userId eq ''", anonymous()));
}

TEST(ODataFilter, DocExampleNotLengthIsATypeError) {
  // `not` binds tighter than `gt`: this is `(not length(userId)) gt 0`.
  expect_type_error("not length(userId) gt 0", 0, "'not' expects a bool, got int");
  const ParseResult r = fail("not length(userId)");
  EXPECT_EQ(r.error, "Type error at position 0: 'not' expects a bool, got int");
  EXPECT_TRUE(eval("not (length(userId) gt 0)", anonymous()));
  EXPECT_FALSE(eval("not (length(userId) gt 0)", user("u")));
}

// --- empty filter, literals ------------------------------------------------------------------

TEST(ODataFilter, EmptyAndWhitespaceMatchEverything) {
  for (const char* text : {"", " ", "\t\r\n ", "   \f\v"}) {
    const ParseResult r = parse(text);
    ASSERT_TRUE(r) << r.error;
    EXPECT_TRUE(r.filter->matches(anonymous().subject()));
    EXPECT_TRUE(r.filter->matches(user("u", {"g"}).subject()));
    EXPECT_EQ(r.filter->text(), text);
  }
}

TEST(ODataFilter, BoolLiterals) {
  EXPECT_TRUE(eval("true", anonymous()));
  EXPECT_FALSE(eval("false", anonymous()));
  EXPECT_TRUE(eval("true eq true", anonymous()));
  EXPECT_TRUE(eval("false ne true", anonymous()));
  EXPECT_TRUE(eval("(true)", anonymous()));
  EXPECT_TRUE(eval("not false", anonymous()));
  EXPECT_TRUE(eval("startswith(userId, 'a') eq true", user("abc")));
  EXPECT_TRUE(eval("startswith(userId, 'a') eq false", user("xbc")));
}

TEST(ODataFilter, IntLiterals) {
  EXPECT_TRUE(eval("1 eq 1", anonymous()));
  EXPECT_TRUE(eval("+1 eq 1", anonymous()));
  EXPECT_TRUE(eval("-1 lt 0", anonymous()));
  EXPECT_TRUE(eval("-0 eq 0", anonymous()));
  EXPECT_TRUE(eval("007 eq 7", anonymous()));
  EXPECT_TRUE(eval("9223372036854775807 gt 0", anonymous()));
  EXPECT_TRUE(eval("-9223372036854775808 lt -9223372036854775807", anonymous()));
  expect_syntax_error("9223372036854775808 gt 0", 0, "integer literal out of range");
  expect_syntax_error("1 eq -9223372036854775809", 5, "integer literal out of range");
  expect_syntax_error("1.5 eq 1", 0, "invalid number '1.'");
  expect_syntax_error("12ab eq 1", 0, "invalid number");
  expect_syntax_error("- 1 eq 1", 0, "unexpected character '-'");
}

TEST(ODataFilter, StringLiteralsAreBytes) {
  EXPECT_TRUE(eval("userId eq 'h\xC3\xA9llo w\xC3\xB6rld'", user("h\xC3\xA9llo w\xC3\xB6rld")));
  EXPECT_TRUE(eval("userId eq 'a b(c),d'", user("a b(c),d")));
  EXPECT_TRUE(eval("length('\xC3\xA9') eq 2", anonymous()));  // bytes, not code points
}

// --- identifiers ---------------------------------------------------------------------------

TEST(ODataFilter, IdentifiersAreCaseInsensitive) {
  Conn c = user("u1", {"g"});
  c.connection_id = "c1";
  c.protocol = "json.webpubsub.azure.v1";
  EXPECT_TRUE(eval("UserId eq 'u1'", c));
  EXPECT_TRUE(eval("USERID eq 'u1'", c));
  EXPECT_TRUE(eval("userid eq 'u1'", c));
  EXPECT_TRUE(eval("ConnectionId eq 'c1'", c));
  EXPECT_TRUE(eval("CONNECTIONID eq 'c1'", c));
  EXPECT_TRUE(eval("Protocol eq 'json.webpubsub.azure.v1'", c));
  EXPECT_TRUE(eval("'g' in Groups", c));
  EXPECT_TRUE(eval("'g' in GROUPS", c));
}

TEST(ODataFilter, KeywordsAndFunctionsAreLowerCase) {
  expect_syntax_error("userId EQ 'a'", 7, "unexpected 'EQ'");
  expect_syntax_error("true AND true", 5, "unexpected 'AND'");
  expect_syntax_error("NOT true", 0, "unknown identifier 'NOT'");
  expect_syntax_error("userId eq NULL", 10, "unknown identifier 'NULL'");
  expect_syntax_error("True", 0, "unknown identifier 'True'");
  expect_syntax_error("StartsWith(userId, 'a')", 0, "unknown function 'StartsWith'");
  expect_syntax_error("Length(userId) eq 1", 0, "unknown function 'Length'");
}

TEST(ODataFilter, StringComparisonIsCaseSensitiveOrdinal) {
  EXPECT_FALSE(eval("userId eq 'User1'", user("user1")));
  EXPECT_TRUE(eval("userId ne 'User1'", user("user1")));
  EXPECT_TRUE(eval("userId eq 'user1'", user("user1")));
  EXPECT_FALSE(eval("'Group1' in groups", user("u", {"group1"})));
}

TEST(ODataFilter, ProtocolIdentifier) {
  Conn json = user("u");
  json.protocol = "json.webpubsub.azure.v1";
  Conn simple = user("u");
  EXPECT_TRUE(eval("protocol eq 'json.webpubsub.azure.v1'", json));
  EXPECT_FALSE(eval("protocol eq 'json.webpubsub.azure.v1'", simple));
  EXPECT_TRUE(eval("protocol eq null", simple));
  EXPECT_FALSE(eval("protocol eq null", json));
  EXPECT_TRUE(eval("protocol ne null", json));
  EXPECT_TRUE(eval("startswith(protocol, 'json.')", json));
  EXPECT_FALSE(eval("startswith(protocol, 'json.')", simple));
}

// --- null semantics ------------------------------------------------------------------------

TEST(ODataFilter, EqNeAreNullAware) {
  EXPECT_TRUE(eval("userId eq null", anonymous()));
  EXPECT_FALSE(eval("userId eq null", user("u")));
  EXPECT_FALSE(eval("userId ne null", anonymous()));
  EXPECT_TRUE(eval("userId ne null", user("u")));
  EXPECT_TRUE(eval("null eq userId", anonymous()));
  EXPECT_TRUE(eval("null eq null", anonymous()));
  EXPECT_FALSE(eval("null ne null", anonymous()));
  EXPECT_FALSE(eval("userId eq 'u'", anonymous()));
  EXPECT_TRUE(eval("userId ne 'u'", anonymous()));
  EXPECT_TRUE(eval("userId eq protocol", anonymous()));  // null eq null
  EXPECT_TRUE(eval("length(userId) eq null", anonymous()));
  EXPECT_FALSE(eval("startswith(userId, 'a') eq null", anonymous()));  // a bool is never null
}

TEST(ODataFilter, OrderingWithNullIsFalse) {
  for (const char* op : {"gt", "ge", "lt", "le"}) {
    const std::string left = std::string("length(userId) ") + op + " 0";
    const std::string right = std::string("0 ") + op + " length(userId)";
    const std::string both = std::string("null ") + op + " null";
    EXPECT_FALSE(eval(left, anonymous())) << left;
    EXPECT_FALSE(eval(right, anonymous())) << right;
    EXPECT_FALSE(eval(both, anonymous())) << both;
    EXPECT_FALSE(eval("not (" + left + ") and false", anonymous()));
    EXPECT_TRUE(eval("not (" + left + ")", anonymous())) << left;
  }
}

TEST(ODataFilter, IntComparisons) {
  const Conn c = user("abcd");
  EXPECT_TRUE(eval("length(userId) gt 3", c));
  EXPECT_FALSE(eval("length(userId) gt 4", c));
  EXPECT_TRUE(eval("length(userId) ge 4", c));
  EXPECT_FALSE(eval("length(userId) ge 5", c));
  EXPECT_TRUE(eval("length(userId) lt 5", c));
  EXPECT_FALSE(eval("length(userId) lt 4", c));
  EXPECT_TRUE(eval("length(userId) le 4", c));
  EXPECT_FALSE(eval("length(userId) le 3", c));
  EXPECT_TRUE(eval("length(userId) eq 4", c));
  EXPECT_TRUE(eval("length(userId) ne 3", c));
  EXPECT_TRUE(eval("indexof(userId, 'c') eq 2", c));
  EXPECT_TRUE(eval("indexof(userId, 'c') gt indexof(userId, 'b')", c));
}

// --- in ------------------------------------------------------------------------------------

TEST(ODataFilter, InLiteralList) {
  EXPECT_TRUE(eval("userId in ('a')", user("a")));
  EXPECT_TRUE(eval("userId in ('a','b','c')", user("c")));
  EXPECT_FALSE(eval("userId in ('a','b','c')", user("d")));
  EXPECT_FALSE(eval("userId in ('a','b')", anonymous()));
  EXPECT_TRUE(eval("userId in ('a', null)", anonymous()));
  EXPECT_TRUE(eval("connectionId in ('x', 'conn1')", anonymous()));
  EXPECT_TRUE(eval("length(userId) in (1, 2, 3)", user("ab")));
  EXPECT_TRUE(eval("userId in (connectionId, 'z')", user("conn1")));
  EXPECT_TRUE(eval("not (userId in ('a'))", user("b")));
  EXPECT_TRUE(eval("userId in ( 'a' , 'b' )", user("b")));
}

TEST(ODataFilter, InGroups) {
  const Conn c = user("u", {"g1", "a-rather-long-group-name-beyond-sso"});
  EXPECT_TRUE(eval("'g1' in groups", c));
  EXPECT_TRUE(eval("'g1' in (groups)", c));
  EXPECT_TRUE(eval("'g1' in ((groups))", c));
  EXPECT_TRUE(eval("'a-rather-long-group-name-beyond-sso' in groups", c));
  EXPECT_FALSE(eval("'g2' in groups", c));
  EXPECT_FALSE(eval("'g1' in groups", user("u")));    // empty set
  EXPECT_FALSE(eval("'g1' in groups", anonymous()));  // no set
  EXPECT_FALSE(eval("null in groups", c));
  EXPECT_FALSE(eval("userId in groups", anonymous()));
  // Non-literal items: a subject string, a computed (owned) string, a view of a std::string_view.
  EXPECT_TRUE(eval("userId in groups", user("g1", {"g1"})));
  EXPECT_TRUE(eval("tolower('G1') in groups", c));
  EXPECT_TRUE(eval("concat('g', '1') in groups", c));
  EXPECT_TRUE(eval("substring('xg1', 1) in groups", c));
  Conn by_conn = user("u", {"conn1"});
  EXPECT_TRUE(eval("connectionId in groups", by_conn));
}

// --- functions -----------------------------------------------------------------------------

TEST(ODataFilter, StartsEndsContains) {
  const Conn c = user("hello");
  EXPECT_TRUE(eval("startswith(userId, 'he')", c));
  EXPECT_TRUE(eval("startswith(userId, '')", c));
  EXPECT_FALSE(eval("startswith(userId, 'lo')", c));
  EXPECT_TRUE(eval("endswith(userId, 'lo')", c));
  EXPECT_FALSE(eval("endswith(userId, 'he')", c));
  EXPECT_TRUE(eval("contains(userId, 'ell')", c));
  EXPECT_FALSE(eval("contains(userId, 'xyz')", c));
  EXPECT_FALSE(eval("startswith(userId, 'HE')", c));  // case-sensitive
  // A null argument makes them false (and so `not` of them true).
  for (const char* f : {"startswith", "endswith", "contains"}) {
    const std::string a = std::string(f) + "(userId, '')";
    const std::string b = std::string(f) + "('abc', userId)";
    const std::string c2 = std::string(f) + "(null, null)";
    EXPECT_FALSE(eval(a, anonymous())) << a;
    EXPECT_FALSE(eval(b, anonymous())) << b;
    EXPECT_FALSE(eval(c2, anonymous())) << c2;
    EXPECT_TRUE(eval("not " + a, anonymous())) << a;
  }
}

TEST(ODataFilter, CaseFunctionsAreAscii) {
  EXPECT_TRUE(eval("tolower(userId) eq 'user1'", user("UsEr1")));
  EXPECT_TRUE(eval("toupper(userId) eq 'USER1'", user("UsEr1")));
  EXPECT_TRUE(eval("tolower(userId) eq null", anonymous()));
  EXPECT_TRUE(eval("toupper(userId) eq null", anonymous()));
  // Only ASCII letters change; other bytes (UTF-8) pass through.
  EXPECT_TRUE(eval("toupper(userId) eq '\xC3\xA9T\xC3\xA9'", user("\xC3\xA9t\xC3\xA9")));
  EXPECT_TRUE(eval("tolower('\xC3\x89') eq '\xC3\x89'", anonymous()));
}

TEST(ODataFilter, Trim) {
  EXPECT_TRUE(eval("trim(userId) eq 'a b'", user(" \t a b \r\n")));
  EXPECT_TRUE(eval("trim(userId) eq ''", user("   ")));
  EXPECT_TRUE(eval("trim(userId) eq 'ab'", user("ab")));
  EXPECT_TRUE(eval("trim(userId) eq null", anonymous()));
  EXPECT_TRUE(eval("trim(toupper(' x ')) eq 'X'", anonymous()));  // trims an owned string
}

TEST(ODataFilter, SubstringIsZeroBasedAndClamps) {
  const Conn c = user("abcdef");
  EXPECT_TRUE(eval("substring(userId, 0) eq 'abcdef'", c));
  EXPECT_TRUE(eval("substring(userId, 2) eq 'cdef'", c));
  EXPECT_TRUE(eval("substring(userId, 1, 3) eq 'bcd'", c));
  EXPECT_TRUE(eval("substring(userId, 0, 0) eq ''", c));
  EXPECT_TRUE(eval("substring(userId, 6) eq ''", c));
  // Out of range never fails: start clamps to [0, length], a negative length counts as 0, the end
  // clamps to the length.
  EXPECT_TRUE(eval("substring(userId, 100) eq ''", c));
  EXPECT_TRUE(eval("substring(userId, -3) eq 'abcdef'", c));
  EXPECT_TRUE(eval("substring(userId, -3, 2) eq 'ab'", c));
  EXPECT_TRUE(eval("substring(userId, 4, 100) eq 'ef'", c));
  EXPECT_TRUE(eval("substring(userId, 2, -1) eq ''", c));
  EXPECT_TRUE(eval("substring(userId, 9223372036854775807, 9223372036854775807) eq ''", c));
  EXPECT_TRUE(eval("substring(userId, 1, 9223372036854775807) eq 'bcdef'", c));
  EXPECT_TRUE(eval("substring(userId, -9223372036854775808, 1) eq 'a'", c));
  // Null in any argument gives null.
  EXPECT_TRUE(eval("substring(userId, 1) eq null", anonymous()));
  EXPECT_TRUE(eval("substring('abc', null) eq null", anonymous()));
  EXPECT_TRUE(eval("substring('abc', 1, null) eq null", anonymous()));
  EXPECT_TRUE(eval("substring('abc', length(userId)) eq null", anonymous()));
  // Arguments may be computed; the source may be an owned string.
  EXPECT_TRUE(eval("substring(userId, indexof(userId, 'd')) eq 'def'", c));
  EXPECT_TRUE(eval("substring(toupper(userId), 1, 2) eq 'BC'", c));
}

TEST(ODataFilter, Concat) {
  EXPECT_TRUE(eval("concat(userId, '-x') eq 'u-x'", user("u")));
  EXPECT_TRUE(eval("concat(concat('a', 'b'), 'c') eq 'abc'", anonymous()));
  EXPECT_TRUE(eval("concat(userId, 'x') eq null", anonymous()));
  EXPECT_TRUE(eval("concat('x', userId) eq null", anonymous()));
}

TEST(ODataFilter, IndexOf) {
  EXPECT_TRUE(eval("indexof(userId, 'b') eq 1", user("abc")));
  EXPECT_TRUE(eval("indexof(userId, 'abc') eq 0", user("abc")));
  EXPECT_TRUE(eval("indexof(userId, '') eq 0", user("abc")));
  EXPECT_TRUE(eval("indexof(userId, 'z') eq -1", user("abc")));
  EXPECT_TRUE(eval("indexof(userId, 'a') eq -1", anonymous()));
  EXPECT_TRUE(eval("indexof('abc', userId) eq -1", anonymous()));
  EXPECT_TRUE(eval("indexof(userId, 'c') ge 0", user("abc")));
}

TEST(ODataFilter, Length) {
  EXPECT_TRUE(eval("length(userId) eq 3", user("abc")));
  EXPECT_TRUE(eval("length('') eq 0", anonymous()));
  EXPECT_TRUE(eval("length(userId) eq null", anonymous()));
  EXPECT_TRUE(eval("length(groups) eq 2", user("u", {"a", "b"})));
  EXPECT_TRUE(eval("length(groups) eq 0", user("u")));
  EXPECT_TRUE(eval("length(groups) eq 0", anonymous()));  // no set: empty
  EXPECT_TRUE(eval("length((groups)) gt 0", user("u", {"a"})));
  EXPECT_TRUE(eval("length(connectionId) eq 5", anonymous()));
}

TEST(ODataFilter, FunctionsWithWhitespaceAndNesting) {
  EXPECT_TRUE(eval("startswith ( userId , 'a' )", user("ab")));
  EXPECT_TRUE(eval("length(concat(tolower(userId), trim('  x  '))) eq 4", user("ABC")));
  EXPECT_TRUE(eval("contains(substring(userId, 1), toupper('b'))", user("aBc")));
}

// --- precedence and structure ----------------------------------------------------------------

TEST(ODataFilter, AndBindsTighterThanOr) {
  // true or (false and false) = true; (true or false) and false would be false.
  EXPECT_TRUE(eval("true or false and false", anonymous()));
  EXPECT_FALSE(eval("(true or false) and false", anonymous()));
  EXPECT_TRUE(eval("false and false or true", anonymous()));
  EXPECT_TRUE(eval("userId eq 'a' or userId eq 'b' and 'g' in groups", user("a")));
  EXPECT_FALSE(eval("(userId eq 'a' or userId eq 'b') and 'g' in groups", user("a")));
}

TEST(ODataFilter, NotBindsTighterThanAnd) {
  EXPECT_FALSE(eval("not true and false", anonymous()));  // (not true) and false
  EXPECT_TRUE(eval("not false and true", anonymous()));
  EXPECT_TRUE(eval("not true or true", anonymous()));  // (not true) or true
  EXPECT_TRUE(eval("not not true", anonymous()));
  EXPECT_TRUE(eval("not (true and false)", anonymous()));
  // `not userId eq 'a'` is `(not userId) eq 'a'`: a type error.
  expect_type_error("not userId eq 'a'", 0, "'not' expects a bool, got string");
}

TEST(ODataFilter, ComparisonsBindTighterThanAndOr) {
  EXPECT_TRUE(eval("userId eq 'a' and connectionId eq 'conn1'", user("a")));
  EXPECT_TRUE(eval("userId eq 'x' or connectionId eq 'conn1'", user("a")));
  // Chained comparisons associate to the left: (1 eq 1) eq true.
  EXPECT_TRUE(eval("1 eq 1 eq true", anonymous()));
  EXPECT_TRUE(eval("1 eq 2 eq false", anonymous()));
  expect_type_error("1 eq 1 eq 1", 7, "cannot compare bool with int");
  expect_type_error("true eq 1 eq 1", 5, "cannot compare bool with int");
}

TEST(ODataFilter, LongFlatChainsAreNotNesting) {
  std::string text = "userId eq 'u0'";
  for (int i = 1; i < 2000; ++i)
    text += " or userId eq 'u" + std::to_string(i) + "'";
  EXPECT_TRUE(eval(text, user("u1999")));
  EXPECT_FALSE(eval(text, user("u2000")));
  std::string list = "userId in ('u0'";
  for (int i = 1; i < 2000; ++i)
    list += ",'u" + std::to_string(i) + "'";
  list += ")";
  EXPECT_TRUE(eval(list, user("u1500")));
}

// --- errors ----------------------------------------------------------------------------------

TEST(ODataFilter, SyntaxErrorsWithPositions) {
  expect_syntax_error("userId eq 'a", 10, "unterminated string literal");
  expect_syntax_error("userId eq 'a''", 10, "unterminated string literal");
  expect_syntax_error("(userId eq 'a'", 14, "expected ')'");
  expect_syntax_error("userId eq 'a')", 13, "unexpected ')'");
  expect_syntax_error("userId eq", 9, "expected a value, got end of filter");
  expect_syntax_error("userId eq eq 'a'", 10, "expected a value, got 'eq'");
  expect_syntax_error("userId eq 'a' 'b'", 14, "unexpected string literal");
  expect_syntax_error("userId eq 'a' and", 17, "expected a value, got end of filter");
  expect_syntax_error("and", 0, "expected a value, got 'and'");
  expect_syntax_error("()", 1, "expected a value, got ')'");
  expect_syntax_error("userId eq \"a\"", 10, "unexpected character '\"'");
  expect_syntax_error("userId eq 'a' && true", 14, "unexpected character '&'");
  expect_syntax_error("userId eq 'a' \x01", 14, "unexpected character '?'");
  expect_syntax_error("foo eq 'a'", 0, "unknown identifier 'foo'");
  expect_syntax_error("foo('a')", 0, "unknown function 'foo'");
  expect_syntax_error("startswith eq 1", 11, "expected '(' after 'startswith'");
  expect_syntax_error("startswith(userId)", 17, "too few arguments for 'startswith'");
  expect_syntax_error("startswith(userId 'a')", 18, "expected ','");
  expect_syntax_error("startswith(userId, 'a', 'b')", 22, "too many arguments for 'startswith'");
  expect_syntax_error("substring('a', 1, 2, 3) eq 'a'", 19, "too many arguments for 'substring'");
  expect_syntax_error("length('a' 'b'", 11, "expected ')'");
  expect_syntax_error("length('a'", 10, "expected ')'");
  expect_syntax_error("userId in ('a', 'b'", 19, "expected ')'");
  expect_syntax_error("userId in ()", 11, "expected a value, got ')'");
  expect_syntax_error("userId in ('a',)", 15, "expected a value, got ')'");
  expect_syntax_error("userId in", 9, "expected a value, got end of filter");
  expect_syntax_error("userId eq 'a' or", 16, "expected a value");
  expect_syntax_error(",", 0, "expected a value, got ','");
}

TEST(ODataFilter, TypeErrorsWithPositions) {
  // The whole filter must be a bool.
  expect_type_error("userId", 0, "the filter must be a bool expression, got string");
  expect_type_error("'a'", 0, "got string");
  expect_type_error("1", 0, "got int");
  expect_type_error("null", 0, "got null");
  expect_type_error("groups", 0, "got collection");
  expect_type_error("length(userId)", 0, "got int");
  expect_type_error("(userId)", 0, "got string");
  // and / or / not operands.
  expect_type_error("userId and true", 7, "'and' expects a bool, got string");
  expect_type_error("true and userId", 5, "'and' expects a bool, got string");
  expect_type_error("true or 1", 5, "'or' expects a bool, got int");
  expect_type_error("length(userId) or true", 15, "'or' expects a bool, got int");
  expect_type_error("not null", 0, "'not' expects a bool, got null");
  expect_type_error("true and not 'x'", 9, "'not' expects a bool, got string");
  // Ordering is between ints only.
  expect_type_error("userId gt 'a'", 7, "'gt' expects int operands, got string");
  expect_type_error("1 lt 'a'", 2, "'lt' expects int operands, got string");
  expect_type_error("true ge false", 5, "'ge' expects int operands, got bool");
  expect_type_error("length(groups) le groups", 15, "'le' expects int operands, got collection");
  // eq / ne need the same type (or null).
  expect_type_error("userId eq 1", 7, "cannot compare string with int using 'eq'");
  expect_type_error("length(userId) ne 'a'", 15, "cannot compare int with string using 'ne'");
  expect_type_error("true eq 'a'", 5, "cannot compare bool with string");
  expect_type_error("groups eq null", 7, "cannot compare collection with null");
  // in.
  expect_type_error("1 in groups", 2, "'in' a collection expects a string, got int");
  expect_type_error("groups in ('a')", 7, "the left side of 'in' must be a value");
  expect_type_error("userId in ('a', 1)", 16, "'in' list item is int, expected string");
  expect_type_error("userId in ('a', groups)", 16, "'in' list item is collection");
  expect_type_error("userId in userId", 10,
                    "'in' expects a parenthesized list or a collection, got string");
  // Function arguments.
  expect_type_error("startswith(userId, 1)", 19,
                    "'startswith' expects a string for argument 2, got int");
  expect_type_error("contains(groups, 'a')", 9, "'contains' expects a string for argument 1");
  expect_type_error("tolower(1) eq 'a'", 8, "'tolower' expects a string for argument 1, got int");
  expect_type_error("substring('a', '1') eq 'a'", 15,
                    "'substring' expects an int for argument 2, got string");
  expect_type_error("substring(1, 1) eq 'a'", 10, "'substring' expects a string for argument 1");
  expect_type_error("length(1) eq 1", 7, "'length' expects a string or a collection");
  expect_type_error("length(true) eq 1", 7, "got bool");
  expect_type_error("indexof(userId, (1)) eq 1", 16, "argument 2, got int");
}

TEST(ODataFilter, ErrorMessagesAreShortAndPrintable) {
  const std::string long_name(500, 'x');
  const ParseResult r = fail(long_name + " eq 'a'");
  EXPECT_EQ(r.position, 0u);
  EXPECT_LT(r.error.size(), 200u);
  const ParseResult bad = fail("userId eq 'a' \xC3\xA9");
  EXPECT_EQ(bad.position, 14u);
  for (char c : bad.error)
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << bad.error;
  const ParseResult nul = fail(std::string_view("userId eq \0", 11));
  EXPECT_EQ(nul.position, 10u);
}

// --- limits ----------------------------------------------------------------------------------

TEST(ODataFilter, NestingDepthLimit) {
  auto nested = [](int depth) {
    return std::string(static_cast<std::size_t>(depth), '(') + "true" +
           std::string(static_cast<std::size_t>(depth), ')');
  };
  EXPECT_TRUE(eval(nested(100), anonymous()));
  expect_syntax_error(nested(101), 100, "nesting depth exceeds 100");
  // Far deeper input fails the same way, without exhausting the stack.
  expect_syntax_error(nested(30000), 100, "nesting depth exceeds 100");

  std::string nots;
  for (int i = 0; i < 100; ++i)
    nots += "not ";
  EXPECT_TRUE(eval(nots + "true", anonymous()));
  expect_syntax_error(nots + "not true", 400, "nesting depth exceeds 100");
  std::string many_nots;
  for (int i = 0; i < 10000; ++i)
    many_nots += "not ";
  expect_syntax_error(many_nots + "true", 400, "nesting depth exceeds 100");

  std::string calls;
  for (int i = 0; i < 99; ++i)
    calls += "trim(";
  calls += "userId";
  calls += std::string(99, ')');
  EXPECT_TRUE(eval(calls + " eq 'a'", user(" a ")));
  expect_syntax_error("trim(trim(" + calls + ")) eq 'a'", 100 * 5 + 4, "nesting depth exceeds 100");

  std::string chain = "true";
  for (int i = 0; i < 99; ++i)
    chain += " eq true";
  EXPECT_TRUE(eval(chain, anonymous()));
  std::string long_chain = "true";
  for (int i = 0; i < 5000; ++i)
    long_chain += " eq true";
  const ParseResult r = fail(long_chain);
  EXPECT_NE(r.error.find("nesting depth exceeds 100"), std::string::npos) << r.error;
}

TEST(ODataFilter, SizeLimit) {
  // Exactly 64 KiB is accepted (padding with whitespace), one byte more is not.
  std::string text = "userId eq 'a'";
  text.resize(64 * 1024, ' ');
  EXPECT_TRUE(eval(text, user("a")));
  text.push_back(' ');
  expect_syntax_error(text, 64 * 1024, "filter exceeds 65536 bytes");
}

TEST(ODataFilter, FilterIsSharedAndReusable) {
  const ParseResult r = parse("userId eq 'a' or 'g' in groups");
  ASSERT_TRUE(r);
  const Conn a = user("a");
  const Conn b = user("b", {"g"});
  const Conn c = anonymous();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(r.filter->matches(a.subject()));
    EXPECT_TRUE(r.filter->matches(b.subject()));
    EXPECT_FALSE(r.filter->matches(c.subject()));
  }
  EXPECT_TRUE(r.error.empty());
}

}  // namespace
