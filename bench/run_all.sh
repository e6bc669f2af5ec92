#!/usr/bin/env bash
# Run both benchmarks on the full-size corpus and print their Markdown tables.
# Usage: bench/run_all.sh [extra build_bench.py options, e.g. --series 2 --posts 50]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
"$PY" bench/status_bench.py
echo
"$PY" bench/build_bench.py "$@"
