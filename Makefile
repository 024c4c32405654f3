# Closeout: `make run` opens the app (demo mode with no accounts), `make test` runs every check
# headless under a hard timeout. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A hung qasync test ignores SIGINT and pytest-timeout, so the whole run sits under timeout(1).
TEST_TIMEOUT ?= 1800
PYTEST := QT_QPA_PLATFORM=offscreen timeout --signal=TERM --kill-after=30 $(TEST_TIMEOUT) \
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)
# test-stress: how many full runs in a row, and how many CPU-bound processes run beside them.
STRESS_RUNS ?= 5
STRESS_CPUS ?= 2

.PHONY: all run test test-stress lint typecheck unit screenshot sim bench fuzz chaos soak clean \
	validate-desktop install-desktop uninstall-desktop bundle check-install

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/closeout $(ARGS)

sim: $(STAMP)
	$(PY) -m core.sim $(ARGS)

# Hostile frames down both venues' live sockets through the simulator (a small run is in
# `make test`); writes bench/fuzz-live-results.json. FUZZ_LIVE_FRAMES: how many.
# `make fuzz` runs it too: this rule adds it to `fuzz` beside the parser fuzz's own recipe.
.PHONY: fuzz-live fuzz
FUZZ_LIVE_FRAMES ?= 10000
fuzz-live: $(STAMP)
	$(PY) -m bench.fuzz_live --frames $(FUZZ_LIVE_FRAMES)
fuzz: fuzz-live

lint: $(STAMP)
	$(VENV)/bin/ruff check core gui cli tests bench packaging

typecheck: $(STAMP)
	$(VENV)/bin/mypy core cli gui

test: lint typecheck validate-desktop
	$(PYTEST)

# The desktop entry and the AppStream metainfo, checked by freedesktop's and AppStream's own
# validators (Debian: desktop-file-utils, appstream; .ci/run installs them).
validate-desktop:
	desktop-file-validate resources/closeout.desktop
	appstreamcli validate --no-net --strict resources/io.github.closeout.Closeout.metainfo.xml

# Closeout in this user's application menu (entry, icons, metainfo under ~/.local/share),
# starting this checkout's .venv/bin/closeout; `closeout install-desktop` does the same for a
# bundle or a pipx install.
install-desktop: $(STAMP)
	$(VENV)/bin/closeout install-desktop
uninstall-desktop: $(STAMP)
	$(VENV)/bin/closeout install-desktop --uninstall

# The suite must hold on a busy machine: STRESS_RUNS full runs in a row, each beside
# STRESS_CPUS busy loops, stopping at the first failure with pytest's exit code (5, "no tests
# collected", fails too). The busy loops are killed however the recipe ends.
test-stress: lint typecheck
	@burners=""; \
	trap 'kill $$burners 2>/dev/null' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM HUP; \
	n=0; while [ $$n -lt $(STRESS_CPUS) ]; do \
		$(PY) -c 'while True: pass' & burners="$$burners $$!"; n=$$((n + 1)); \
	done; \
	echo "test-stress: $(STRESS_RUNS) run(s) beside $(STRESS_CPUS) busy loop(s):$$burners"; \
	run=1; while [ $$run -le $(STRESS_RUNS) ]; do \
		start=$$(date +%s); \
		$(PYTEST); rc=$$?; \
		echo "test-stress: run $$run/$(STRESS_RUNS) exit $$rc in $$(( $$(date +%s) - start )) s"; \
		if [ $$rc -ne 0 ]; then exit $$rc; fi; \
		run=$$((run + 1)); \
	done

# The property tests of settings.toml and of typed close input, with many examples each
# (inside `make test` they run a few dozen). FUZZ_EXAMPLES=n sets how many.
FUZZ_EXAMPLES ?= 5000
.PHONY: fuzz-settings fuzz-input
fuzz-settings: $(STAMP)
	CLOSEOUT_EXAMPLES=$(FUZZ_EXAMPLES) $(PYTEST) tests/unit/core/test_settings_properties.py
fuzz-input: $(STAMP)
	CLOSEOUT_EXAMPLES=$(FUZZ_EXAMPLES) $(PYTEST) tests/unit/core/closing/test_input_properties.py \
		tests/unit/cli/test_numeric_options.py tests/gui/test_close_dialog_typed_input.py

screenshot: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/closeout --screenshot docs/screenshot.png

# Every benchmark in bench/, each in its own process; writes bench/results.{md,json}. Under 18
# minutes on a 2-core machine. BENCH_ARGS: names to run only those, --repeat N, --tiny.
bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m bench $(BENCH_ARGS)

# The parser fuzz suite (tests/fuzz): FUZZ_FRAMES mutated frames per venue (and hypothesis ones)
# through every parser of that venue; writes bench/fuzz-results.json. SEED=n replays a run.
# About 10 minutes on one core; a small run of it is part of `make test`.
FUZZ_FRAMES ?= 1000000
fuzz: $(STAMP)
	$(PY) -m tests.fuzz --frames $(FUZZ_FRAMES) $(if $(SEED),--seed $(SEED)) \
		--out bench/fuzz-results.json

# 1,000 randomised close and flatten scenarios under the simulator's fault knobs, then 20 kill -9
# runs of the CLI and the desk mid-flatten; writes bench/chaos-results.json. SEED=n replays one
# scenario; KNOWN=1 also draws the fault kinds known to fail today; CHAOS_ARGS: --count N,
# --kills N, --workers N.
chaos: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m tests.chaos $(if $(SEED),--seed $(SEED)) \
		$(if $(KNOWN),--with-known) $(CHAOS_ARGS)

# The soak (bench/soak.py): demo trading at 10x the update rate, a fault every 30 s, for
# SOAK_MINUTES; its entry goes into bench/results.{md,json}, and a failed criterion exits 1.
SOAK_MINUTES ?= 30
soak: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m bench.soak --minutes $(SOAK_MINUTES)

# The one-folder bundle (packaging/README.md): PyInstaller in its own venv under build/, where
# closeout is installed editable from this tree, so the bundle carries this tree's code and
# version and the dev venv is never touched. Then the versioned tar.gz, then the smoke test of
# what it unpacks to (bare environment, offscreen, and the cold start against the venv's), then
# `pipx install .` in throwaway folders.
BUNDLE_VENV ?= build/bundle-venv
BPY := $(BUNDLE_VENV)/bin/python
BUNDLE_STAMP := $(BUNDLE_VENV)/.installed
SMOKE_RUNS ?= 3

$(BUNDLE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BUNDLE_VENV)
	$(BPY) -m pip install --quiet --upgrade pip
	$(BPY) -m pip install --quiet -e '.[bundle]'
	touch $(BUNDLE_STAMP)

bundle: $(BUNDLE_STAMP)
	$(BPY) -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist \
		--workpath build/pyinstaller packaging/closeout.spec
	archive=$$($(BPY) packaging/archive.py dist/closeout) && \
		$(BPY) packaging/smoke.py --runs $(SMOKE_RUNS) "$$archive"
	$(MAKE) --no-print-directory check-install

# `pipx install .` gives a working `closeout` on PATH: PIPX_HOME and PIPX_BIN_DIR in a
# temporary folder that is removed afterwards.
check-install: $(BUNDLE_STAMP)
	$(BPY) packaging/check_install.py

# Two desks racing to close the same position through one PostgreSQL (a throwaway cluster the
# test starts), TEAM_RACES rounds, alone, with the tally printed. `make test` runs the same
# 1,000 rounds: 11 s on a quiet 2-core machine (45 s before its rounds waited on events).
TEAM_RACES ?= 1000
.PHONY: team-race
team-race: $(STAMP)
	CLOSEOUT_RACES=$(TEAM_RACES) $(PYTEST) -s tests/integration/team/test_two_desks.py

# Two Closeout windows ("Desk 1", "Desk 2") on one throwaway team database (initdb + pg_ctl in a
# temporary folder) and one simulator, so the close leases can be seen (core/team/demo.py).
# ARGS: --desks N, --screenshot DIR.
.PHONY: team-demo
team-demo: $(STAMP)
	$(PY) -m core.team.demo $(ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache
