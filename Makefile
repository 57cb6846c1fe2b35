# Two commands do all set-up on a fresh machine:
#   make demo   grade the reference solutions and the stubs with the repository's autograder.yml
#   make test   run the framework's tests (what .ci/run calls)
#   make redteam  the whole red team alone (make test runs it beside the other suites)
#   make mutants  the slow suite: mutation testing of the references (its smoke test is in make test)
# The virtual environment is made with the system python3 when there is one, so that the
# sandbox's unprivileged worker user can start the same interpreter.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || command -v python3)
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.dlgrade-installed

.PHONY: demo test redteam selftest mutants release clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: an unpinned torch would pull gigabytes of CUDA packages
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q "$(TORCH)"
	# the otter extra too: the tests build otter autograders and run `otter run` on them;
	# the mutants extra: `make mutants` and its smoke test use cosmic-ray's mutation operators
	# the ray extra: grade-batch --engine ray and its test on a local cluster
	$(BIN)/pip install -q -e ".[otter,mutants,ray]"
	touch $@

demo: $(STAMP)
	$(BIN)/dlgrade release --check
	@echo "== grading the reference solutions (solutions/) =="
	$(BIN)/dlgrade grade solutions --results build/solutions/results.json --junit build/solutions/junit.xml
	@echo "== grading the stubs (assignments/) =="
	$(BIN)/dlgrade grade assignments --results build/assignments/results.json --quiet

# Five pytest processes ("lanes", tests/lanes.sh): the suite is mostly grading, one judge waiting
# on one worker at a time, so fewer lanes leave the cores idle. It says where each lane logs
# (build/test-<lane>.log) and prints a line as each ends. One lane is the whole red team
# (tests/test_redteam.py: every attack of tests/redteam/attacks.yml, graded by a judge as root,
# then as an unprivileged user, strict, two attacks at a time a mode): strict mode watches only
# its own sessions' uids, markers and files, so it runs beside the other lanes. It skips, saying
# why, where it cannot run (not root). CI has 90 minutes; the suite aims at 30 on 2 cores.
test: $(STAMP)
	@tests/lanes.sh $(BIN)/python

# The red team alone and strict, two attacks at a time a mode (as make test runs it).
# DLGRADE_REDTEAM_MODES=root (or user) runs one mode.
redteam: $(STAMP)
	DLGRADE_REDTEAM=1 DLGRADE_REDTEAM_STRICT=1 $(BIN)/python -m pytest -q -rs tests/test_redteam.py

selftest: $(STAMP)
	$(BIN)/dlgrade selftest

# The slow suite: mutation testing of every reference (838 mutants, about 26 min on 2 cores; see README).
mutants: $(STAMP)
	$(BIN)/dlgrade selftest --mutants --json build/mutants.json

release: $(STAMP)
	$(BIN)/dlgrade release

clean:
	rm -rf build $(VENV)
