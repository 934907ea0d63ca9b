#!/usr/bin/env bash
# csi-sanity (kubernetes-csi/csi-test), the ecosystem's conformance suite, against the driver
# running as one process (`vsp-csi all`) with the embedded simulator. Installs csi-sanity with
# `go install` at a pinned version (Go's default caches make a warm run fast), writes a JUnit
# report to reports/csi-sanity-junit.xml, and exits non-zero on any failure.
#
# Skipped on purpose (see the issue notes): the Node Service specs, until the node plugin stages
# and mounts (they need real devices); snapshot specs skip themselves while the driver does not
# advertise CREATE_DELETE_SNAPSHOT.
set -euo pipefail

CSI_SANITY_VERSION=v5.5.0
repo=$(cd "$(dirname "$0")/.." && pwd)
reports="$repo/reports"
mkdir -p "$reports"

echo "installing csi-sanity $CSI_SANITY_VERSION (go install)"
go install "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$CSI_SANITY_VERSION"
sanity="$(go env GOPATH)/bin/csi-sanity"

work=$(mktemp -d)
driver_pid=""
cleanup() {
  if [ -n "$driver_pid" ]; then kill "$driver_pid" 2>/dev/null || true; wait "$driver_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

[ -f "$repo/dist/cli.js" ] || (cd "$repo" && npm run --silent build)
(cd "$work" && exec node "$repo/dist/cli.js" all --embedded-simulator --log-level warn) >"$work/driver.log" 2>&1 &
driver_pid=$!
socket="$work/.vsp-sim/csi.sock"
for _ in $(seq 1 150); do
  [ -S "$socket" ] && break
  if ! kill -0 "$driver_pid" 2>/dev/null; then cat "$work/driver.log"; echo "driver exited" >&2; exit 1; fi
  sleep 0.2
done
[ -S "$socket" ] || { cat "$work/driver.log"; echo "driver socket did not appear" >&2; exit 1; }

printf 'upperIops: "2000"\n' >"$work/mutable.yaml"
set +e
"$sanity" \
  --csi.endpoint "unix://$socket" \
  --csi.testvolumesize 1073741824 \
  --csi.testvolumeexpandsize 2147483648 \
  --csi.mountdir "$work/mnt" \
  --csi.stagingdir "$work/stage" \
  --csi.testvolumemutableparameters "$work/mutable.yaml" \
  --ginkgo.skip "Node Service" \
  --ginkgo.junit-report "$reports/csi-sanity-junit.xml" \
  --ginkgo.no-color
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  echo "--- driver log (last 50 lines)"
  tail -n 50 "$work/driver.log"
fi
exit "$rc"
