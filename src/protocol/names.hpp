#pragma once
// Validation of the names that cross the wire (spec §1, §10.1). Pure functions.

#include <string_view>

namespace wps::protocol {

// Hub: ^[A-Za-z][A-Za-z0-9_`,.[\]]{0,127}$
bool is_valid_hub_name(std::string_view hub) noexcept;
// Group: 1..1024 characters (UTF-8 code points), not whitespace only.
bool is_valid_group_name(std::string_view group) noexcept;
// Client event name: ^[a-z][a-z0-9_.-]{0,127}$, case-insensitive.
bool is_valid_event_name(std::string_view event) noexcept;

}  // namespace wps::protocol
