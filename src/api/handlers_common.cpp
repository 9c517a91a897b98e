#include "api/api_error.hpp"
#include "api/handlers.hpp"
#include "protocol/names.hpp"
#include "util/text.hpp"

namespace wps::api {

namespace http = boost::beast::http;

std::string Call::public_origin() const {
  if (!config.public_origin.empty()) {
    std::string origin = config.public_origin;
    while (!origin.empty() && origin.back() == '/')
      origin.pop_back();
    return origin;
  }
  const std::string_view host = request[http::field::host];
  return "http://" + std::string(host.empty() ? std::string_view("localhost") : host);
}

const std::string& group_param(const Call& call) {
  if (!protocol::is_valid_group_name(call.params.group))
    bad_request("Invalid group name: it must be 1 to 1024 characters and not only whitespace.");
  return call.params.group;
}

std::shared_ptr<core::Hub> existing_hub(const Call& call) {
  return call.node.find_hub(call.hub);
}

core::Command command_for(const Call& call, core::CommandOp op) {
  core::Command command;
  command.op = op;
  command.hub = call.hub;
  return command;
}

core::CommandResult run(const Call& call, const core::Command& command) {
  return call.node.execute(command);
}

std::shared_ptr<const protocol::odata::Filter> parse_filter(std::string_view text) {
  if (util::trim_ows(text).empty())
    return nullptr;
  protocol::odata::ParseResult parsed = protocol::odata::parse(text);
  if (!parsed) {
    // The parser's message names the position ("Invalid syntax at position 12: ...").
    fail(400, "InvalidFilter",
         parsed.error.empty()
             ? "Invalid filter at position " + std::to_string(parsed.position) + "."
             : "Invalid filter: " + parsed.error);
  }
  return parsed.filter;
}

std::shared_ptr<const protocol::odata::Filter> filter_param(const Call& call) {
  const auto text = call.query.single("filter");
  return text ? parse_filter(*text) : nullptr;
}

std::vector<core::ConnId> excluded_param(const Call& call) {
  return call.query.all_non_empty("excluded");
}

std::string reason_param(const Call& call) {
  auto reason = call.query.single("reason");
  if (!reason || reason->empty())
    return "Closed by REST API.";
  // The reason travels in a JSON system message and a close frame: keep it UTF-8.
  return util::to_valid_utf8(*reason);
}

}  // namespace wps::api
