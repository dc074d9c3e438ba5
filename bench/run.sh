#!/usr/bin/env bash
# Runs every benchmark section and prints BENCHMARKS.md's tables. Installs the load generator
# (wrk, from Debian) and the peer tool (cargo-lambda, a binary wheel on PyPI) if they are
# missing. All traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq wrk
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq wrk
  fi
fi
if ! command -v cargo-lambda >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check cargo-lambda
fi
exec cargo run -p lambkin-bench --release -- "$@"
