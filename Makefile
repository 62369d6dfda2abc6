# konnect.devportal — every command works from a fresh clone.
#
#   make demo    the whole setup against the local emulators, then a summary
#   make test    every quality gate (what CI runs)
#   make bench   performance figures
#   make reliability   faults, interruptions, bad input, secrets, TLS, rate limit: figures
#   make docs    the module and role reference as HTML in build/docs/html
#
# One target per gate: lint, changelog-lint, units, sanity, integration,
# playbooks, molecule, importer, docs-lint.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
IMPORTER_VENV := .venv-importer
BUILD := $(CURDIR)/build
# ansible-test insists on running from .../ansible_collections/<namespace>/<name>
SANITY_ROOT := $(BUILD)/sanity/ansible_collections/konnect/devportal
# ansible-playbook, molecule and pytest find the collection through this symlink
COLLECTIONS := $(BUILD)/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/konnect/devportal
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := $(BUILD)/dist/konnect-devportal-$(VERSION).tar.gz
# ansible-test --venv bootstraps pip from a host we cannot reach; this stand-in uses ensurepip + PyPI
GET_PIP := $(HOME)/.ansible/test/cache/get_pip_24_2.py
PYTEST_ARGS ?=

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export ANSIBLE_NOCOLOR := 1

.PHONY: help venv importer-venv collection demo test bench reliability lint changelog-lint units sanity integration \
	playbooks molecule importer docs-lint docs build clean

help:
	@sed -n 's/^#   //p' Makefile

# --- environments ----------------------------------------------------------

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

$(IMPORTER_VENV)/.installed: requirements-importer.txt
	$(PYTHON) -m venv $(IMPORTER_VENV)
	$(IMPORTER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-importer.txt
	touch $@

importer-venv: $(IMPORTER_VENV)/.installed

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

collection: $(COLLECTION_LINK)

$(GET_PIP): tests/get_pip_offline.py
	mkdir -p $(dir $@)
	cp tests/get_pip_offline.py $@

# --- the commands ------------------------------------------------------------

demo: venv collection
	$(BIN)/python tests/demo.py

bench: venv collection
	$(BIN)/python tests/bench.py

# the full sizes (20 fault seeds, every kill point, every bad input); make test runs a bounded
# part through tests/integration/test_reliability.py. RELIABILITY_ARGS="--seeds 5" and the like.
RELIABILITY_ARGS ?=
reliability: venv collection
	$(BIN)/python tests/reliability.py $(RELIABILITY_ARGS)

test: lint changelog-lint units sanity integration playbooks molecule importer docs-lint
	@echo "make test: every gate passed"

# --- gates -------------------------------------------------------------------

lint: venv collection
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PATH=$(BIN):$$PATH $(BIN)/ansible-lint

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

units: venv collection
	tests/run_pytest tests/unit $(PYTEST_ARGS)

integration: venv collection
	tests/run_pytest tests/emulators tests/integration $(PYTEST_ARGS)

playbooks: venv collection
	$(BIN)/python tests/playbooks.py

sanity: venv $(GET_PIP)
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C $(SANITY_ROOT)
	# ansible-test lists the files to check with git
	cd $(SANITY_ROOT) && git init -q && git add -A && $(BIN)/ansible-test sanity --venv --python 3.11 --color no

molecule: venv collection
	cd extensions && PATH=$(BIN):$$PATH $(BIN)/molecule test --all

build: venv
	rm -rf $(BUILD)/dist && mkdir -p $(BUILD)/dist
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD)/dist .

importer: build importer-venv
	cd $(BUILD)/dist && PATH=$(CURDIR)/$(IMPORTER_VENV)/bin:$$PATH GALAXY_IMPORTER_CONFIG=$(CURDIR)/tests/galaxy-importer.cfg \
		$(CURDIR)/$(IMPORTER_VENV)/bin/python -m galaxy_importer.main $(TARBALL)

docs-lint: venv collection
	PATH=$(BIN):$$PATH $(BIN)/antsibull-docs lint-collection-docs --plugin-docs $(COLLECTION_LINK)

# The reference: antsibull-docs writes RST from the plugin and role docs (plus docs/docsite),
# Sphinx turns it into HTML. No conf.py: the settings are the -D options; docs/sphinx/ holds the
# start page and the two ansible docsite labels the generated pages refer to.
DOCS_OUT := $(BUILD)/docs
docs: venv collection
	rm -rf $(DOCS_OUT) && mkdir -p $(DOCS_OUT)/rst
	PATH=$(BIN):$$PATH $(BIN)/antsibull-docs collection --use-current --fail-on-error \
		--no-add-antsibull-docs-version --dest-dir $(DOCS_OUT)/rst konnect.devportal
	cp docs/sphinx/*.rst $(DOCS_OUT)/rst/
	$(BIN)/sphinx-build -M html $(DOCS_OUT)/rst $(DOCS_OUT) -C -q -W --keep-going -j auto \
		-D project=konnect.devportal -D extensions=sphinx_antsibull_ext -D html_theme=alabaster \
		-D pygments_style=ansible -D highlight_language=YAML+Jinja -D html_show_sphinx=0 \
		-D html_copy_source=0 -D html_title="konnect.devportal documentation"
	@echo "make docs: $(DOCS_OUT)/html/index.html"

clean:
	rm -rf $(BUILD) tests/output .pytest_cache
