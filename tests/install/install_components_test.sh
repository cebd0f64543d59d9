#!/usr/bin/env bash
# Each install component holds what its package will ship, and only that:
#   install_components_test.sh BUILD_DIR
# (the packages of docs/architecture.md §Build: agent, plugins, platform, sdk).
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

expect() {  # component, then paths relative to /usr that must exist (../etc for /etc)
  local component=$1
  shift
  # Staged as a package is (DESTDIR): the agent also installs into /etc.
  DESTDIR="$work/$component" cmake --install "$build" --component "$component" --prefix /usr >/dev/null
  for path in "$@"; do
    if [[ ! -e $work/$component/usr/$path ]]; then
      echo "component $component: missing $path" >&2
      failures=$((failures + 1))
    fi
  done
}

expect agent sbin/vigild lib/vigil/vigild-worker lib/vigil/vigil-pac bin/vigilctl lib/vigil/package-hook \
  lib/systemd/system/vigild.service ../etc/default/vigild share/man/man8/vigild.8.gz share/man/man8/vigilctl.8.gz \
  share/doc/vigil/README.md share/doc/vigil/security.md share/doc/vigil-agent/copyright
expect plugins lib/vigil/plugins/inventory.so lib/vigil/plugins/vm.so lib/vigil/plugins/pc.so \
  lib/vigil/plugins/sca.so lib/vigil/plugins/udc.so lib/vigil/plugins/fim.so \
  lib/vigil/plugins/defaults/inv/inv.manifest lib/vigil/plugins/defaults/fim/fim.manifest \
  lib/vigil/plugins/defaults/sca/debian-12/sca.manifest
expect platform bin/vigil-platform share/man/man1/vigil-platform.1.gz
expect sdk include/vigil/plugin.h include/vigil/plugin.hpp

# No component reaches into another's files.
if compgen -G "$work/agent/usr/lib/vigil/plugins/*" >/dev/null; then
  echo "component agent: ships plugins" >&2
  failures=$((failures + 1))
fi
for component in plugins platform; do
  if [[ -e $work/$component/usr/sbin/vigild || -e $work/$component/usr/bin/vigilctl ]]; then
    echo "component $component: ships the agent" >&2
    failures=$((failures + 1))
  fi
done
# The installed supervisor finds its worker where the install put it.
if [[ ! -x $work/agent/usr/sbin/../lib/vigil/vigild-worker ]]; then
  echo "component agent: vigild-worker not beside ../lib/vigil" >&2
  failures=$((failures + 1))
fi
exit $((failures > 0))
