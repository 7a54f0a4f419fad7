# Set-up commands of the Key Vault onboarding kit. `make lab` and `make test` are the
# two a person needs; the rest are their parts.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
JUPYTER_PORT ?= 8888
APP_PORT ?= 8866
# Jupyter refuses to start as root unless told to; containers often run as root.
JUPYTER_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab app test venv dev simulator lint typecheck bench figures constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstall only when a requirements file or the package metadata changes.
$(VENV)/.runtime-installed: $(BIN)/python requirements.txt constraints.txt pyproject.toml
	@echo "Installing the pinned packages into $(VENV); this takes a minute or two."
	$(PIP) install --quiet -r requirements.txt -c constraints.txt
	$(PIP) install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

venv: $(VENV)/.runtime-installed

dev: $(VENV)/.dev-installed

# Start the simulator in the background unless Azure mode is configured, then open
# JupyterLab on the first notebook.
lab: venv
	$(BIN)/akv-onboard lab-prepare
	$(BIN)/jupyter lab --config=jupyter_lab_config.py --ServerApp.ip=127.0.0.1 \
		--ServerApp.port=$(JUPYTER_PORT) --ServerApp.root_dir=notebooks \
		$(JUPYTER_ROOT_FLAG) notebooks/00-start-here.ipynb

# Serve the same walk-through as a Voilà app on 127.0.0.1, code cells hidden; it
# prepares the simulator as `lab` does. Voilà 0.5 has no root check of its own, so
# it takes no JUPYTER_ROOT_FLAG.
app: venv
	$(BIN)/akv-onboard app --port $(APP_PORT)

simulator: venv
	$(BIN)/akv-onboard simulator start

test: dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: dev
	$(BIN)/ruff check akv_helpers tests benchmarks
	$(BIN)/ruff format --check akv_helpers tests benchmarks

typecheck: dev
	$(BIN)/mypy

bench: dev
	$(BIN)/python benchmarks/request_counts.py

# Regenerate docs/RELIABILITY.md from a run of the reliability tests.
figures: dev
	$(BIN)/python benchmarks/reliability_figures.py

constraints: dev
	{ head -n 2 constraints.txt; $(PIP) freeze --exclude-editable \
		| grep -v -E '^(pip|setuptools|wheel)=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
