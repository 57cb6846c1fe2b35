#!/usr/bin/env bash
# Run the framework's tests as parallel pytest processes ("lanes"), each logging to
# build/test-<lane>.log; print every log in order and exit non-zero when any lane failed.
# Usage: tests/lanes.sh PYTHON   (make test calls it with the venv's python)
#
# The suite is mostly grading: a lane is one judge waiting on one worker at a time, plus time
# limits, sleeps and process starts, so two lanes left the two cores 20 % idle (CPU 160 %).
# Five lanes, balanced by measured durations.
set -u
python=${1:?usage: tests/lanes.sh PYTHON}
mkdir -p build
declare -a names pids
lane() {  # lane NAME [env VAR=VALUE...] -- PYTEST ARGS...
    local name=$1; shift
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    env "${envs[@]}" "$python" -m pytest -q -rs "$@" > "build/test-$name.log" 2>&1 &
    names+=("$name"); pids+=($!)
}
# Measured with four lanes on 2 cores and the red team's smoke set (seconds, each beside the
# others): the autoencoder's file and the bundles 566, the other exercises 583, the smoke set
# with batches, otter and --jobs 445, the rest 417 (11.8 min for `CI=true .ci/run` here, the
# install included). The whole red team (53 attacks a mode, about 240 s a mode alone in one
# lane) replaced the smoke set in two lanes of its own, one a mode.
lane autoencoder-bundles -- tests/exercises/test_autoencoder.py tests/test_delivery_bundles.py
lane exercises -- tests/exercises --ignore=tests/exercises/test_autoencoder.py
# the red team: every attack, the judge as root in one lane and as an unprivileged user in the
# other; not strict: the other lanes grade beside it with workers of the same uids and files in
# /tmp (make redteam runs it alone, strict)
lane redteam-root DLGRADE_REDTEAM=1 DLGRADE_REDTEAM_MODES=root DLGRADE_REDTEAM_JOBS=1 \
    DLGRADE_REDTEAM_STRICT=0 -- tests/test_redteam.py tests/test_parallel.py
lane redteam-user DLGRADE_REDTEAM=1 DLGRADE_REDTEAM_MODES=user DLGRADE_REDTEAM_JOBS=1 \
    DLGRADE_REDTEAM_STRICT=0 -- tests/test_redteam.py tests/test_delivery_otter.py
lane rest -- tests --ignore=tests/exercises --ignore=tests/test_redteam.py \
    --ignore=tests/test_delivery_otter.py --ignore=tests/test_parallel.py \
    --ignore=tests/test_delivery_bundles.py
status=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || status=1
done
for i in "${!names[@]}"; do
    echo "== lane ${names[$i]}"
    cat "build/test-${names[$i]}.log"
done
exit $status
