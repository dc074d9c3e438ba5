#!/usr/bin/env bash
# Runs every benchmark section and prints BENCHMARKS.md's tables. Installs the load generator
# (wrk, from Debian) if it is missing. All traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq wrk
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq wrk
  fi
fi
exec cargo run -p lambkin-bench --release -- "$@"
