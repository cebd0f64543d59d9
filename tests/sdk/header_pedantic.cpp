// Compiled with -pedantic: the SDK headers must be clean C++ as well as C99.
#include <vigil/plugin.h>
#include <vigil/plugin.hpp>

static_assert(offsetof(vigil_plugin, struct_size) == 0, "struct_size comes first");
static_assert(offsetof(vigil_plugin, abi_version) == 4, "abi_version comes second");
static_assert(offsetof(vigil_host_api, struct_size) == 0, "struct_size comes first");
static_assert(offsetof(vigil_negotiation, abi_version) == 4, "abi_version comes second");
