#!/usr/bin/env bash
# Makes a Docker API available for the container tests on a Debian machine without Docker (see
# ../shared/docs/containers.md): installs podman, runc and debootstrap, configures podman for this kind of machine
# (runc instead of crun, which stops with "cgroups in hybrid mode not supported"; ulimits the sandbox permits),
# and starts podman's Docker-API socket at /run/podman/podman.sock. Does nothing where a Docker API already answers.
set -euo pipefail
socket=/run/podman/podman.sock
if [ -n "${DOCKER_HOST:-}" ] || [ -S /var/run/docker.sock ]; then
  echo "container engine: Docker API already available (${DOCKER_HOST:-/var/run/docker.sock})"
  exit 0
fi
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -f /etc/containers/containers.conf ]; then
  mkdir -p /etc/containers
  cat > /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
CONF
fi
if [ ! -S "$socket" ]; then
  mkdir -p "$(dirname "$socket")"
  nohup podman system service --time=0 "unix://$socket" >/var/tmp/podman-service.log 2>&1 &
  for _ in $(seq 1 50); do [ -S "$socket" ] && break; sleep 0.2; done
fi
[ -S "$socket" ] || { echo "container engine: podman's socket did not appear (see /var/tmp/podman-service.log)" >&2; exit 1; }
echo "container engine: podman $(podman --version | awk '{print $3}') at unix://$socket"
