#!/usr/bin/env bash
# Prepare a fresh Debian machine (run as root) to build, test and demo shoal.
# Idempotent: running it again only re-checks what is already in place.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# System packages the runtime and the tests need:
#   runc            runs the containers (the default `oci` executor)
#   iproute2        network namespaces and links for containers and test hosts
#   nftables        overlay load balancing (service VIPs) and the routing mesh
#   attr            setfattr: marks opaque directories of image layers for overlayfs
#   docker-registry a real OCI registry (distribution v2) the tests start on loopback
#   busybox-static  the static binary the tests build their images from
#   curl            an HTTP client the network tests run inside test hosts
DEBIAN_PACKAGES=(runc iproute2 nftables attr docker-registry busybox-static curl)

install_debian_packages() {
  if [ "${#DEBIAN_PACKAGES[@]}" -eq 0 ]; then
    return 0
  fi
  if [ ! -f /etc/debian_version ] || ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
    printf 'setup: WARNING: not a Debian system; install the equivalents of these Debian packages by hand: %s (runc and iproute2 are needed to run containers; the rest only by the tests)\n' "${DEBIAN_PACKAGES[*]}" >&2
    return 0
  fi
  local missing=() pkg
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    # dpkg -s succeeds for removed-but-configured packages too; require "install ok installed".
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "Debian packages present: ${DEBIAN_PACKAGES[*]}"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages (${missing[*]}); run this script as root"
  log "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# The docker-CLI compatibility tests drive shoal with the stock `docker` client. Machines of
# this kind ship one in /usr/local/bin; where none is found, Debian's docker.io provides it
# (its daemon is not used: the tests point the client at shoal with -H).
ensure_docker_cli() {
  if command -v docker >/dev/null; then
    log "docker CLI present: $(docker --version)"
    return 0
  fi
  DEBIAN_PACKAGES+=(docker.io)
}

install_node_modules() {
  command -v npm >/dev/null || die "npm not found; install Node.js and npm first (apt-get install -y nodejs npm)"
  log "installing npm dependencies (this also fetches the pinned Node 24)"
  # Not `npm ci`: the lockfile lacks optional platform entries for msgpackr-extract on these
  # machines and npm ci refuses to run; npm install fills them in.
  npm install --no-audit --no-fund
}

check_node_version() {
  # npm scripts put node_modules/.bin first on PATH, so this is the node tests and demos use.
  local version
  version="$(npm run -s node-version)" || die "could not run the pinned node (npm run node-version failed)"
  case "$version" in
    v24.*) log "node for npm scripts: $version" ;;
    *) die "npm scripts run node $version, expected v24.x; the 'node' devDependency did not install correctly (try: rm -rf node_modules && npm install)" ;;
  esac
}

ensure_docker_cli
install_debian_packages
install_node_modules
check_node_version
log "setup complete"
