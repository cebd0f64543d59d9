/* Purpose-built broken plugins: one source, one defect per BROKEN_* macro.
 *   BROKEN_NO_ENTRY      exports no entry symbol (just some other function)
 *   BROKEN_MAJOR         claims ABI major 2
 *   BROKEN_SHORT_STRUCT  descriptor struct_size too small
 *   BROKEN_INIT_FAILS    on_init returns an error
 *   BROKEN_NEGOTIATE     refuses to negotiate (it speaks ABI 2.0)
 *   BROKEN_BAD_NAME      module name with capitals and spaces */
#include <vigil/plugin.h>

#include "c_str.h"

#ifdef BROKEN_NO_ENTRY
VIGIL_EXPORT int not_a_vigil_entry(void) {
  return 42;
}
#else
static vigil_status on_manifest(void* user, vigil_scan* scan, vigil_str type, vigil_str manifest) {
  (void)user;
  (void)scan;
  (void)type;
  (void)manifest;
  return VIGIL_OK;
}

static vigil_status on_init(vigil_plugin_host* host, const vigil_host_api* api) {
  vigil_status status = api->register_manifest_handler(host, str("broken"), on_manifest, NULL);
#ifdef BROKEN_INIT_FAILS
  api->log(host, VIGIL_LOG_ERROR, str("refusing to start: required resource missing"));
  status = VIGIL_E_INTERNAL;
#endif
  return status;
}

static void on_shutdown(void) {}

VIGIL_EXPORT vigil_status vigil_plugin_negotiate(vigil_negotiation* negotiation) {
  static vigil_plugin descriptor;
#ifdef BROKEN_NEGOTIATE
  /* As a plugin of another major would: it says which ABI it speaks. */
  negotiation->abi_version = VIGIL_MAKE_ABI_VERSION(2, 0);
  return VIGIL_E_ABI_MISMATCH;
#endif
  descriptor.struct_size = sizeof(descriptor);
  descriptor.abi_version = VIGIL_ABI_VERSION;
  descriptor.module = str("broken");
  descriptor.display_name = str("Broken");
  descriptor.version = str("0.0.0");
  descriptor.kind = VIGIL_MODULE_SCAN;
  descriptor.on_init = on_init;
  descriptor.on_shutdown = on_shutdown;
  negotiation->abi_version = VIGIL_ABI_VERSION;
#ifdef BROKEN_MAJOR
  descriptor.abi_version = VIGIL_MAKE_ABI_VERSION(2, 0);
  negotiation->abi_version = VIGIL_MAKE_ABI_VERSION(2, 0);
#endif
#ifdef BROKEN_SHORT_STRUCT
  descriptor.struct_size = 16;
#endif
#ifdef BROKEN_BAD_NAME
  descriptor.module = str("Bad Name");
#endif
  negotiation->plugin = &descriptor;
  return VIGIL_OK;
}
#endif
