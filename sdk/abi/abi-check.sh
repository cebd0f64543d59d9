#!/usr/bin/env bash
# Checks the plugin ABI against its committed baseline with libabigail.
#   abi-check.sh PROBE_LIBRARY SDK_DIR            fail on any change against the baseline
#   abi-check.sh PROBE_LIBRARY SDK_DIR --update   write the baseline for the header's version
# The baseline for ABI X.Y is SDK_DIR/abi/vigil-abi-X.Y.xml. A deliberate change
# bumps VIGIL_ABI_VERSION_MINOR (append-only) or _MAJOR (breaking) in plugin.h,
# then runs --update and commits the new baseline beside the old ones.
set -euo pipefail
probe=$1
sdk=$2
mode=${3:-check}

header=$sdk/include/vigil/plugin.h
major=$(sed -n 's/^#define VIGIL_ABI_VERSION_MAJOR \([0-9]*\)$/\1/p' "$header")
minor=$(sed -n 's/^#define VIGIL_ABI_VERSION_MINOR \([0-9]*\)$/\1/p' "$header")
baseline=$sdk/abi/vigil-abi-$major.$minor.xml
current=$(mktemp)
trap 'rm -f "$current"' EXIT

abidw --no-corpus-path --no-comp-dir-path --no-show-locs --out-file "$current" "$probe"

if [ "$mode" = "--update" ]; then
  cp "$current" "$baseline"
  echo "abi-check: wrote $baseline"
  exit 0
fi

if [ ! -f "$baseline" ]; then
  echo "abi-check: plugin.h says ABI $major.$minor but there is no baseline $baseline." >&2
  echo "abi-check: if the change is deliberate, run: $0 $probe $sdk --update" >&2
  exit 1
fi

set +e
report=$(abidiff --harmless "$baseline" "$current")
status=$?
set -e
if [ $status -ne 0 ]; then
  echo "$report"
  echo "abi-check: the plugin ABI differs from $baseline (abidiff status $status)." >&2
  echo "abi-check: ABI changes need a version bump in plugin.h and a new baseline (see docs/abi-policy.md)." >&2
  exit 1
fi
# Older minors of this major must still fit: only additions at the end of structs.
for older in "$sdk"/abi/vigil-abi-"$major".*.xml; do
  [ "$older" = "$baseline" ] && continue
  set +e
  report=$(abidiff "$older" "$current")
  set -e
  if echo "$report" | grep -qE "data member deletion|offset changed|[1-9][0-9]* Removed|type name changed|typedef name changed"; then
    echo "$report"
    echo "abi-check: ABI $major.$minor breaks compatibility with $(basename "$older"): only appending is allowed" >&2
    exit 1
  fi
done
echo "abi-check: ABI $major.$minor matches $baseline and keeps every older $major.x layout"
