#pragma once
// The pages of the operations listener: plain HTML, CSS and JavaScript, no build step, nothing
// fetched from elsewhere. The token of the page's URL (?access_token=) is passed on to what the
// page loads.

#include <string>

namespace wps::ops {

const std::string& overview_page();  // "/": hubs, counts and message rates, live
const std::string& trace_page();     // "/trace": the live feed with filters

}  // namespace wps::ops
