#!/usr/bin/env bash
# Run the framework's tests as parallel pytest processes ("lanes"), each logging to
# build/test-<lane>.log; print every log in order and exit non-zero when any lane failed.
# Usage: tests/lanes.sh PYTHON   (make test calls it with the venv's python)
#
# The suite is mostly grading: a lane is one judge waiting on one worker at a time, plus time
# limits, sleeps and process starts, so two lanes left the two cores 20 % idle (CPU 160 %).
# Four lanes, balanced by measured durations, keep them busy.
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
# the autoencoder's checks train small models: the longest file, alone
lane autoencoder -- tests/exercises/test_autoencoder.py
lane exercises -- tests/exercises --ignore=tests/exercises/test_autoencoder.py
# the red team's smoke set (root, then an unprivileged user; not strict: the other lanes grade
# beside it with workers of the same uids), then batches and otter
lane redteam-batch DLGRADE_REDTEAM=smoke DLGRADE_REDTEAM_JOBS=1 DLGRADE_REDTEAM_STRICT=0 -- \
    tests/test_redteam.py tests/test_batch.py tests/test_batch_ray.py tests/test_delivery_otter.py
lane rest -- tests --ignore=tests/exercises --ignore=tests/test_redteam.py \
    --ignore=tests/test_batch.py --ignore=tests/test_batch_ray.py \
    --ignore=tests/test_delivery_otter.py
status=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || status=1
done
for i in "${!names[@]}"; do
    echo "== lane ${names[$i]}"
    cat "build/test-${names[$i]}.log"
done
exit $status
