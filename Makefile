# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo

.PHONY: demo test install clean bench

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (or run: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,spark]"
	# French VADER lexicon (MIT): only its data file is read, so skip its GPL dependencies.
	$(BIN)/python -m pip install --quiet --no-deps vaderSentiment-fr==1.3.4
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=25

demo: $(STAMP)
	rm -rf $(DEMO)
	$(BIN)/confiance simulate $(DEMO)/world --seed 7 --accounts 20000 --posts 200000
	$(BIN)/confiance --workspace $(DEMO)/workspace init
	$(BIN)/confiance --workspace $(DEMO)/workspace ingest $(DEMO)/world
	$(BIN)/confiance --workspace $(DEMO)/workspace sources --credibility $(DEMO)/world/credibility.csv > /dev/null
	$(BIN)/confiance --workspace $(DEMO)/workspace analyze --threads 2
	$(BIN)/confiance --workspace $(DEMO)/workspace sov --by week '"Solvane" OR #solvane' '#velo' '#retraites' > /dev/null
	$(BIN)/confiance --workspace $(DEMO)/workspace report -o $(DEMO)/report.html
	@echo "explore it: $(BIN)/confiance --workspace $(DEMO)/workspace serve"

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
