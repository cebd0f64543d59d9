// The host service table handed to every plugin (vigil_host_api).
#pragma once

#include <vigil/plugin.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "vigil/result/result.h"

namespace vigil {

// The one table; static storage, valid for the life of the process.
const vigil_host_api* host_api();

// True for names made of [A-Za-z0-9_] (table and column names), or also '-'
// when `allow_dash` (module names, key names, manifest types).
bool is_valid_name(std::string_view name, bool allow_dash, size_t max_length);

// The plugin edge: the SDK's vigil_status on one side, the host's ErrorCode
// on the other. Codes without a counterpart become VIGIL_E_INTERNAL / kFailed.
ErrorCode error_code_of(vigil_status status);
vigil_status plugin_status_of(ErrorCode code);

// A status code as words ("internal error"), for messages that people read.
std::string status_name(vigil_status status);

// Why the last host service that failed on this thread failed ("state store:
// disk full: …"), and forgets it; "" when none did. A plugin learns only a
// status code (VIGIL_E_IO), so its scan's error says "host refused state_set":
// the scan's runner adds this cause. Per thread, as a scan's handler calls the
// services on its own thread: another thread's failure is not this scan's.
std::string take_service_failure();

}  // namespace vigil
