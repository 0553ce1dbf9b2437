#!/usr/bin/env bash
# Exports every form jkda ships as a FHIR Questionnaire and loads each one in
# LHC-Forms, the NLM's standard Questionnaire renderer, under jsdom.
# Needs node >= 20 and the npm registry (first run only). Not part of
# `cargo test`. Usage: tests/renderer/run.sh   (JKDA=path/to/jkda to skip the build)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
if [ ! -d node_modules/lforms ]; then
    npm ci --no-audit --no-fund
fi
jkda="${JKDA:-}"
if [ -z "$jkda" ]; then
    cargo build --quiet --manifest-path "$root/Cargo.toml" --bin jkda
    jkda="$root/target/debug/jkda"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ids="$("$jkda" --data-dir "$tmp/data" forms list | cut -f1)"
for id in $ids; do
    "$jkda" --data-dir "$tmp/data" forms export "$id" --format fhir > "$tmp/$id.json"
done
node "$here/check.js" "$tmp"/*.json
