// Fuzzes what vigilctl config takes from operators and what it reads back
// from the store: Key=Value words validated against the settings registry and
// a module's declarations, and declarations decoded from stored text. Nothing
// may crash, and a value validate() accepts must read back through the
// registry's typed reads.
#include <cstdint>
#include <string>
#include <string_view>

#include "settings/catalog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::settings;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const Catalog catalog(
      Declarations{{"fim", decode("fim", R"([{"name":"HashThreads","kind":"integer","min":1,"max":64,"default":"1"},
                                {"name":"Fanotify","kind":"boolean","default":"true"},
                                {"name":"Mode","kind":"choice","choices":["a","b"],"default":"a"}])")
                               .value()}});
  // The first line is a Key=Value word; the rest, stored declarations.
  std::string_view word = text.substr(0, text.find('\n'));
  if (auto pair = parse_assignment(word); pair.ok()) {
    auto key = catalog.validate(pair.value().first, pair.value().second);
    if (key.ok()) {
      auto resolved = catalog.resolve(key.value());
      if (!resolved.ok() || resolved.value().key != key.value()) __builtin_trap();
      const Setting* setting = resolved.value().setting;
      if (setting != nullptr && (setting->kind == Kind::kInteger || setting->kind == Kind::kSize) &&
          !integer_value(*setting, pair.value().second).ok())
        __builtin_trap();
      if (setting != nullptr && setting->kind == Kind::kBoolean && !boolean_value(pair.value().second).ok())
        __builtin_trap();
    }
  }
  if (size_t newline = text.find('\n'); newline != std::string_view::npos) {
    auto declared = decode("mod", text.substr(newline + 1));
    if (declared.ok()) {
      auto again = decode("mod", encode(declared.value()));
      if (!again.ok() || again.value().size() != declared.value().size()) __builtin_trap();
    }
  }
  return 0;
}
