// What vigilctl status says while the supervisor restarts a dead worker: the
// worker owns the control socket, so for that while nothing answers there.
// The supervisor leaves this note in the run directory instead. A file, not
// the supervisor answering on the socket itself: the supervisor stays a loop
// without a server of its own, the socket stays the worker's alone, and
// vigilctl, which reads the state store when the daemon is down anyway, only
// reads one more file. The note is believed only while a vigild holds the
// instance lock, so one left by a killed supervisor says nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "base/paths.h"

namespace vigil {

struct RestartNote {
  std::string reason;         // "worker killed by signal 9"
  int64_t died_at = 0;        // Unix seconds
  int64_t next_start_ms = 0;  // Unix milliseconds: when the supervisor starts the next worker
};

// <run>/restarting: written (whole, by rename) when a worker died, removed
// once the next one is ready or the supervisor stops.
std::filesystem::path restart_note_path(const Paths& paths);
void write_restart_note(const Paths& paths, const RestartNote& note);
void remove_restart_note(const Paths& paths);
// The note, or nullopt when there is none (or it is not one).
std::optional<RestartNote> read_restart_note(const Paths& paths);

}  // namespace vigil
