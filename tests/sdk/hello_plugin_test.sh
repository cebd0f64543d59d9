#!/usr/bin/env bash
# The SDK as a third party uses it: install it to a prefix, build the sample
# hello plugin out of tree against that prefix, load it into a real vigild on
# a temp root and scan with it.
#   hello_plugin_test.sh BUILD_DIR SOURCE_DIR VIGILD VIGILCTL
set -euo pipefail
build_dir=$1 source_dir=$2 vigild=$3 vigilctl=$4

work=$(mktemp -d)
daemon_pid=""
cleanup() {
  [ -z "$daemon_pid" ] || kill "$daemon_pid" 2>/dev/null || true
  [ -z "$daemon_pid" ] || wait "$daemon_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build_dir" --component sdk --prefix "$work/sdk" >/dev/null
[ -f "$work/sdk/include/vigil/plugin.h" ] || fail "SDK header not installed"
for doc in plugin-sdk.md abi-policy.md samples/hello-plugin/CMakeLists.txt; do
  [ -f "$work/sdk/share/doc/vigil/sdk/$doc" ] || fail "SDK install lacks $doc"
done
cmake -S "$source_dir/samples/hello-plugin" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/sdk" >/dev/null
cmake --build "$work/build" >/dev/null
plugin=$work/build/hello.so
[ -f "$plugin" ] || fail "hello.so was not built"

# Only the entry symbol is exported (no GNU unique symbol either: those are 'u').
exported=$(nm -D --defined-only "$plugin" | awk '{print $NF}')
[ "$exported" = "vigil_plugin_negotiate" ] || fail "unexpected exported symbols: $exported"

root=$work/root
mkdir -p "$root/usr/lib/vigil/plugins"
cp "$plugin" "$root/usr/lib/vigil/plugins/"
"$vigild" --root "$root" 2>"$work/vigild.err" &
daemon_pid=$!
for _ in $(seq 100); do
  "$vigilctl" --root "$root" status >/dev/null 2>&1 && [ -S "$root/run/vigil/vigild.sock" ] && break
  sleep 0.05
done

plugins=$("$vigilctl" --root "$root" plugins --json)
grep -q '"module": "hello"' <<<"$plugins" || fail "hello not loaded: $plugins"
grep -q '"key_name": "Hello"' <<<"$plugins" || fail "hello key not registered: $plugins"

manifest=$work/hello.manifest
printf '# test manifest\n/etc/os-release\n/nonexistent/file\n' >"$manifest"
"$vigilctl" --root "$root" manifest set --module hello --file "$manifest"
"$vigilctl" --root "$root" demand --type hello --wait
results=$("$vigilctl" --root "$root" results --module hello --json)

# The plugin's rows must match the real file.
expected_id=$(sed -n 's/^ID=//p' /etc/os-release | tr -d '"')
id_block=$(grep -A8 '"name": "ID"' <<<"$results" || true)
grep -q "\"value\": \"$expected_id\"" <<<"$id_block" || fail "ID=$expected_id not reported: $results"
grep -q '"status": "unreadable"' <<<"$results" || fail "missing file not reported"
bad=$work/bad.manifest
echo "relative/path" >"$bad"
"$vigilctl" --root "$root" manifest set --module hello --file "$bad"
if "$vigilctl" --root "$root" demand --type hello --wait 2>"$work/err"; then fail "relative path accepted"; fi
grep -q "not an absolute path" "$work/err" || fail "bad manifest error unclear: $(cat "$work/err")"
echo "hello plugin built out of tree, loaded and scanned"
