#!/usr/bin/env bash
# csi-sanity (kubernetes-csi/csi-test), the ecosystem's conformance suite, against the driver with
# the embedded simulator, node specs included: the node plugin stages and mounts for real through
# the sim transport (loop devices over the simulator's LDEV files), so this needs root.
#
# Variants, each with its own JUnit report (reports/csi-sanity-<variant>.xml):
#   mount        one process (`vsp-csi all`), filesystem volumes       — every spec
#   block        one process, raw block volumes                         — every spec
#   split-mount  controller process + separate node process (`vsp-csi node`,
#                --csi.controllerendpoint), filesystem volumes          — Node Service specs
#   split-block  the same, raw block volumes                            — Node Service specs
# The split variants run only the node specs: their controller specs are the one-process ones
# against the same controller. In split mode the node endpoint serves no controller, so csi-sanity
# stages without ControllerPublish (the sim transport then finds the LDEV from the volume id).
#
# Installs csi-sanity with `go install` at a pinned version; exits non-zero on any failure.
set -euo pipefail

CSI_SANITY_VERSION=v5.5.0
repo=$(cd "$(dirname "$0")/.." && pwd)
reports="$repo/reports"
mkdir -p "$reports"
rm -f "$reports"/csi-sanity-*.xml

if [ "$(id -u)" -ne 0 ]; then
  echo "csi-sanity: the node specs mount real filesystems; run as root" >&2
  exit 1
fi

echo "installing csi-sanity $CSI_SANITY_VERSION (go install)"
go install "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$CSI_SANITY_VERSION"
sanity="$(go env GOPATH)/bin/csi-sanity"

# Build when dist/ is missing or older than any source file.
if [ ! -f "$repo/dist/cli.js" ] || [ -n "$(find "$repo/src" -name '*.ts' -newer "$repo/dist/cli.js" -print -quit)" ]; then
  (cd "$repo" && npm run --silent build)
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  # Anything a failed run left mounted or attached under the work directory.
  { grep -o " $work/[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
  { losetup --list --noheadings --output NAME,BACK-FILE 2>/dev/null || true; } | while read -r dev file; do
    case "$file" in "$work"/*) losetup -d "$dev" || true ;; esac
  done
  rm -rf "$work"
}
trap cleanup EXIT

wait_socket() { # socket pid log
  for _ in $(seq 1 150); do
    [ -S "$1" ] && return 0
    if ! kill -0 "$2" 2>/dev/null; then cat "$3"; echo "driver exited" >&2; exit 1; fi
    sleep 0.2
  done
  cat "$3"; echo "driver socket $1 did not appear" >&2; exit 1
}

# start_driver <dir>: `vsp-csi all --embedded-simulator` in <dir>; its socket is <dir>/.vsp-sim/csi.sock.
start_driver() {
  mkdir -p "$1"
  (cd "$1" && exec node "$repo/dist/cli.js" all --embedded-simulator --log-level warn) >"$1/driver.log" 2>&1 &
  pids+=($!)
  wait_socket "$1/.vsp-sim/csi.sock" "$!" "$1/driver.log"
}

# start_node <dir>: a node-only process using the simulator data of the driver in <dir>.
start_node() {
  node "$repo/dist/cli.js" node --endpoint "unix://$1/node.sock" --node-id sanity-node --log-level warn \
    --set node.transport=sim --set "node.simDataDir=$1/.vsp-sim" --set "node.stateDir=$1/node-state" \
    >"$1/node.log" 2>&1 &
  pids+=($!)
  wait_socket "$1/node.sock" "$!" "$1/node.log"
}

printf 'upperIops: "2000"\n' >"$work/mutable.yaml"
failed=()

# run_variant <name> <mount|block> <one|split>
run_variant() {
  local name=$1 access=$2 shape=$3 dir="$work/$1"
  echo "=== csi-sanity $name"
  start_driver "$dir"
  local endpoints=(--csi.endpoint "unix://$dir/.vsp-sim/csi.sock")
  local focus=()
  if [ "$shape" = split ]; then
    start_node "$dir"
    endpoints=(--csi.endpoint "unix://$dir/node.sock" --csi.controllerendpoint "unix://$dir/.vsp-sim/csi.sock")
    focus=(--ginkgo.focus "Node Service")
  fi
  local started=$SECONDS rc=0
  "$sanity" "${endpoints[@]}" "${focus[@]}" \
    --csi.testvolumeaccesstype "$access" \
    --csi.testvolumesize 67108864 \
    --csi.testvolumeexpandsize 134217728 \
    --csi.mountdir "$dir/mnt" \
    --csi.stagingdir "$dir/stage" \
    --csi.testvolumemutableparameters "$work/mutable.yaml" \
    --ginkgo.junit-report "$reports/csi-sanity-$name.xml" \
    --ginkgo.no-color || rc=$?
  echo "=== csi-sanity $name: exit $rc in $((SECONDS - started)) s"
  if [ "$rc" -ne 0 ]; then
    failed+=("$name")
    echo "--- driver log (last 50 lines)"; tail -n 50 "$dir/driver.log"
    [ -f "$dir/node.log" ] && { echo "--- node log (last 50 lines)"; tail -n 50 "$dir/node.log"; }
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  pids=()
}

run_variant mount mount one
run_variant block block one
run_variant split-mount mount split
run_variant split-block block split

if [ "${#failed[@]}" -gt 0 ]; then
  echo "csi-sanity failed: ${failed[*]}" >&2
  exit 1
fi
