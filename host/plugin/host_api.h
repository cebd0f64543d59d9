// The host service table handed to every plugin (vigil_host_api).
#pragma once

#include <vigil/plugin.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil {

// The one table; static storage, valid for the life of the process.
const vigil_host_api* host_api();

// True for names made of [A-Za-z0-9_] (table and column names), or also '-'
// when `allow_dash` (module names, key names, manifest types).
bool is_valid_name(std::string_view name, bool allow_dash, size_t max_length);

// A status code as words ("internal error"), for messages that people read.
std::string status_name(vigil_status status);

}  // namespace vigil
