# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo
CF = $(BIN)/confiance --workspace $(DEMO)/workspace

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
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile --durations=25

demo: $(STAMP)
	rm -rf $(DEMO)
	$(BIN)/confiance simulate $(DEMO)/world --seed 7 --accounts 20000 --posts 200000
	$(CF) init
	$(CF) ingest $(DEMO)/world
	$(CF) sources --credibility $(DEMO)/world/credibility.csv > /dev/null
	$(CF) analyze --threads 2
	$(CF) sov --by week '"Solvane" OR #solvane' '#velo' '#retraites' > /dev/null
	# the world's campaign (truth.json): stance toward the brand, its shift, the KPI effect, brand fit and a plan
	$(CF) stance examples/stance-solvane.yaml --by week > /dev/null
	$(CF) opinion --intervention 2025-03-31 --hashtag Solvane > /dev/null
	$(CF) impact --series site_visits --intervention 2025-03-31 \
	  --controls competitor_site_visits,category_search_interest,newsletter_opens > /dev/null
	$(CF) match examples/brief-solvane.yaml > /dev/null
	$(CF) plan examples/brief-solvane.yaml > /dev/null
	$(CF) report --lang fr -o $(DEMO)/rapport.html
	$(CF) report -o $(DEMO)/report.html
	@echo "explore it: $(CF) serve"

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
