# shellcheck shell=bash
# A real kube-apiserver (with etcd) for the chart check's server-side dry runs; sourced by
# scripts/chart-check.sh after scripts/chart-tools.sh.
#
# Built from Go modules, never downloaded as binaries: test/chart/apiserver/go.mod requires
# k8s.io/kubernetes $K8S_VERSION with every staging module replaced by its published v0.x tag
# (k8s.io/kubernetes cannot be `go install`ed: its go.mod maps them to ./staging), and
# test/chart/etcd/go.mod requires go.etcd.io/etcd/server/v3. Measured on 2 cores: cold about
# 6.5 min for kube-apiserver, 40 s more for kubectl, 30 s for etcd; warm, nothing is rebuilt
# (a stamp of the go.mod/go.sum pair), and the apiserver answers about 10 s after its start.
#
# The apiserver runs on loopback ports picked at start, with a static token of system:masters,
# RBAC, --allow-privileged (the node plugin is privileged), and without the ServiceAccount
# admission plugin (no controller-manager creates the default accounts).

K8S_BIN="$TOOLS_DIR/k8s-$K8S_VERSION"
APISERVER_PIDS=()

# Builds kube-apiserver, kubectl and etcd into $K8S_BIN unless the wrapper modules are unchanged.
k8s_build() {
  local repo=$1 stamp
  stamp=$(cat "$repo"/test/chart/apiserver/go.{mod,sum} "$repo"/test/chart/etcd/go.{mod,sum} | sha256sum | cut -c1-16)
  if [ -x "$K8S_BIN/kube-apiserver" ] && [ "$(cat "$K8S_BIN/stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "kube-apiserver, kubectl and etcd up to date in $K8S_BIN"
  else
    local v=${K8S_VERSION#v} flags
    flags="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=${v%%.*}"
    flags="$flags -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2)"
    mkdir -p "$K8S_BIN" &&
      (cd "$repo/test/chart/apiserver" && GOFLAGS=-mod=readonly go build -trimpath -ldflags "$flags" \
        -o "$K8S_BIN/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl) &&
      (cd "$repo/test/chart/etcd" && GOFLAGS=-mod=readonly go build -trimpath -o "$K8S_BIN/etcd" go.etcd.io/etcd/server/v3) &&
      echo "$stamp" >"$K8S_BIN/stamp" || return 1
  fi
  # Not `etcd --version | head -n 1`: head may close the pipe before etcd has written its other
  # lines, and etcd's SIGPIPE then fails the step under pipefail (seen once in CI).
  local etcd_version
  "$K8S_BIN/kubectl" version --client && etcd_version=$("$K8S_BIN/etcd" --version) &&
    echo "${etcd_version%%$'\n'*}"
}

free_ports() {
  python3 -c 'import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])'
}

# Starts etcd and kube-apiserver under <dir>; exports KUBECONFIG. Returns non-zero when the
# apiserver is not ready within 120 s (its log is printed).
apiserver_start() {
  local dir=$1 etcd_port peer_port api_port i
  read -r etcd_port peer_port api_port < <(free_ports)
  mkdir -p "$dir"
  "$K8S_BIN/etcd" --data-dir "$dir/etcd" --name chart-check --unsafe-no-fsync --log-level error \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "chart-check=http://127.0.0.1:$peer_port" >"$dir/etcd.log" 2>&1 &
  APISERVER_PIDS+=($!)
  openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null && openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  echo "chart-check-token,chart-check,chart-check,system:masters" >"$dir/tokens.csv"
  "$K8S_BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" --cert-dir="$dir/certs" \
    --token-auth-file="$dir/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$dir/sa.pub" \
    --service-account-signing-key-file="$dir/sa.key" --service-cluster-ip-range=10.0.0.0/24 \
    --disable-admission-plugins=ServiceAccount --endpoint-reconciler-type=none --allow-privileged=true \
    >"$dir/apiserver.log" 2>&1 &
  APISERVER_PIDS+=($!)
  cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: chart-check, cluster: {server: "https://127.0.0.1:$api_port", insecure-skip-tls-verify: true}}]
users: [{name: chart-check, user: {token: chart-check-token}}]
contexts: [{name: chart-check, context: {cluster: chart-check, user: chart-check}}]
current-context: chart-check
EOF
  export KUBECONFIG="$dir/kubeconfig"
  for i in $(seq 1 120); do
    if "$K8S_BIN/kubectl" get --raw=/readyz >/dev/null 2>&1; then
      echo "kube-apiserver $("$K8S_BIN/kubectl" version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -n 1) ready after ${i}s on port $api_port"
      return 0
    fi
    sleep 1
  done
  echo "kube-apiserver not ready after 120s"
  tail -n 30 "$dir/etcd.log" "$dir/apiserver.log"
  return 1
}

# Installs CRDs from <dir> and waits until they are served.
apiserver_crds() {
  local f files=()
  for f in "$1"/*.yaml; do [ "$(basename "$f")" = kustomization.yaml ] || files+=(-f "$f"); done
  "$K8S_BIN/kubectl" apply --server-side "${files[@]}" &&
    "$K8S_BIN/kubectl" wait --for=condition=Established --timeout=60s crd --all
}

# Server-side dry run of creating every object of <file>, with strict field validation.
apiserver_dry_run() {
  "$K8S_BIN/kubectl" create --dry-run=server --validate=strict -f "$1"
}

# Stops the apiserver first (it would wait for etcd while shutting down), then etcd; a process
# still there after 10 s is killed.
apiserver_stop() {
  local i pid
  for ((i = ${#APISERVER_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${APISERVER_PIDS[$i]}
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  APISERVER_PIDS=()
}
