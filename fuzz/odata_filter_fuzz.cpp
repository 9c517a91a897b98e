// libFuzzer target for the OData `filter` parser and evaluator (spec §5).
// The input is parsed as a filter. A parse must be deterministic and its error short and
// positioned inside the input; a filter that parses is evaluated against fixed connections
// (anonymous or not, with and without a protocol and groups), each twice, with equal results.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/odata_filter.hpp"
#include "util/string_set.hpp"

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

struct Subjects {
  std::string user = "user1";
  std::string long_user = "a-user-id-long-enough-to-leave-the-small-string-buffer";
  std::string protocol = "json.webpubsub.azure.v1";
  wps::util::StringSet groups = {"group1", "group2", "user1", ""};
  wps::util::StringSet no_groups;
  wps::protocol::odata::FilterSubject all[5];

  Subjects() {
    all[0].connection_id = "conn1";  // anonymous simple client, no groups
    all[1].connection_id = "conn2";
    all[1].user_id = &user;
    all[1].protocol = &protocol;
    all[1].groups = &groups;
    all[2].connection_id = "";
    all[2].user_id = &long_user;
    all[2].groups = &no_groups;
    all[3].connection_id = "group1";
    all[3].protocol = &protocol;
    all[3].groups = &groups;
    all[4].connection_id = "Conn'5 \xC3\xA9";
    all[4].user_id = &protocol;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wps::protocol::odata;
  static const Subjects subjects;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const ParseResult first = parse(input);
  const ParseResult second = parse(input);
  check(static_cast<bool>(first) == static_cast<bool>(second));
  if (!first) {
    check(first.error == second.error && first.position == second.position);
    check(!first.error.empty() && first.error.size() < 200);
    check(first.position <= input.size());
    for (const char c : first.error)
      check(c >= 0x20 && c < 0x7f);
    return 0;
  }
  check(first.error.empty());
  check(first.filter->text() == input);
  for (const FilterSubject& subject : subjects.all) {
    const bool a = first.filter->matches(subject);
    check(a == first.filter->matches(subject));
    check(a == second.filter->matches(subject));
  }
  return 0;
}
