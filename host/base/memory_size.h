// Memory sizes as settings write them (WorkerMemoryLimit, CmdMemoryMax): in
// base because the supervisor, which links only base, reads them too.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/result/result.h"

namespace vigil {

// "536870912", "512MiB", "512 M", "1g", ...: bytes with an optional unit
// (K, M, G with or without "iB"/"B", all powers of 1024). "0" means no bound.
Result<int64_t> parse_memory_size(std::string_view text);
// "512 MiB" for whole MiB, else "N KiB" or "N bytes".
std::string memory_size_text(int64_t bytes);

}  // namespace vigil
