// Tells systemd how vigild is doing (sd_notify: READY=1, STOPPING=1, STATUS=…)
// when vigild.service runs it as Type=notify; without NOTIFY_SOCKET it does
// nothing, so a vigild started by hand or by a test behaves the same.
#pragma once

#include <string>

namespace vigil {

void tell_service_manager(const std::string& state);

}  // namespace vigil
