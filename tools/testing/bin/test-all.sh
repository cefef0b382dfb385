#!/usr/bin/env bash
# `npm test`: installs what a fresh machine lacks, then runs every check and
# every test of the workspace, the container tests included. Exits non-zero on
# any failure and ends with one summary line of the test counts.
set -euo pipefail
cd "$(dirname "$0")/../../.."

export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false NX_INTERACTIVE=false
export TESTCONTAINERS_RYUK_DISABLED=true     # the Ryuk image would have to come from a registry
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 # containers use host networking on loopback
export PLEX86_TEST_RUN_ID=${PLEX86_TEST_RUN_ID:-test-$$}

step() { printf '\n== %s\n' "$*"; }

# 1. System packages the tests use: nats-server (bus tests), docker.io (container
#    tests), busybox-static (the shell in the Node image), qemu-utils (qemu-img
#    checks our disk images), qemu-system-x86 (the reference PC the default guest
#    is checked on), nasm (assembles the CPU test programs), binutils (objdump
#    checks the disassembler, ld links native test programs), gdb (drives the
#    debugger), seabios (a public BIOS the CPU runs unchanged).
PACKAGES=(nats-server:nats-server docker.io:dockerd busybox-static:busybox qemu-utils:qemu-img qemu-system-x86:qemu-system-i386 nasm:nasm binutils:objdump gdb:gdb seabios:/usr/share/seabios/bios.bin)
missing=()
for entry in "${PACKAGES[@]}"; do
  probe=${entry#*:}
  case $probe in
    /*) [ -e "$probe" ] || missing+=("${entry%%:*}") ;;
    *) command -v "$probe" >/dev/null 2>&1 || [ -x "/usr/sbin/$probe" ] || missing+=("${entry%%:*}") ;;
  esac
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "installing ${missing[*]} from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "npm test: missing Debian packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# 2. Node packages, when this checkout has none yet.
if [ ! -d node_modules ]; then
  step 'installing npm packages (npm ci)'
  npm ci --no-audit --no-fund
fi

# 3. A Docker engine: reuse a running one; otherwise start one with host
#    networking only (no bridge, no iptables) and stop it at the end.
DOCKERD_PID=
cleanup() {
  local ids
  ids=$(docker ps -aq --filter "label=plex86.test-run=$PLEX86_TEST_RUN_ID" 2>/dev/null || true)
  [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1 || true
  if [ -n "$DOCKERD_PID" ]; then kill "$DOCKERD_PID" 2>/dev/null || true; wait "$DOCKERD_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo 'npm test: no Docker engine answers; start one (dockerd --bridge=none --iptables=false) or run as root' >&2
    exit 1
  fi
  step 'starting a Docker engine (host networking only)'
  setsid dockerd --bridge=none --iptables=false >"${TMPDIR:-/tmp}/plex86-dockerd-$$.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo 'npm test: the Docker engine did not start' >&2; exit 1; }
fi

rm -f {libs,services,tools}/*/test-output/vitest-results.json

# 4. Checks: formatting, the workspace graph, generated code against its generators.
step 'format, workspace and generated-code checks'
npx prettier --check . >/dev/null || { npx prettier --list-different . >&2; echo 'npm test: files are not formatted; run npm run format' >&2; exit 1; }
npx nx sync:check
npx nx run-many -t proto-lint codegen-check generate-check --skip-nx-cache

# 5. Build, typecheck, lint, and the unit and integration tests (these start
#    their own nats-server on a free loopback port).
step 'build, typecheck, lint, test'
npx nx run-many -t build typecheck lint
npx nx run-many -t test --skip-nx-cache --parallel=1 -- --reporter=default --reporter=json --outputFile.json=test-output/vitest-results.json

# 6. Container tests: local images from this machine's binaries, no registry.
step 'container tests'
docker/build-local-images.sh
npx nx run e2e:e2e --skip-nx-cache -- --reporter=default --reporter=json --outputFile.json=test-output/vitest-results.json

node tools/testing/bin/test-summary.mjs
