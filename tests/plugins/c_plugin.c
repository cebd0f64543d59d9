/* A plugin written in plain C99 against plugin.h alone: proves the ABI needs no
 * C++ and exercises the raw table. Real-time kind, one manifest type "cplug".
 * It speaks ABI 1.0 exactly, standing in for a plugin built before 1.1: newer
 * hosts must keep loading it. Its descriptor has the size of a 1.0 one; what
 * lies beyond (the 1.4 entry points here) is not the plugin's to give, so a
 * host that read past struct_size would run a tripwire. */
#include <vigil/plugin.h>

#include <stdlib.h>

#include "c_str.h"

static const vigil_host_api* api;

static vigil_status on_manifest(void* user, vigil_scan* scan, vigil_str type, vigil_str manifest) {
  vigil_column key;
  vigil_column value;
  (void)user;
  (void)type;
  key.name = str("id");
  key.value = str("manifest");
  value.name = str("length");
  value.value = manifest;
  return api->emit_row(scan, str("echo"), &key, 1, &value, 1);
}

static vigil_status on_init(vigil_plugin_host* host, const vigil_host_api* host_api) {
  api = host_api;
  api->log(host, VIGIL_LOG_INFO, str("C plugin initialised"));
  return api->register_manifest_handler(host, str("cplug"), on_manifest, NULL);
}

static void on_shutdown(void) {
  api = NULL;
}

static vigil_status tripwire(vigil_plugin_host* host, const vigil_host_api* host_api, void** instance) {
  (void)host;
  (void)host_api;
  (void)instance;
  abort();
}

VIGIL_EXPORT vigil_status vigil_plugin_negotiate(vigil_negotiation* negotiation) {
  static vigil_plugin descriptor;
  if (VIGIL_ABI_MAJOR(negotiation->abi_version) != VIGIL_ABI_VERSION_MAJOR) return VIGIL_E_ABI_MISMATCH;
  descriptor.struct_size = offsetof(vigil_plugin, on_shutdown) + sizeof(descriptor.on_shutdown);
  descriptor.abi_version = VIGIL_MAKE_ABI_VERSION(1, 0);
  descriptor.module = str("cplug");
  descriptor.display_name = str("C Plugin");
  descriptor.version = str("0.0.1");
  descriptor.kind = VIGIL_MODULE_REALTIME;
  descriptor.on_init = on_init;
  descriptor.on_shutdown = on_shutdown;
  descriptor.on_create = tripwire;
  negotiation->abi_version = VIGIL_MAKE_ABI_VERSION(1, 0);
  negotiation->plugin = &descriptor;
  return VIGIL_OK;
}
