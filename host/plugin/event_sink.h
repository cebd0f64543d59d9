// Where the host API hands real-time events (emit_event); the agent's
// EventBatcher takes them into the outbox.
#pragma once

#include <string>

namespace vigil {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Takes one event (an encoded agent::v1::Event) of `module`. Any thread.
  virtual void add(const std::string& module, std::string event) = 0;
};

}  // namespace vigil
