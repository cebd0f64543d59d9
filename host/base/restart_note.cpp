// The supervisor's restart note: three lines, reason, death and next start.
#include "base/restart_note.h"

#include <fstream>

namespace vigil {

std::filesystem::path restart_note_path(const Paths& paths) {
  return paths.run_dir / "restarting";
}

void write_restart_note(const Paths& paths, const RestartNote& note) {
  // Best effort: without the note vigilctl says "not running", as it did before.
  std::filesystem::path path = restart_note_path(paths), partial = path.string() + ".new";
  std::ofstream(partial) << note.reason << "\n" << note.died_at << "\n" << note.next_start_ms << "\n";
  std::error_code ignored;
  std::filesystem::rename(partial, path, ignored);  // a reader sees the old note or the new one, never half
}

void remove_restart_note(const Paths& paths) {
  std::error_code ignored;
  std::filesystem::remove(restart_note_path(paths), ignored);
}

std::optional<RestartNote> read_restart_note(const Paths& paths) {
  std::ifstream file(restart_note_path(paths));
  RestartNote note;
  if (!std::getline(file, note.reason) || !(file >> note.died_at >> note.next_start_ms)) return std::nullopt;
  return note;
}

}  // namespace vigil
