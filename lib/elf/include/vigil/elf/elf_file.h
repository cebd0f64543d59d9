// A bounds-checked reading of a 64-bit ELF shared library's bytes: its type,
// machine, dynamic symbols and dynamic flags. The host reads a plugin with it
// (what would keep glibc from unloading it); the platform reads a plugin file
// before it publishes it (is it a plugin, for the machines it is published for).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/result/result.h"

namespace vigil::elf {

struct DynamicSymbol {
  std::string_view name;  // points into the bytes read
  unsigned char binding = 0;
  unsigned char type = 0;
  unsigned char visibility = 0;
  bool defined = false;  // defined here, not a reference to another library
};

class ElfFile {
 public:
  // The bytes must outlive the ElfFile. Errors name what is wrong: not ELF,
  // not 64-bit, another byte order, a header or section table outside the bytes.
  static Result<ElfFile> read(std::string_view bytes);

  uint16_t type() const { return type_; }        // ET_DYN, ET_EXEC, ...
  uint16_t machine() const { return machine_; }  // EM_X86_64, ...
  // Symbols of the dynamic symbol table whose names lie inside the file.
  std::vector<DynamicSymbol> dynamic_symbols() const;
  // The DT_FLAGS_1 bits of the dynamic section (0 when absent).
  uint64_t dynamic_flags_1() const;

 private:
  // Are `count` objects of `size` bytes at `offset` all inside the bytes?
  bool fits(uint64_t offset, uint64_t count, size_t size) const;
  template <class T>
  T copy_at(uint64_t offset) const;  // after fits()

  std::string_view bytes_;
  uint16_t type_ = 0, machine_ = 0;
  uint64_t section_offset_ = 0;
  uint16_t section_count_ = 0;
};

// Why glibc would keep this library mapped after its last dlclose ("" when
// nothing is known to): GNU unique symbols it defines, or -z nodelete. A
// plugin that cannot be unloaded would keep its old code through an upgrade.
std::string unload_blocker(const ElfFile& file);

// The e_machine of the architecture `uname -m` names ("x86_64", "aarch64",
// ...), or nothing for one this code does not know.
std::optional<uint16_t> machine_of_arch(std::string_view arch);
// e_machine in words, for messages ("x86_64", or "machine 183" when unknown).
std::string machine_name(uint16_t machine);

}  // namespace vigil::elf
