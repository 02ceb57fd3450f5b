#!/usr/bin/env bash
# Downloads the fixture model and the benchmark data from their public sources into .shepherd/ (git-ignored),
# for machines without ../shared. Code and tests look there after SHEPHERD_DATA / SHEPHERD_MODELS and ../shared.
# Sources and checksums: the same as ../shared/models/README.md and ../shared/data/README.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/.shepherd}"
mkdir -p "$dest/models" "$dest/data/gsm8k" "$dest/data/humaneval" "$dest/data/mbpp" "$dest/data/cnk12"

shared="$(cd "$root/.." && pwd)/shared"
failed=()

# A fixture already present where the code looks first (SHEPHERD_MODELS / SHEPHERD_DATA, then ../shared) is not
# downloaded again.
present_elsewhere() { # kind(models|data) relative-path
  local kind="$1" rel="$2" variable
  variable="$([ "$kind" = models ] && echo "${SHEPHERD_MODELS:-}" || echo "${SHEPHERD_DATA:-}")"
  { [ -n "$variable" ] && [ -f "$variable/$rel" ]; } || [ -f "$shared/$kind/$rel" ]
}

fetch() { # url kind relative-path sha256
  local url="$1" kind="$2" rel="$3" sum="$4" file="$dest/$2/$3" error
  if present_elsewhere "$kind" "$rel"; then
    echo "found   $kind/$rel (SHEPHERD_${kind^^} or ../shared)"; return
  fi
  if [ -f "$file" ] && echo "$sum  $file" | sha256sum -c --quiet - 2>/dev/null; then
    echo "ok      $file"; return
  fi
  echo "fetch   $url"
  if ! error="$(curl -fsSL --retry 3 --connect-timeout 20 -o "$file.part" "$url" 2>&1)"; then
    rm -f "$file.part"
    echo "failed  $kind/$rel: ${error:-curl failed}" >&2
    failed+=("$kind/$rel  from $url")
    return
  fi
  echo "$sum  $file.part" | sha256sum -c --quiet - || { echo "checksum mismatch for $url" >&2; rm -f "$file.part"; exit 1; }
  mv "$file.part" "$file"
}

fetch https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf \
  models stories260K.gguf 270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d
fetch https://raw.githubusercontent.com/openai/grade-school-math/3101c7d5072418e28b9008a6636bde82a006892c/grade_school_math/data/train.jsonl \
  data gsm8k/train.jsonl 17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465
fetch https://raw.githubusercontent.com/openai/grade-school-math/3101c7d5072418e28b9008a6636bde82a006892c/grade_school_math/data/test.jsonl \
  data gsm8k/test.jsonl 3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14
fetch https://raw.githubusercontent.com/openai/human-eval/master/data/HumanEval.jsonl.gz \
  data humaneval/HumanEval.jsonl.gz b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef
fetch https://raw.githubusercontent.com/google-research/google-research/master/mbpp/mbpp.jsonl \
  data mbpp/mbpp.jsonl 0b5e07b5b40fedd01c57b7c9177b79f8b2eebd72c304c928605d91a7237d2f33
fetch https://raw.githubusercontent.com/google-research/google-research/master/mbpp/sanitized-mbpp.json \
  data mbpp/sanitized-mbpp.json ca95deaa9a01ef0a6f439f88bcf0dd3db3563d22f22aad6cae04ebb9a8d8c8e9
echo "CNK12: the 250-row sample is derived (see ../shared/data/README.md); users with OpenR1-Math-220k point"
echo "       SHEPHERD_DATA at a folder holding cnk12/*.parquet from huggingface.co/datasets/open-r1/OpenR1-Math-220k."
if [ ${#failed[@]} -gt 0 ]; then
  {
    echo
    echo "fetch-fixtures: could not download ${#failed[@]} fixture file(s) (no network access?):"
    printf '  %s\n' "${failed[@]}"
    echo "Looked for them, in this order, in:"
    echo "  SHEPHERD_MODELS / SHEPHERD_DATA: ${SHEPHERD_MODELS:-(unset)} / ${SHEPHERD_DATA:-(unset)}"
    echo "  $shared/{models,data}$([ -d "$shared" ] || echo '  (absent)')"
    echo "  $dest/{models,data}  (what this script fills)"
    echo "Without network access, copy them from a machine that has them (same names; sha256 in $0) and point at"
    echo "the copies: SHEPHERD_MODELS=<folder holding stories260K.gguf>  SHEPHERD_DATA=<folder holding gsm8k/, humaneval/, mbpp/>"
  } >&2
  exit 1
fi
echo "done: $dest"
