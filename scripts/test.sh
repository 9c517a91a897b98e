#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test:
#   0. the layering check (scripts/check_layers.py) and its self-test, before any build;
#   1. release build: unit tests (ctest) and the integration suite (real server + real SDKs);
#   2. the Debian package of the release build: built, installed with dpkg -i, run as its systemd
#      unit would, upgraded, removed and purged (scripts/test-package.sh; needs root);
#   3. ASan+UBSan build: unit tests and the integration suite again, against the sanitized binary;
#   4. ThreadSanitizer build: unit tests and the integration suite against the TSan binary;
#   5. libFuzzer smoke run of every fuzz target over its seed corpus.
# Skip stages with WPS_TEST_STAGES="release package dev tsan fuzz" (default: all). Exits non-zero on any
# failure and ends with one summary line "N passed, N failed".
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
stages="${WPS_TEST_STAGES:-release package dev tsan fuzz}"
logdir="$repo/build/test-logs"

"$repo/scripts/setup.sh" || { echo "setup failed"; exit 1; }
mkdir -p "$logdir"

passed=0
failed=0
status=0

# Adds the counts a runner printed in $1 to the totals.
count() {
  local log="$1" p f
  # ctest: "100% tests passed, 0 tests failed out of 57"
  if grep -qE 'tests passed, [0-9]+ tests? failed out of' "$log"; then
    f=$(grep -oE '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 | awk '{print $1}')
    p=$(($(grep -oE 'out of [0-9]+' "$log" | tail -1 | awk '{print $3}') - f))
    passed=$((passed + p)); failed=$((failed + f))
  fi
  # node --test: "# pass 40" / "# fail 0", once per node run in the log (summed)
  p=$(grep -oE '^# pass [0-9]+' "$log" | awk '{s += $3} END {print s + 0}')
  f=$(grep -oE '^# fail [0-9]+' "$log" | awk '{s += $3} END {print s + 0}')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  # scripts/check_layers*.py: "== check_layers: 3 passed, 0 failed"
  if grep -qE '^== [a-z_]+: [0-9]+ passed, [0-9]+ failed' "$log"; then
    p=$(grep -oE '^== [a-z_]+: [0-9]+ passed' "$log" | awk '{s += $3} END {print s + 0}')
    f=$(grep -oE '^== [a-z_]+: [0-9]+ passed, [0-9]+ failed' "$log" | awk '{s += $5} END {print s + 0}')
    passed=$((passed + p)); failed=$((failed + f))
  fi
  # pytest: "12 passed, 1 failed in 3.2s" / "12 passed in 3.2s" / "12 passed, 1 error in 3.2s"
  # (an error: a fixture failed, e.g. a sanitizer report when its server stopped)
  local summary
  summary=$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$log" | tail -1)
  [[ -n $summary ]] || summary=$(grep -E '^[0-9]+ (passed|failed|errors?)\b.* in [0-9.]+s' "$log" | tail -1)
  if [[ -n $summary ]]; then
    p=$(grep -oE '[0-9]+ passed' <<<"$summary" | awk '{print $1}')
    f=$(grep -oE '[0-9]+ failed' <<<"$summary" | awk '{print $1}')
    local e
    e=$(grep -oE '[0-9]+ errors?' <<<"$summary" | awk '{print $1}')
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
  fi
}

run() {  # run NAME COMMAND...
  local name="$1"; shift
  local log="$logdir/$name.log"
  echo "=== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: exit $rc in $((SECONDS - start)) s"
  count "$log"
  if [[ $rc -ne 0 ]]; then
    status=1
    # A runner that died before printing counts still counts as a failure.
    grep -qE 'failed|# fail' "$log" || failed=$((failed + 1))
  fi
}

integration() {  # integration PRESET
  # The ASan+UBSan pass runs every server with one event-loop thread (connections without
  # strands, as in the benchmarks); release and TSan with the default, one thread per core.
  local threads=""
  [[ $1 == dev ]] && threads=1
  WPS_SERVER_BIN="$repo/build/$1/src/webpubsub-server" WPS_SERVER_THREADS="$threads" "$repo/tests/integration/run.sh"
}

# Dependencies point inward (docs/ARCHITECTURE.md): checked on the sources and src/CMakeLists.txt
# before anything is built, with a self-test that plants a violation of each rule in a copy.
run "layers" /usr/bin/python3 "$repo/scripts/check_layers.py" "$repo"
run "layers-selftest" /usr/bin/python3 "$repo/scripts/check_layers_selftest.py" "$repo"

for stage in $stages; do
  case "$stage" in
    release|dev|tsan)
      if ! "$repo/scripts/build.sh" "$stage"; then
        echo "=== build $stage failed"; status=1; failed=$((failed + 1)); continue
      fi
      run "unit-$stage" ctest --preset "$stage" -j2 --timeout 300
      run "integration-$stage" integration "$stage"
      ;;
    package)
      run "package" "$repo/scripts/test-package.sh"
      ;;
    fuzz)
      if ! "$repo/scripts/build.sh" fuzz; then
        echo "=== build fuzz failed"; status=1; failed=$((failed + 1)); continue
      fi
      run "fuzz-smoke" ctest --preset fuzz --timeout 120
      ;;
    *) echo "unknown stage $stage"; status=1 ;;
  esac
done

echo
echo "${passed} passed, ${failed} failed"
exit $status
