# shellcheck shell=bash
# The e2e cluster's tools, built from Go modules (never downloaded as binaries) into one directory
# per version set, sourced by scripts/e2e.sh after scripts/chart-tools.sh and chart-apiserver.sh
# (etcd and kube-apiserver are the chart check's builds, $K8S_BIN).
#
# test/e2e/tools/kube/go.mod: kubelet, kube-controller-manager, kube-scheduler of k8s.io/kubernetes
# $K8S_VERSION, every staging module replaced by its published v0 tag (as test/chart/apiserver).
# test/e2e/tools/<sidecar>/go.mod: one wrapper module per sidecar at the version the chart pins,
# with that sidecar's own replace block (go install refuses modules with replaces; as a dependency
# their replaces are ignored, so the wrapper carries them). pause: kubernetes' build/pause, static.
# Measured on 2 cores: about 8 min cold for kubelet, 3-4 min for the sidecars; warm, nothing is
# rebuilt (a stamp of the wrapper modules).

E2E_MODULES=(kube provisioner attacher snapshotter resizer)

# Builds everything into $E2E_BIN unless the stamp says it is there; prints the directory.
e2e_build() {
  local repo=$1 stamp dir v flags
  stamp=$(cat "$repo"/test/e2e/tools/*/go.{mod,sum} | sha256sum | cut -c1-16)
  dir="$TOOLS_DIR/e2e-$stamp"
  if [ -x "$dir/kubelet" ] && [ -x "$dir/pause" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$dir"
    return 0
  fi
  mkdir -p "$dir" || return 1
  v=${K8S_VERSION#v}
  flags="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=${v%%.*}"
  flags="$flags -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2)"
  (cd "$repo/test/e2e/tools/kube" && GOFLAGS=-mod=readonly go build -trimpath -ldflags "$flags" -o "$dir/" \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler) >&2 || return 1
  (cd "$repo/test/e2e/tools/provisioner" && GOFLAGS=-mod=readonly go build -trimpath -o "$dir/" \
    github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner) >&2 || return 1
  (cd "$repo/test/e2e/tools/attacher" && GOFLAGS=-mod=readonly go build -trimpath -o "$dir/" \
    github.com/kubernetes-csi/external-attacher/v4/cmd/csi-attacher) >&2 || return 1
  (cd "$repo/test/e2e/tools/snapshotter" && GOFLAGS=-mod=readonly go build -trimpath -o "$dir/" \
    github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter \
    github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller) >&2 || return 1
  (cd "$repo/test/e2e/tools/resizer" && GOFLAGS=-mod=readonly go build -trimpath -o "$dir/" \
    github.com/kubernetes-csi/external-resizer/v2/cmd/csi-resizer) >&2 || return 1
  local kdir
  kdir=$(cd "$repo/test/e2e/tools/kube" && go list -m -f '{{.Dir}}' k8s.io/kubernetes) || return 1
  gcc -Os -static -o "$dir/pause" "$kdir/build/pause/linux/pause.c" >&2 || return 1
  echo "$stamp" >"$dir/stamp"
  echo "$dir"
}
