#!/usr/bin/env bash
# The e2e suite (npm run test:e2e): a real cluster on this host — containerd, etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, snapshot-controller and the chart's sidecars,
# built from Go modules — drives the driver as the chart runs it (README.md, "The e2e suite").
# Needs root (kubelet, mounts, loop devices); installs Debian's containerd, runc, CNI plugins and
# busybox-static when missing. Writes reports/e2e-junit.xml.
#
# Usage: scripts/e2e.sh [vitest args...]   scripts/e2e.sh cluster: bring it up and leave it running.
#     E2E_KEEP_DIR=1 keeps the cluster's directory (logs).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/chart-tools.sh
source "$repo/scripts/chart-tools.sh"
# shellcheck source=scripts/chart-apiserver.sh
source "$repo/scripts/chart-apiserver.sh"
# shellcheck source=scripts/e2e-tools.sh
source "$repo/scripts/e2e-tools.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "the e2e suite runs kubelet, mounts and loop devices: run it as root" >&2
  exit 1
fi
missing=()
for pair in containerd:containerd runc:runc /usr/lib/cni/bridge:containernetworking-plugins /bin/busybox:busybox-static; do
  tool=${pair%%:*} pkg=${pair#*:}
  if [ "${tool#/}" != "$tool" ]; then [ -e "$tool" ] || missing+=("$pkg"); else command -v "$tool" >/dev/null || missing+=("$pkg"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}"; }
fi

k8s_build "$repo" >&2
E2E_BIN=$(e2e_build "$repo")
E2E_HELM=$(ensure_helm)
E2E_CRD_DIR="$(module_dir github.com/kubernetes-csi/external-snapshotter/client/v8 "$SNAPSHOTTER_CLIENT_VERSION")/config/crd"
export E2E_BIN E2E_HELM E2E_CRD_DIR E2E_K8S_BIN="$K8S_BIN"
(cd "$repo" && npm run --silent build)
cd "$repo"
if [ "${1:-}" = cluster ]; then exec npx tsx test/e2e/cluster/main.ts; fi
if [ "${1:-}" = bench ]; then exec npx tsx bench/cluster.ts; fi
mkdir -p reports
exec npx vitest run --config test/e2e/vitest.config.ts "$@"
