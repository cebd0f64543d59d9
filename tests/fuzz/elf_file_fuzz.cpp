// Fuzzes the ELF reader the platform runs on every plugin file it is asked to
// publish: any bytes are a readable ELF file or an error saying why, and
// walking the symbols and dynamic flags of whatever reads stays in bounds.
#include <cstdint>
#include <string_view>

#include "vigil/elf/elf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto file = vigil::elf::ElfFile::read(bytes);
  if (!file.ok()) {
    if (file.error().empty()) __builtin_trap();
    return 0;
  }
  for (const auto& symbol : file.value().dynamic_symbols()) {
    if (symbol.name.data() < bytes.data() || symbol.name.data() + symbol.name.size() > bytes.data() + size) {
      __builtin_trap();
    }
  }
  (void)vigil::elf::unload_blocker(file.value());
  return 0;
}
