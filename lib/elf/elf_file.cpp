#include "vigil/elf/elf_file.h"

#include <cxxabi.h>
#include <elf.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace vigil::elf {
namespace {

struct KnownMachine {
  const char* arch;
  uint16_t machine;
};

// uname -m names; Debian's release architectures and their usual aliases.
constexpr KnownMachine kMachines[] =
    {
        {"x86_64", EM_X86_64}, {"aarch64", EM_AARCH64}, {"arm64", EM_AARCH64}, {"ppc64le", EM_PPC64},
        {"ppc64", EM_PPC64},   {"s390x", EM_S390},      {"riscv64", EM_RISCV}, {"mips64", EM_MIPS},
        {"loongarch64", 258},  // EM_LOONGARCH, newer than Debian 12's elf.h
};

std::string demangled(const std::string& name) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> plain(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status),
                                                    std::free);
  return status == 0 && plain ? std::string(plain.get()) : name;
}

}  // namespace

bool ElfFile::fits(uint64_t offset, uint64_t count, size_t size) const {
  return offset <= bytes_.size() && count <= (bytes_.size() - offset) / size;
}

// A copy, not a pointer into the bytes: offsets come from the file and need not be aligned.
template <class T>
T ElfFile::copy_at(uint64_t offset) const {
  T value;
  std::memcpy(&value, bytes_.data() + offset, sizeof(T));
  return value;
}

Result<ElfFile> ElfFile::read(std::string_view bytes) {
  ElfFile file;
  file.bytes_ = bytes;
  if (bytes.size() < SELFMAG || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) {
    return Error{"not an ELF file", ErrorCode::kInvalidArgument};
  }
  if (!file.fits(0, 1, sizeof(Elf64_Ehdr))) return Error{"its ELF header is cut short", ErrorCode::kInvalidArgument};
  auto header = file.copy_at<Elf64_Ehdr>(0);
  if (header.e_ident[EI_CLASS] != ELFCLASS64) return Error{"not a 64-bit ELF file", ErrorCode::kInvalidArgument};
  if (header.e_ident[EI_DATA] != ELFDATA2LSB) {
    return Error{"a big-endian ELF file (only little-endian machines are read)", ErrorCode::kInvalidArgument};
  }
  if (header.e_shnum != 0 &&
      (header.e_shentsize != sizeof(Elf64_Shdr) || !file.fits(header.e_shoff, header.e_shnum, sizeof(Elf64_Shdr)))) {
    return Error{"its section table lies outside the file", ErrorCode::kInvalidArgument};
  }
  file.type_ = header.e_type;
  file.machine_ = header.e_machine;
  file.section_offset_ = header.e_shoff;
  file.section_count_ = header.e_shnum;
  return file;
}

std::vector<DynamicSymbol> ElfFile::dynamic_symbols() const {
  std::vector<DynamicSymbol> found;
  auto section_at = [&](uint64_t i) { return copy_at<Elf64_Shdr>(section_offset_ + i * sizeof(Elf64_Shdr)); };
  for (uint16_t i = 0; i < section_count_; ++i) {
    Elf64_Shdr section = section_at(i);
    if (section.sh_type != SHT_DYNSYM || section.sh_link >= section_count_) continue;
    Elf64_Shdr names = section_at(section.sh_link);
    uint64_t count = section.sh_size / sizeof(Elf64_Sym);
    if (!fits(section.sh_offset, count, sizeof(Elf64_Sym)) || !fits(names.sh_offset, names.sh_size, 1) ||
        names.sh_size == 0) {
      continue;
    }
    const char* strings = bytes_.data() + names.sh_offset;
    for (uint64_t s = 0; s < count; ++s) {
      auto symbol = copy_at<Elf64_Sym>(section.sh_offset + s * sizeof(Elf64_Sym));
      if (symbol.st_name >= names.sh_size) continue;
      const char* start = strings + symbol.st_name;
      const void* end = std::memchr(start, 0, names.sh_size - symbol.st_name);
      if (end == nullptr) continue;
      DynamicSymbol found_symbol;
      found_symbol.name = std::string_view(start, static_cast<const char*>(end) - start);
      found_symbol.binding = static_cast<unsigned char>(ELF64_ST_BIND(symbol.st_info));
      found_symbol.type = static_cast<unsigned char>(ELF64_ST_TYPE(symbol.st_info));
      found_symbol.visibility = static_cast<unsigned char>(ELF64_ST_VISIBILITY(symbol.st_other));
      found_symbol.defined = symbol.st_shndx != SHN_UNDEF;
      found.push_back(found_symbol);
    }
  }
  return found;
}

uint64_t ElfFile::dynamic_flags_1() const {
  uint64_t flags = 0;
  for (uint16_t i = 0; i < section_count_; ++i) {
    auto section = copy_at<Elf64_Shdr>(section_offset_ + i * sizeof(Elf64_Shdr));
    if (section.sh_type != SHT_DYNAMIC) continue;
    uint64_t count = section.sh_size / sizeof(Elf64_Dyn);
    if (!fits(section.sh_offset, count, sizeof(Elf64_Dyn))) continue;
    for (uint64_t e = 0; e < count; ++e) {
      auto entry = copy_at<Elf64_Dyn>(section.sh_offset + e * sizeof(Elf64_Dyn));
      if (entry.d_tag == DT_FLAGS_1) flags |= entry.d_un.d_val;
    }
  }
  return flags;
}

std::string unload_blocker(const ElfFile& file) {
  size_t unique = 0;
  std::string first;
  for (const DynamicSymbol& symbol : file.dynamic_symbols()) {
    // Only a definition pins the library; a reference pins the definer.
    if (symbol.binding != STB_GNU_UNIQUE || !symbol.defined) continue;
    if (unique++ == 0) first = demangled(std::string(symbol.name));
  }
  if (unique > 0) {
    return "it defines " + std::to_string(unique) + " GNU unique symbol(s) (first: " + first +
           "), which glibc never unloads; build it with vigil_add_plugin (-fno-gnu-unique and only the entry symbol "
           "exported)";
  }
  if ((file.dynamic_flags_1() & DF_1_NODELETE) != 0) return "it is linked with -z nodelete";
  return "";
}

std::optional<uint16_t> machine_of_arch(std::string_view arch) {
  for (const auto& known : kMachines) {
    if (arch == known.arch) return known.machine;
  }
  return std::nullopt;
}

std::string machine_name(uint16_t machine) {
  for (const auto& known : kMachines) {
    if (known.machine == machine) return known.arch;
  }
  return "machine " + std::to_string(machine);
}

}  // namespace vigil::elf
