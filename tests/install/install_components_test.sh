#!/usr/bin/env bash
# Each install component holds what its package will ship, and only that:
#   install_components_test.sh BUILD_DIR
# (the packages of docs/architecture.md §Build: agent, plugins, platform, sdk).
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

expect() {  # component, then paths relative to the prefix that must exist
  local component=$1
  shift
  cmake --install "$build" --component "$component" --prefix "$work/$component" >/dev/null
  for path in "$@"; do
    if [[ ! -e $work/$component/$path ]]; then
      echo "component $component: missing $path" >&2
      failures=$((failures + 1))
    fi
  done
}

expect agent sbin/vigild lib/vigil/vigild-worker lib/vigil/vigil-pac bin/vigilctl \
  share/doc/vigil/README.md share/doc/vigil/security.md
expect plugins lib/vigil/plugins/inventory.so lib/vigil/plugins/vm.so lib/vigil/plugins/pc.so \
  lib/vigil/plugins/sca.so lib/vigil/plugins/udc.so lib/vigil/plugins/fim.so
expect platform bin/vigil-platform
expect sdk include/vigil/plugin.h include/vigil/plugin.hpp

# No component reaches into another's files.
if compgen -G "$work/agent/lib/vigil/plugins/*" >/dev/null; then
  echo "component agent: ships plugins" >&2
  failures=$((failures + 1))
fi
for component in plugins platform; do
  if [[ -e $work/$component/sbin/vigild || -e $work/$component/bin/vigilctl ]]; then
    echo "component $component: ships the agent" >&2
    failures=$((failures + 1))
  fi
done
# The installed supervisor finds its worker where the install put it.
if [[ ! -x $work/agent/sbin/../lib/vigil/vigild-worker ]]; then
  echo "component agent: vigild-worker not beside ../lib/vigil" >&2
  failures=$((failures + 1))
fi
exit $((failures > 0))
