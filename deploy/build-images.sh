#!/usr/bin/env bash
# Builds the service images shepherd/slm, shepherd/policy, shepherd/orchestrator, shepherd/edge (and
# shepherd/postgres, PostgreSQL from Debian's packages for compose and the container tests) with podman or docker,
# whichever is present, then prints each image's size and its application layer's size.
#
#   deploy/build-images.sh                      # all five
#   deploy/build-images.sh edge orchestrator    # some
#
# Environment: CONTAINER_ENGINE (podman|docker; default: podman if installed, else docker), TAG (latest),
# BASE_IMAGE (default mcr.microsoft.com/dotnet/runtime-deps:10.0; when it cannot be pulled, a local equivalent is
# built from a debootstrap'd Debian 12: localhost/shepherd/runtime-deps:10.0), SLM_BACKEND (Cpu|Cuda12; Cuda12
# needs a CUDA 12 runtime BASE_IMAGE and the LLamaSharp.Backend.Cuda12 package), POLICY_ONNXRUNTIME (Cpu|Gpu; Gpu
# builds the policy on Microsoft.ML.OnnxRuntime.Gpu, for a CUDA 12 BASE_IMAGE; Policy__ExecutionProvider=cuda uses it
# and falls back to CPU, saying so in the log, where CUDA is absent).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

engine="${CONTAINER_ENGINE:-}"
if [ -z "$engine" ]; then
  if command -v podman >/dev/null; then engine=podman; elif command -v docker >/dev/null; then engine=docker; else
    echo "build-images: neither podman nor docker is installed" >&2; exit 1
  fi
fi
tag="${TAG:-latest}"
slm_backend="${SLM_BACKEND:-Cpu}"
policy_onnxruntime="${POLICY_ONNXRUNTIME:-Cpu}"
default_base=mcr.microsoft.com/dotnet/runtime-deps:10.0
local_debian=localhost/debian:bookworm-min
local_base=localhost/shepherd/runtime-deps:10.0
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(slm policy orchestrator edge postgres)
out="$root/artifacts/images"
started=$SECONDS
declare -A seconds=()

has_image() { "$engine" image inspect "$1" >/dev/null 2>&1; }
step() { echo "== $*" >&2; }

debian_base() {
  has_image "$local_debian" && return 0
  command -v debootstrap >/dev/null || { echo "build-images: no registry and no debootstrap (apt-get install debootstrap)" >&2; exit 1; }
  step "debootstrap Debian 12 minbase -> $local_debian"
  local rootfs
  rootfs="$(mktemp -d /var/tmp/shepherd-debian.XXXXXX)"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  # What debian:bookworm-slim leaves out: package caches and lists, documentation, manuals, translations (also for
  # every package installed later, through dpkg's path excludes).
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  cat > "$rootfs/etc/dpkg/dpkg.cfg.d/01-container-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
SLIM
  tar -C "$rootfs" -c . | "$engine" import - "$local_debian" >/dev/null
  rm -rf "$rootfs"
}

base_image() {
  if [ -n "${BASE_IMAGE:-}" ]; then echo "$BASE_IMAGE"; return; fi
  if has_image "$default_base" || timeout 60 "$engine" pull -q "$default_base" >/dev/null 2>&1; then
    echo "$default_base"; return
  fi
  if ! has_image "$local_base"; then
    debian_base
    step "no registry reachable: $local_base from $local_debian"
    "$engine" build -q -t "$local_base" --build-arg DEBIAN_IMAGE="$local_debian" \
      -f deploy/docker/runtime-deps.Containerfile deploy/docker >/dev/null
  fi
  echo "$local_base"
}

postgres_image() {
  if ! has_image "$local_debian"; then debian_base; fi
  "$engine" build -q -t "shepherd/postgres:$tag" --build-arg DEBIAN_IMAGE="$local_debian" \
    -f deploy/docker/postgres.Containerfile deploy/docker >/dev/null
}

project_of() {
  case "$1" in
    slm) echo Shepherd.Slm ;; policy) echo Shepherd.Policy ;;
    orchestrator) echo Shepherd.Orchestrator ;; edge) echo Shepherd.Edge ;;
    *) echo "build-images: unknown image '$1' (slm, policy, orchestrator, edge, postgres)" >&2; exit 1 ;;
  esac
}

# Self-contained linux-x64: the image needs no .NET runtime, only runtime-deps. No PDBs and English resources
# only: neither is used in a container.
publish() {
  local name="$1" project
  project="$(project_of "$name")"
  rm -rf "${out:?}/$name"
  step "publish $project"
  local t=$SECONDS
  dotnet publish "services/$project/$project.csproj" -c Release -r linux-x64 --self-contained \
    -p:SlmBackend="$slm_backend" -p:OnnxRuntimeFlavor="$policy_onnxruntime" -p:DebugType=none -p:SatelliteResourceLanguages=en \
    -v q --nologo -clp:ErrorsOnly -o "$out/$name/app" >&2
  seconds[$name]=$((${seconds[$name]:-0} + SECONDS - t))
}

image() {
  local name="$1" base="$2" extra=""
  # llama.cpp's CPU backend links OpenMP; the orchestrator's code sandbox runs python3.
  case "$name" in slm) extra="libgomp1" ;; orchestrator) extra="python3" ;; esac
  step "image shepherd/$name:$tag"
  local t=$SECONDS
  "$engine" build -q -t "shepherd/$name:$tag" -f deploy/docker/Dockerfile \
    --build-arg BASE_IMAGE="$base" --build-arg SERVICE="$(project_of "$name")" --build-arg EXTRA_PACKAGES="$extra" \
    "$out/$name" >/dev/null
  seconds[$name]=$((${seconds[$name]:-0} + SECONDS - t))
}

# Sizes as bytes (docker --human=false) or with an SI unit (podman 4 prints "114 MB" either way).
mb() {
  awk -v s="$1" 'BEGIN {
    n = s + 0; u = s; sub(/^[0-9.]+ */, "", u)
    f = (u == "kB" || u == "KB") ? 1e3 : (u == "MB") ? 1e6 : (u == "GB") ? 1e9 : 1
    printf "%.1f MB", n * f / 1e6 }'
}

report() {
  local name="$1" total app
  total="$("$engine" image inspect --format '{{.Size}}' "shepherd/$name:$tag")"
  # The application layer is the one COPY of the publish output.
  app="$("$engine" history --human=false --no-trunc --format '{{.Size}}|{{.CreatedBy}}' "shepherd/$name:$tag" \
    | awk -F'|' '/COPY/ && /\/app\// { print $1; exit }')"
  if [ "$name" = postgres ]; then app="-"; else app="$(mb "${app:-0}")"; fi
  printf '%-30s image %10s   application layer %10s   built in %4s s\n' "shepherd/$name:$tag" "$(mb "$total")" "$app" "${seconds[$name]:--}"
}

services=()
for t in "${targets[@]}"; do [ "$t" = postgres ] || { project_of "$t" >/dev/null; services+=("$t"); }; done
if [ ${#services[@]} -gt 0 ]; then
  b=$SECONDS
  base="$(base_image)"
  step "base image $base ($engine, $((SECONDS - b)) s)"
  for s in "${services[@]}"; do publish "$s"; done
  for s in "${services[@]}"; do image "$s" "$base"; done
fi
for t in "${targets[@]}"; do [ "$t" != postgres ] || { step "image shepherd/postgres:$tag"; p=$SECONDS; postgres_image; seconds[postgres]=$((SECONDS - p)); }; done

echo
echo "built in $((SECONDS - started)) s with $engine (uncompressed sizes)"
for t in "${targets[@]}"; do report "$t"; done
