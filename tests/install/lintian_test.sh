#!/usr/bin/env bash
# The .deb packages pass lintian with no error (warnings are printed):
#   lintian_test.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work" >/dev/null
lintian --fail-on error --display-level ">=warning" "$work"/*.deb 2>&1 | grep -v "running with root privileges" || true
lintian --fail-on error "$work"/*.deb >/dev/null 2>&1
echo "lintian: no errors in $(cd "$work" && ls ./*.deb | xargs -n1 basename | tr '\n' ' ')"
