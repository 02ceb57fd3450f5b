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
command -v curl >/dev/null || need+=(curl)
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
answers() { [ -S "$socket" ] && curl -sf --max-time 5 --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; }
# A service left running by an earlier run can answer the ping yet fail every container start ("write child: broken
# pipe", HTTP 500), as it did here after hours of runs: the service this script starts is started fresh each time.
if pkill -f "podman system service --time=0 unix://$socket" 2>/dev/null; then
  for _ in $(seq 1 50); do pgrep -f "podman system service --time=0 unix://$socket" >/dev/null || break; sleep 0.1; done
fi
if ! answers; then
  # A socket file left by a service that has since died answers nothing: replace it.
  rm -f "$socket"
  mkdir -p "$(dirname "$socket")"
  nohup podman system service --time=0 "unix://$socket" >/var/tmp/podman-service.log 2>&1 &
  for _ in $(seq 1 100); do answers && break; sleep 0.2; done
fi
answers || { echo "container engine: podman's socket does not answer (see /var/tmp/podman-service.log)" >&2; exit 1; }
echo "container engine: podman $(podman --version | awk '{print $3}') at unix://$socket"
