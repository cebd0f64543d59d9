/* A plain C plugin of ABI 1.4: on_create gives the host an instance, which
 * comes back to on_destroy and, as the registration's user pointer, to the
 * handler. It also sets the 1.0 entry points, as a plugin that must run on
 * agents older than 1.4 does. The plugin state says which path ran: "start"
 * is on_create or on_init, "stop" is on_destroy or on_shutdown, "handler" is
 * the row its handler emits. Built with INSTANCE_SPEAKS_1_3 it answers ABI 1.3
 * to the host's 1.4, and the host must then use the 1.0 entry points. */
#include <vigil/plugin.h>

#include <stdlib.h>

#include "c_str.h"

#define INSTANCE_MAGIC 0x1a5ce14u

typedef struct instance {
  uint32_t magic;
  vigil_plugin_host* host;
  const vigil_host_api* api;
} instance;

static const char* check(const instance* self) {
  return self != NULL && self->magic == INSTANCE_MAGIC ? "instance" : "wrong instance";
}

static vigil_status on_manifest(void* user, vigil_scan* scan, vigil_str type, vigil_str manifest) {
  instance* self = (instance*)user;
  vigil_column key;
  vigil_column value;
  (void)type;
  (void)manifest;
  key.name = str("id");
  key.value = str("handler");
  value.name = str("user");
  value.value = str(check(self));
  return self->api->emit_row(scan, str("instance"), &key, 1, &value, 1);
}

static instance* start(vigil_plugin_host* host, const vigil_host_api* api, const char* how) {
  instance* self = (instance*)malloc(sizeof(instance));
  if (self == NULL) return NULL;
  self->magic = INSTANCE_MAGIC;
  self->host = host;
  self->api = api;
  if (api->state_set(host, str("start"), str(how)) != VIGIL_OK ||
      api->register_manifest_handler(host, str("instplug"), on_manifest, self) != VIGIL_OK) {
    free(self);
    return NULL;
  }
  return self;
}

static void stop(instance* self, const char* how) {
  self->api->state_set(self->host, str("stop"), str(how));
  free(self);
}

static vigil_status on_create(vigil_plugin_host* host, const vigil_host_api* api, void** out) {
  instance* self = start(host, api, "on_create");
  if (self == NULL) return VIGIL_E_INTERNAL;
  *out = self;
  return VIGIL_OK;
}

/* It reaches the host only through the instance: state "stop" proves it came back. */
static void on_destroy(void* self) {
  stop((instance*)self, "on_destroy");
}

/* Agents older than 1.4 load one copy at a time and say nothing of instances. */
static instance* legacy;

static vigil_status on_init(vigil_plugin_host* host, const vigil_host_api* api) {
  legacy = start(host, api, "on_init");
  return legacy != NULL ? VIGIL_OK : VIGIL_E_INTERNAL;
}

static void on_shutdown(void) {
  stop(legacy, "on_shutdown");
  legacy = NULL;
}

VIGIL_EXPORT vigil_status vigil_plugin_negotiate(vigil_negotiation* negotiation) {
  static vigil_plugin descriptor;
#ifdef INSTANCE_SPEAKS_1_3
  uint32_t speaks = VIGIL_MAKE_ABI_VERSION(1, 3);
#else
  uint32_t speaks = VIGIL_ABI_VERSION;
#endif
  if (VIGIL_ABI_MAJOR(negotiation->abi_version) != VIGIL_ABI_VERSION_MAJOR) return VIGIL_E_ABI_MISMATCH;
  if (VIGIL_ABI_MINOR(negotiation->abi_version) < VIGIL_ABI_MINOR(speaks)) speaks = negotiation->abi_version;
  descriptor.struct_size = sizeof(descriptor);
  descriptor.abi_version = VIGIL_ABI_VERSION;
  descriptor.module = str("instplug");
  descriptor.display_name = str("Instance Plugin");
  descriptor.version = str("0.0.1");
  descriptor.kind = VIGIL_MODULE_SCAN;
  descriptor.on_init = on_init;
  descriptor.on_shutdown = on_shutdown;
  descriptor.on_create = on_create;
  descriptor.on_destroy = on_destroy;
  negotiation->abi_version = speaks;
  negotiation->plugin = &descriptor;
  return VIGIL_OK;
}
