/* ABI probe: a tiny library whose one exported function mentions every type
 * of plugin.h, so `abidw` records their complete layout for the ABI check. */
#include <vigil/plugin.h>

VIGIL_EXPORT vigil_status vigil_abi_probe(vigil_negotiation* negotiation, vigil_plugin* plugin, vigil_host_api* api,
                                          vigil_column* column, vigil_str text, vigil_on_value on_value,
                                          vigil_on_manifest on_manifest, vigil_negotiate_fn negotiate,
                                          vigil_plugin_host* host, vigil_scan* scan);

vigil_status vigil_abi_probe(vigil_negotiation* negotiation, vigil_plugin* plugin, vigil_host_api* api,
                             vigil_column* column, vigil_str text, vigil_on_value on_value,
                             vigil_on_manifest on_manifest, vigil_negotiate_fn negotiate, vigil_plugin_host* host,
                             vigil_scan* scan) {
  (void)negotiation;
  (void)plugin;
  (void)api;
  (void)column;
  (void)text;
  (void)on_value;
  (void)on_manifest;
  (void)negotiate;
  (void)host;
  (void)scan;
  return VIGIL_OK;
}
