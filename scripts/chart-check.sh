#!/usr/bin/env bash
# The chart check (npm run test:chart): charts/vsp-csi, deploy/ and the Dockerfile.
#
#  1. helm lint --strict with the default values and each charts/vsp-csi/examples/values-*.yaml;
#  2. helm template of each of them twice: the two renders must be byte-identical (GitOps);
#  3. every rendered object validated twice: offline against the Kubernetes $K8S_VERSION (and the
#     oldest declared version's) OpenAPI v3 documents and the snapshot CRDs, both from Go modules,
#     plus the apiserver's semantic rules and the driver's own configuration loader over the pods'
#     mounts (test/chart/); and by a server-side dry run on a real kube-apiserver $K8S_VERSION
#     with the snapshot CRDs, built from Go modules (scripts/chart-apiserver.sh);
#  4. deploy/ equals a fresh scripts/render-deploy.sh, and validates too;
#  5. the sidecar RBAC blocks equal the pinned sidecars' upstream rules, and the sidecar image tags
#     are the pinned versions;
#  6. every values file in charts/vsp-csi/ci-bad/ is refused, with the message it expects;
#  7. the chart packages and its NOTES render;
#  8. hadolint passes the Dockerfile; every command the node plugin runs comes from a package the
#     node image installs; the build and app stages, carried out on the host (there is no
#     container engine), produce an application that starts from its production files.
#
# Each check is one testcase of reports/chart-junit.xml; the exit status is non-zero when any
# check failed. Tools are pinned in scripts/chart-tools.sh and cached, so a warm run is quick.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
# shellcheck source=scripts/chart-tools.sh
source "$repo/scripts/chart-tools.sh"
# shellcheck source=scripts/chart-apiserver.sh
source "$repo/scripts/chart-apiserver.sh"

chart=charts/vsp-csi
reports="$repo/reports"
work=$(mktemp -d)
cases="$work/cases"
mkdir -p "$reports" "$cases"
trap 'apiserver_stop; rm -rf "$work"' EXIT
started=$(date +%s)

# The pinned sidecar images (kubernetes-csi, see ../shared/reference/csi.md §3).
declare -A PINNED=(
  [provisioner]=v6.4.0
  [attacher]=v4.13.0
  [snapshotter]=v8.7.0
  [resizer]=v2.3.0
  [livenessProbe]=v2.19.0
  [nodeDriverRegistrar]=v2.17.0
)

case_no=0
passed=0
failed=0
# record <name> <pass|fail> <seconds> <output file>
record() {
  case_no=$((case_no + 1))
  local dir
  dir="$cases/$(printf '%03d' "$case_no")"
  mkdir -p "$dir"
  printf '%s\n' "$1" >"$dir/name"
  printf '%s\n' "$2" >"$dir/status"
  printf '%s\n' "$3" >"$dir/time"
  # npm's complaint about this machine's global npmrc is noise, not a finding.
  grep -v '^npm warn Unknown user config "nodedir"' "$4" >"$dir/output"
  if [ "$2" = pass ]; then
    passed=$((passed + 1))
    printf 'ok   %s (%ss)\n' "$1" "$3"
  else
    failed=$((failed + 1))
    printf 'FAIL %s (%ss)\n' "$1" "$3"
    sed 's/^/     /' "$dir/output" | tail -n 40
  fi
}

# check <name> <command...>: passes when the command exits 0.
check() {
  local name=$1 out="$work/out" t0 rc
  shift
  t0=$(date +%s.%N)
  "$@" >"$out" 2>&1
  rc=$?
  record "$name" "$([ $rc -eq 0 ] && echo pass || echo fail)" "$(awk "BEGIN { printf \"%.3f\", $(date +%s.%N) - $t0 }")" "$out"
}

tsx() { npx --no-install tsx test/chart/cli.ts "$@"; }

# ---- tools and schemas -------------------------------------------------------------------------
helm="$work/missing-helm"
install_helm() { helm=$(ensure_helm) && "$helm" version; }
check "setup: helm $HELM_VERSION (go install)" install_helm

openapi="$work/missing-openapi"
openapi_min="$work/missing-openapi"
crds="$work/missing-crds"
fetch_schemas() {
  local k8s client oldest
  k8s=$(module_dir k8s.io/kubernetes "$K8S_VERSION") &&
    oldest=$(module_dir k8s.io/kubernetes "$K8S_MIN_VERSION") &&
    client=$(module_dir github.com/kubernetes-csi/external-snapshotter/client/v8 "$SNAPSHOTTER_CLIENT_VERSION") &&
    openapi="$k8s/api/openapi-spec/v3" && crds="$client/config/crd" && openapi_min="$oldest/api/openapi-spec/v3" &&
    echo "OpenAPI v3 documents: $(find "$openapi" -name '*.json' | wc -l) ($K8S_VERSION), $(find "$openapi_min" -name '*.json' | wc -l) ($K8S_MIN_VERSION)" &&
    ls "$crds"
}
check "setup: Kubernetes $K8S_VERSION and $K8S_MIN_VERSION OpenAPI v3 + snapshot CRDs $SNAPSHOTTER_CLIENT_VERSION (go mod download)" fetch_schemas

# A real kube-apiserver for server-side dry runs (scripts/chart-apiserver.sh).
check "setup: kube-apiserver, kubectl and etcd for Kubernetes $K8S_VERSION (go build from modules)" k8s_build "$repo"
start_apiserver() { apiserver_start "$work/apiserver" && apiserver_crds "$crds"; }
check "setup: kube-apiserver $K8S_VERSION + etcd started, snapshot CRDs installed" start_apiserver

# ---- lint, render, determinism, validation -----------------------------------------------------
# name | helm arguments
variants=("defaults|")
for f in "$chart"/examples/values-*.yaml; do
  variants+=("$(basename "$f" .yaml)|-f $f")
done

render() { # <out> <args...>
  local out=$1
  shift
  "$helm" template vsp-csi "$chart" --namespace kube-system "${TEMPLATE_ARGS[@]}" "$@" >"$out"
}

deterministic() { # <name> <args...>
  local name=$1
  shift
  render "$work/$name.yaml" "$@" && render "$work/$name.again.yaml" "$@" &&
    cmp "$work/$name.yaml" "$work/$name.again.yaml" &&
    echo "$(grep -c '^kind:' "$work/$name.yaml") objects, $(wc -c <"$work/$name.yaml") bytes, identical twice"
}

validate() { tsx validate --openapi "$openapi" --crds "$crds" "$@"; }

for v in "${variants[@]}"; do
  name=${v%%|*}
  read -r -a args <<<"${v#*|}"
  check "helm lint --strict ($name)" "$helm" lint --strict "$chart" "${args[@]}"
  check "helm template renders identical bytes twice ($name)" deterministic "$name" "${args[@]}"
  check "rendered objects valid for Kubernetes $K8S_VERSION ($name)" validate "$work/$name.yaml"
  check "kube-apiserver $K8S_VERSION accepts the objects: server-side dry run ($name)" apiserver_dry_run "$work/$name.yaml"
done

# The oldest Kubernetes the chart declares: the values without VolumeAttributesClasses (1.34+).
oldest_kubernetes() {
  local v values
  for v in defaults values-iscsi values-minimal; do
    values=()
    [ "$v" = defaults ] || values=(-f "$chart/examples/$v.yaml")
    "$helm" template vsp-csi "$chart" --namespace kube-system --kube-version "${K8S_MIN_VERSION#v}" \
      "${SNAPSHOT_API_ARGS[@]}" "${values[@]}" >"$work/oldest-$v.yaml" || return 1
  done
  tsx validate --openapi "$openapi_min" --crds "$crds" "$work"/oldest-*.yaml
}
check "rendered objects valid for Kubernetes $K8S_MIN_VERSION, the oldest declared (defaults, values-iscsi, values-minimal)" oldest_kubernetes

# Without the snapshot CRDs the snapshotter and the snapshot classes must drop out cleanly.
without_crds() {
  "$helm" template vsp-csi "$chart" --namespace kube-system --kube-version "${K8S_VERSION#v}" \
    -f "$chart/examples/values-minimal.yaml" --set 'volumeSnapshotClasses[0].name=x' >"$work/no-crds.yaml" &&
    ! grep -q 'csi-snapshotter\|kind: VolumeSnapshotClass' "$work/no-crds.yaml" &&
    echo "no csi-snapshotter, no VolumeSnapshotClass" && validate "$work/no-crds.yaml"
}
check "cluster without snapshot CRDs: snapshotter and classes left out, objects valid" without_crds

notes() { "$helm" install vsp-csi "$chart" --namespace kube-system --dry-run=client | sed -n '/^NOTES:/,$p' | grep .; }
check "NOTES.txt renders (helm install --dry-run=client, defaults)" notes

# ---- deploy/ -------------------------------------------------------------------------------------
deploy_in_sync() {
  HELM="$helm" scripts/render-deploy.sh "$work/deploy" >/dev/null &&
    diff -r --exclude=README.md deploy "$work/deploy" && echo "deploy/ matches scripts/render-deploy.sh"
}
check "deploy/ is what scripts/render-deploy.sh renders" deploy_in_sync
check "deploy/ manifests valid for Kubernetes $K8S_VERSION" validate deploy/*.yaml
dry_run_deploy() { local f; for f in deploy/*.yaml; do apiserver_dry_run "$f" || return 1; done; }
check "kube-apiserver $K8S_VERSION accepts deploy/: server-side dry run" dry_run_deploy

# ---- pinned sidecars ---------------------------------------------------------------------------
check "sidecar RBAC equals the pinned sidecars' deploy/kubernetes rules" tsx rbac "$chart/templates"
pinned_tags() {
  local bad=0 name tag
  for name in $(printf '%s\n' "${!PINNED[@]}" | sort); do
    tag=$(sed -n "/^  $name:/,/^  [a-zA-Z]*:\$/{s/^      tag: \(.*\)\$/\1/p}" "$chart/values.yaml" | awk 'NR == 1')
    if [ "$tag" = "${PINNED[$name]}" ]; then echo "$name $tag"; else
      echo "$name: values.yaml has '$tag', pinned ${PINNED[$name]}"
      bad=1
    fi
  done
  return $bad
}
check "sidecar images are the pinned versions" pinned_tags

# ---- values the schema and templates must refuse -------------------------------------------------
refused() { # <values file>: helm must fail with the message on the file's "# expect:" line
  local expect out rc
  expect=$(sed -n 's/^# expect: //p' "$1")
  out=$("$helm" template vsp-csi "$chart" -f "$1" 2>&1)
  rc=$?
  echo "$out"
  if [ $rc -eq 0 ]; then echo "--- rendered, expected a refusal containing: $expect"; return 1; fi
  if ! grep -qF -- "$expect" <<<"$out"; then echo "--- refused, but without: $expect"; return 1; fi
}
for f in "$chart"/ci-bad/*.yaml; do
  check "refuses $(basename "$f"): $(sed -n '1s/^# //p' "$f")" refused "$f"
done

# ---- packaging and the image ---------------------------------------------------------------------
check "helm package" "$helm" package "$chart" --destination "$work/package"
lint_dockerfile() { "$(ensure_hadolint)" --version && "$(ensure_hadolint)" Dockerfile && echo "hadolint: no findings"; }
check "hadolint $HADOLINT_VERSION: Dockerfile" lint_dockerfile
# Every command the node plugin runs (src/node: runner.run("<command>", ...)) must come from a
# package the node image installs, or from Debian's essential set that every image has.
declare -A TOOL_PACKAGE=(
  [blkid]=util-linux [blockdev]=util-linux [mount]=mount [umount]=mount [losetup]=mount
  [iscsiadm]=open-iscsi [multipath]=multipath-tools [multipathd]=multipath-tools
  [mkfs.ext4]=e2fsprogs [resize2fs]=e2fsprogs [mkfs.xfs]=xfsprogs [xfs_growfs]=xfsprogs
  [cat]=coreutils [printf]=coreutils [tee]=coreutils [sh]=dash
)
ESSENTIAL_PACKAGES=" coreutils dash "
node_tools_in_image() {
  local bad=0 cmd pkg installed
  # The package lines of the apt-get install: "        <package> \".
  installed=" $(sed -n '/apt-get install/,/rm -rf/p' Dockerfile | sed -n 's/^ *\([a-z0-9.+-]*\) \\$/\1/p' | tr '\n' ' ') "
  for cmd in $( (grep -rhoE 'runner\.run\("[a-z0-9_.-]+"' src/node --include=*.ts --exclude=*.test.ts |
    sed 's/.*("//; s/"$//'; echo mkfs.ext4; echo mkfs.xfs) | sort -u); do
    pkg=${TOOL_PACKAGE[$cmd]:-}
    if [ -z "$pkg" ]; then echo "$cmd: unknown; add its Debian package to TOOL_PACKAGE"; bad=1
    elif [[ "$installed$ESSENTIAL_PACKAGES" != *" $pkg "* ]]; then echo "$cmd: package $pkg is not installed by the Dockerfile"; bad=1
    else echo "$cmd: $pkg"; fi
  done
  return $bad
}
check "every command the node plugin runs is in the node image (Dockerfile packages)" node_tools_in_image

# No container engine here: carry out the build and app stages on the host (test/chart/dockerfile.ts)
# and start the application from the app stage's files alone.
check "Dockerfile build + app stages without a container engine; the CLI starts from them" \
  tsx image Dockerfile . "$work/image" build app /app

# ---- report --------------------------------------------------------------------------------------
tsx junit "$cases" "$reports/chart-junit.xml" chart
echo "chart-check took $(($(date +%s) - started))s; report: reports/chart-junit.xml"
echo "chart: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
