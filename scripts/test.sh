#!/usr/bin/env bash
# The test command: every test project of the solution, then one summary line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
dotnet test Shepherd.sln -c Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
awk '/(Passed|Failed)! +- /{
  for (i = 1; i <= NF; i++) {
    if ($i == "Passed:") p += $(i+1); if ($i == "Failed:") f += $(i+1); if ($i == "Skipped:") s += $(i+1)
  }
} END { gsub(/,/, "", p); printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$status"
