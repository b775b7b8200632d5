# One task runner for people and CI.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export DO_NOT_TRACK := 1
export RAGAS_DO_NOT_TRACK := true
export UNSTRUCTURED_DISABLE_NOTICE := 1

.PHONY: setup system-packages demo ui ingest test test-fast lint bench bench-scale clean

$(BIN)/dalil: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	# installed without its dependencies: unstructured's PDF module imports it, its torch stack is not needed
	$(BIN)/pip install --quiet --no-deps unstructured-inference==1.6.14
	touch $(BIN)/dalil

system-packages:
	@if ! command -v tesseract >/dev/null || ! command -v pdftoppm >/dev/null || ! command -v chromium >/dev/null \
	    || ! tesseract --list-langs 2>/dev/null | grep -q ara || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    tesseract-ocr tesseract-ocr-fra tesseract-ocr-ara poppler-utils chromium fonts-dejavu-core >/dev/null; \
	fi

setup: system-packages $(BIN)/dalil

ingest: setup
	$(BIN)/dalil ingest

demo: setup
	$(BIN)/dalil corpus fetch --if-missing || [ $$? -eq 2 ]  # no corpus folder: download the texts
	$(BIN)/dalil demo  # the service, its first ingestion as a job, the app through it; Ctrl-C stops all

ui: setup
	$(BIN)/dalil ui

test: setup
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "unit"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy assistant ingest eval ui server benchmarks
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python -m benchmarks.run

bench-scale: setup
	$(BIN)/python -m benchmarks.scale
	$(BIN)/python -m benchmarks.run --docs-only

clean:
	rm -rf .dalil .pytest_cache .mypy_cache .ruff_cache
