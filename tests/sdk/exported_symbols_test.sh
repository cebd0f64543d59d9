#!/usr/bin/env bash
# docs/abi-policy.md: a plugin exports exactly one dynamic symbol, its entry
# point, and in particular no GNU unique symbol (glibc never unloads a library
# defining one, so a reload would keep running the old code).
#   exported_symbols_test.sh PLUGIN.so... [--careless PLUGIN.so...]
# Plugins after --careless were built without vigil_add_plugin on purpose: they
# must show a GNU unique symbol, which proves the check sees one.
set -euo pipefail
failures=0
careless=0
for plugin in "$@"; do
  if [ "$plugin" = "--careless" ]; then
    careless=1
    continue
  fi
  unique=$(readelf --dyn-syms -W "$plugin" | awk '$5 == "UNIQUE"' | wc -l)
  if [ "$careless" = 1 ]; then
    if [ "$unique" = 0 ]; then
      echo "FAIL: $plugin was built to define a GNU unique symbol and defines none"
      failures=$((failures + 1))
    fi
    continue
  fi
  exported=$(nm -D --defined-only "$plugin" | awk '{print $NF}' | tr '\n' ' ')
  if [ "$exported" != "vigil_plugin_negotiate " ]; then
    echo "FAIL: $plugin exports: $exported(expected only vigil_plugin_negotiate)"
    failures=$((failures + 1))
  fi
  if [ "$unique" != 0 ]; then
    echo "FAIL: $plugin defines $unique GNU unique symbol(s)"
    failures=$((failures + 1))
  fi
done
[ "$failures" = 0 ] || exit 1
echo "$# plugin file(s) checked"
