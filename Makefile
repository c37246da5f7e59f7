# Cloning in Python: `make lab` to learn, `make test` to check the course still works.
# Each target sets itself up: it creates .venv (Python 3.11+) and installs the course if needed.

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.course-installed
PROFILE ?= quick
DEVICE  ?= auto
KERNEL  := cloning-in-python

.PHONY: setup lab test test-portable browser-check course notebooks bench clean-cache

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (Cloning in Python)"
	touch $(STAMP)

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/00_welcome_and_setup.ipynb

test: setup
	$(PY) -m pytest --nbval

# The suite as other processors run it: each variant from an empty cache of its own (about 20
# minutes each on 2 cores). AVX2 kernels and MKL's AVX2 path; then generic kernels, MKL's
# compatible path and one thread.
test-portable: setup
	COURSE_CACHE=$$(mktemp -d) ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_CBWR=AVX2 $(PY) -m pytest --nbval
	COURSE_CACHE=$$(mktemp -d) ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE OMP_NUM_THREADS=1 $(PY) -m pytest --nbval

# Every solution notebook rendered in JupyterLab in headless Chromium (figures, audio players), and
# a student notebook's Run All (a one-line checker failure). Skipped without Debian's chromium.
browser-check: setup
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
	  $(PY) -c 'import playwright' 2>/dev/null || $(PY) -m pip install --quiet playwright; \
	  $(PY) tests/browser/check_notebooks.py; \
	else echo "browser-check skipped: no Chromium (apt-get install chromium)"; fi

course: setup
	$(PY) -m course_utils.exercises course --profile $(PROFILE) --device $(DEVICE)

notebooks: setup
	$(PY) -m course_utils.exercises build

bench: setup
	$(PY) -m benchmarks

clean-cache:
	rm -rf .cache build
