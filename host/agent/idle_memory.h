// What a worker can give back once it has started: start-up runs much code
// and reads relocation and symbol tables that an idle agent never touches
// again, and leaves freed heap behind. Left alone, those pages stay resident
// until the machine runs short of memory.
#pragma once

#include <cstdint>

namespace vigil {

struct ReleasedMemory {
  int64_t resident_before = 0;  // bytes (VmRSS)
  int64_t resident_after = 0;
};

// Returns freed heap to the kernel and asks it to reclaim the pages of this
// process's read-only file mappings (executable, libraries, plugins) that no
// other process maps (MADV_PAGEOUT, Linux 5.4+; a no-op before). Nothing is
// lost: a page used again is read back in from its file.
ReleasedMemory release_start_up_memory();

}  // namespace vigil
