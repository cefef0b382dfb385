#!/usr/bin/env bash
# Builds the local base images the container tests run on, from this machine's
# own binaries, with no registry: a root filesystem in a tarball is imported
# with `docker import`. An image is rebuilt only when its binary changes (the
# binary's sha256 is kept as a label), so repeated runs leave no orphans.
#
#   plex86/nats:<version>  nats-server and the libraries it links against
#   plex86/node:<major>    node, its libraries, and a static busybox for /bin/sh
# Each is also tagged :local, the name the container tests use.
set -euo pipefail

need() { command -v "$1" >/dev/null 2>&1 || { echo "build-local-images: $1 is missing; $2" >&2; exit 1; }; }
need docker 'install docker.io (apt-get install docker.io) and start a Docker engine'
docker info >/dev/null 2>&1 || { echo 'build-local-images: no Docker engine answers; start one (dockerd --bridge=none --iptables=false)' >&2; exit 1; }

NATS_BIN=${NATS_SERVER_BIN:-$(command -v nats-server || echo /usr/sbin/nats-server)}
NODE_BIN=$(readlink -f "$(command -v node)")
BUSYBOX_BIN=/bin/busybox
[ -x "$NATS_BIN" ] || { echo 'build-local-images: nats-server is missing; apt-get install nats-server' >&2; exit 1; }
[ -x "$BUSYBOX_BIN" ] && file -L "$BUSYBOX_BIN" 2>/dev/null | grep -q 'statically linked' || BUSYBOX_BIN=$(ls /bin/busybox /usr/bin/busybox 2>/dev/null | head -1)
[ -n "$BUSYBOX_BIN" ] || { echo 'build-local-images: busybox is missing; apt-get install busybox-static' >&2; exit 1; }

# Copies a binary and every library `ldd` names into ROOT, keeping their paths.
copy_with_libs() {
  local root=$1 bin=$2 dest=$3
  install -D -m 0755 "$bin" "$root$dest"
  ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
    install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}

# import_image TAG BINARY ENTRYPOINT ROOT-BUILDER
import_image() {
  local tag=$1 bin=$2 entrypoint=$3 builder=$4
  local sum
  sum=$(sha256sum "$bin" | cut -d' ' -f1)
  if [ "$(docker image inspect -f '{{index .Config.Labels "plex86.binary-sha256"}}' "$tag" 2>/dev/null || true)" = "$sum" ]; then
    echo "build-local-images: $tag is up to date"
    docker tag "$tag" "${tag%%:*}:local"
    return
  fi
  local root
  root=$(mktemp -d)
  mkdir -p "$root/tmp" "$root/etc" "$root/data"
  chmod 1777 "$root/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  "$builder" "$root"
  local old
  old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  tar -C "$root" -c . | docker import \
    --change "ENTRYPOINT [\"$entrypoint\"]" \
    --change "LABEL plex86.binary-sha256=$sum" \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
    - "$tag" >/dev/null
  rm -rf "$root"
  [ -n "$old" ] && docker rmi "$old" >/dev/null 2>&1 || true
  docker tag "$tag" "${tag%%:*}:local"
  echo "build-local-images: built $tag"
}

nats_root() { copy_with_libs "$1" "$NATS_BIN" /usr/sbin/nats-server; }
node_root() {
  copy_with_libs "$1" "$NODE_BIN" /usr/bin/node
  install -D -m 0755 "$BUSYBOX_BIN" "$1/bin/busybox"
  ln -s busybox "$1/bin/sh"
}

NATS_VERSION=$("$NATS_BIN" --version | grep -o '[0-9][0-9.]*' | head -1)
NODE_MAJOR=$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')
import_image "plex86/nats:$NATS_VERSION" "$NATS_BIN" /usr/sbin/nats-server nats_root
import_image "plex86/node:$NODE_MAJOR" "$NODE_BIN" /usr/bin/node node_root
