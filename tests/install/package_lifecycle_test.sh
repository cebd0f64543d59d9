#!/usr/bin/env bash
# The vigil-agent package's whole life with the real dpkg and rpm
# (docs/installing.md):
#   package_lifecycle_test.sh BUILD_DIR [deb|rpm]
# It builds the packages twice with CPack (0.1.0, and 0.1.1 as the upgrade),
# then, in a mount namespace whose /etc, /usr and /var are overlays on tmpfs
# (the machine's own files never change), installs, provisions at install time
# against a reference platform on 127.0.0.1, runs the agent, changes settings,
# upgrades, removes, reinstalls and purges, checking files, identity and state
# at each step. Needs root or unprivileged user namespaces; skips (77) without.
set -euo pipefail
build=$(realpath "$1")
format=${2:-deb}
source_dir=$(realpath "$(dirname "$0")/../..")

if [[ ${VIGIL_IN_PACKAGE_NAMESPACE:-} != 1 ]]; then
  if [[ $(id -u) -eq 0 ]] && unshare --mount true 2>/dev/null; then
    exec env VIGIL_IN_PACKAGE_NAMESPACE=1 unshare --mount --propagation private "$0" "$@"
  fi
  echo "SKIP: needs root for a private mount namespace (dpkg and rpm install into overlays of /etc, /usr, /var)"
  exit 77
fi

work=$(mktemp -d)
platform_pid=""
cleanup() {
  pkill -f "^/usr/sbin/vigild" 2>/dev/null || true
  if [[ -n $platform_pid ]]; then kill "$platform_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  umount -l /etc /usr /var /run "$work/layers" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
step() { echo "== $*"; }

# Packages: this build as 0.1.0, and again as 0.1.1 for the upgrade.
step "building $format packages with CPack"
generator=$([[ $format == deb ]] && echo DEB || echo RPM)
cpack --config "$build/CPackConfig.cmake" -G "$generator" -B "$work/v1" >/dev/null
cpack --config "$build/CPackConfig.cmake" -G "$generator" -B "$work/v2" -D CPACK_PACKAGE_VERSION=0.1.1 >/dev/null
if [[ $format == deb ]]; then
  v1=$(ls "$work"/v1/vigil-agent_*.deb)
  v2=$(ls "$work"/v2/vigil-agent_*.deb)
else
  v1=$(ls "$work"/v1/vigil-agent-*.rpm)
  v2=$(ls "$work"/v2/vigil-agent-*.rpm)
fi

# The reference platform, from the build tree, on loopback.
platform_data=$work/platform
platform() { "$build/bin/vigil-platform" --data "$platform_data" "$@"; }
platform admin init >"$work/platform.json"
customer_id=$(jq -r .customer_id "$work/platform.json")
activation_id=$(jq -r .activation_id "$work/platform.json")
ca_bundle=$(jq -r .ca_bundle "$work/platform.json")
"$build/bin/vigil-platform" --data "$platform_data" serve --listen 127.0.0.1:0 --port-file "$work/port" \
  2>"$work/platform.log" &
platform_pid=$!
for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.1; done
server_uri=https://127.0.0.1:$(cat "$work/port")
platform admin manifest-set --module inv --file "$source_dir/samples/manifests/inv.manifest" >/dev/null
platform admin activate --key "$activation_id" --module inv >/dev/null

# From here on, /etc, /usr, /var and /run are this test's own.
mkdir "$work/layers"
mount -t tmpfs tmpfs "$work/layers"
for dir in etc usr var; do
  mkdir -p "$work/layers/$dir.upper" "$work/layers/$dir.work"
  mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$work/layers/$dir.upper,workdir=$work/layers/$dir.work" "/$dir"
done
mount -t tmpfs tmpfs /run
cp "$ca_bundle" "$work/ca.crt"

install_package() {  # file, then environment assignments
  local file=$1
  shift
  if [[ $format == deb ]]; then
    env "$@" dpkg -i "$file"
  else
    env "$@" rpm -U --replacepkgs --nodeps "$file"
  fi
}
remove_package() {
  if [[ $format == deb ]]; then dpkg -r vigil-agent; else rpm -e --nodeps vigil-agent; fi
}
start_agent() {
  /usr/sbin/vigild >>"$work/vigild.out" 2>&1 &
  for _ in $(seq 200); do
    vigilctl status >/dev/null 2>&1 && [[ -S /run/vigil/vigild.sock ]] && return 0
    sleep 0.1
  done
  fail "vigild did not start"
  cat "$work/vigild.out" >&2
}
agent_id() { vigilctl status --json 2>/dev/null | jq -r '.agent_id // ""'; }
wait_for_agent_id() {
  for _ in $(seq 200); do
    [[ -n $(agent_id) ]] && return 0
    sleep 0.1
  done
  fail "the agent did not provision"
  tail -20 /var/log/vigil/vigild.log >&2 || true
}

step "install with a bad install-time value: the install succeeds, unprovisioned, the key named"
install_package "$v1" VIGIL_CUSTOMER_ID="$customer_id" VIGIL_ACTIVATION_ID="$activation_id" \
  VIGIL_SERVER_URI="ftp://127.0.0.1" 2>"$work/install.err" || fail "install failed on a bad provisioning value"
grep -q "WebServiceUri" "$work/install.err" || fail "the bad value's key is not named: $(cat "$work/install.err")"
[[ -x /usr/sbin/vigild && -x /usr/bin/vigilctl && -f /usr/lib/vigil/plugins/inventory.so &&
  -f /usr/lib/vigil/plugins/defaults/inv/inv.manifest ]] || fail "files missing"
[[ -z $(vigilctl status --json 2>/dev/null | jq -r '.agent_id // ""') ]] || fail "provisioned from a bad value"
[ "$(stat -c %a /var/lib/vigil)" = 700 ] || fail "/var/lib/vigil is not 0700"
if [[ $format == deb ]]; then
  grep -q "Status: install ok installed" <<<"$(dpkg -s vigil-agent)" || fail "package not configured"
fi

step "reinstall provisioned from the environment and a response file"
printf 'CaBundle=%s\n# a comment\n' "$work/ca.crt" >"$work/response"
install_package "$v1" VIGIL_RESPONSE_FILE="$work/response" VIGIL_CUSTOMER_ID="$customer_id" \
  VIGIL_ACTIVATION_ID="$activation_id" VIGIL_SERVER_URI="$server_uri" 2>"$work/install.err" ||
  fail "reinstall failed: $(cat "$work/install.err")"
start_agent
wait_for_agent_id
first_id=$(agent_id)
[[ -f /etc/vigil/hostid ]] || fail "no host id file"
step "agent $first_id provisioned"

step "settings and a conffile edit the upgrade must keep"
echo 'VIGILD_OPTIONS="--log-stderr"  # edited by the operator' >>/etc/default/vigild
vigilctl demand --type inv --wait >"$work/demand.out" 2>&1 || fail "scan failed: $(cat "$work/demand.out")"
state() {  # what an upgrade must keep: identity, the last snapshot, the outbox
  echo "$(agent_id) $(vigilctl results --module inv --limit 1 --json 2>/dev/null | jq -c .snapshot)"
}
# The snapshot's upload settles first: an acknowledgement arriving while the agent stops would change it.
vigilctl checkin >/dev/null 2>&1 || true
for _ in $(seq 300); do
  [[ $(vigilctl results --module inv --limit 1 --json 2>/dev/null | jq -r .snapshot.state) == acknowledged ]] && break
  sleep 0.1
done
vigilctl status --json | jq -c .outbox
before=$(state)
vigilctl stop >/dev/null

step "upgrade to 0.1.1 (agent stopped: it stays stopped)"
install_package "$v2" >"$work/upgrade.out" 2>&1 || fail "upgrade failed: $(cat "$work/upgrade.out")"
grep -q "schema version" "$work/upgrade.out" || fail "the upgrade did not migrate the state store"
grep -q "edited by the operator" /etc/default/vigild || fail "the conffile edit was lost"
pgrep -f "^/usr/sbin/vigild" >/dev/null && fail "the upgrade started an agent that was stopped"
after=$(state)
[[ $before == "$after" ]] || fail "state changed across the upgrade: $before -> $after"
start_agent
[[ $(agent_id) == "$first_id" ]] || fail "identity changed across the upgrade"
vigilctl checkin >/dev/null || true
[[ $(platform admin agents | jq length) == 1 ]] || fail "the platform sees more than one agent"

step "remove: the agent stops, identity, state and the conffile stay"
remove_package >/dev/null
pgrep -f "^/usr/sbin/vigild" >/dev/null && fail "the agent still runs after remove"
[[ ! -e /usr/sbin/vigild ]] || fail "vigild left after remove"
for kept in /var/lib/vigil/config.db /etc/vigil/hostid; do [[ -e $kept ]] || fail "$kept lost on remove"; done
if [[ $format == deb ]]; then [[ -e /etc/default/vigild ]] || fail "the conffile went on remove"; fi
platform_state() { platform admin agents | jq -r --arg id "$first_id" '.[] | select(.agent_id == $id) | .state'; }
[[ $(platform_state) == uninstalled ]] || fail "the platform was not told of the remove: $(platform_state)"

step "reinstall: the same identity, active again on the platform"
install_package "$v2" >/dev/null 2>&1 || fail "reinstall failed"
start_agent
[[ $(agent_id) == "$first_id" ]] || fail "identity changed across remove and reinstall"
for _ in $(seq 100); do [[ $(platform_state) == active ]] && break; sleep 0.1; done
[[ $(platform_state) == active ]] || fail "the reinstalled agent is not active on the platform: $(platform_state)"

if [[ $format == deb ]]; then
  step "the platform's uninstall command: the agent stops and its package goes"
  platform admin uninstall --agent "$first_id" >/dev/null
  vigilctl checkin >/dev/null 2>&1 || true
  for _ in $(seq 300); do
    [[ $(dpkg-query -W -f='${db:Status-Status}' vigil-agent 2>/dev/null) == config-files ]] && break
    sleep 0.1
  done
  [[ $(dpkg-query -W -f='${db:Status-Status}' vigil-agent 2>/dev/null) == config-files ]] ||
    fail "the platform's uninstall did not remove the package: $(tail -5 /var/log/vigil/vigild.log)"
  for _ in $(seq 300); do pgrep -x dpkg >/dev/null || break; sleep 0.1; done  # its triggers run after
  # The agent stops on its own while dpkg runs (its socket is gone: prerm has nothing to wait for).
  for _ in $(seq 300); do pgrep -f "^/usr/sbin/vigild" >/dev/null || break; sleep 0.1; done
  pgrep -f "^/usr/sbin/vigild" >/dev/null && fail "the agent still runs 30 s after the platform's uninstall"
  [[ -e /var/lib/vigil/config.db ]] || fail "the platform's uninstall deleted the state"
  [[ $(platform_state) == uninstalled ]] || fail "the agent's last check-in did not reach the platform: $(platform_state)"
  install_package "$v2" >/dev/null 2>&1 || fail "reinstall after the platform's uninstall failed"

  step "vigilctl uninstall --purge (through dpkg): nothing left"
  vigilctl uninstall --purge >"$work/uninstall.out" 2>&1 || fail "uninstall: $(cat "$work/uninstall.out")"
  grep -q "dpkg --purge" "$work/uninstall.out" || fail "uninstall did not go through dpkg: $(cat "$work/uninstall.out")"
  pgrep -f "^/usr/sbin/vigild" >/dev/null && fail "the agent still runs after uninstall"
  left=$(cd "$work/layers" && find . -name '*vigil*' ! -path './var.upper/lib/dpkg/*' | sort)
  [[ -z $left ]] || fail "purge left: $left"
  [[ $(dpkg-query -W -f='${Status}' vigil-agent 2>/dev/null || true) =~ not-installed|^$ ]] ||
    fail "dpkg still knows vigil-agent"
  step "systemd-analyze verify on the installed unit"
  install_package "$v1" >/dev/null 2>&1
  if systemd-analyze verify /usr/lib/systemd/system/vigild.service >"$work/verify.out" 2>&1; then
    echo "systemd-analyze verify: clean"
  else
    fail "systemd-analyze verify: $(cat "$work/verify.out")"
  fi
else
  vigilctl stop >/dev/null
  remove_package >/dev/null
fi

[[ $failures -eq 0 ]] && echo "package lifecycle ($format): passed"
exit $((failures > 0))
