# Two commands do everything: `make demo` and `make test` (each creates its venv on first use);
# `make app` serves the shipped model (models/gain-photo) on an interactive page (http://127.0.0.1:7860).
#
# Two stacks (docs/stacks.md): python3.11 -> the reference (TensorFlow 2.15.1, .venv); else the
# newest of python3.13 and python3.12 -> the modern one (TensorFlow 2.21, tf-keras, .venv-3.1x).
# `make test PYTHON=python3.13` picks one; each stack's pins are in constraints/<stack>.txt.
SUPPORTED := python3.11 python3.13 python3.12
# The interpreter a name stands for: itself when it runs, else (a pyenv shim of a version that is
# installed but not selected) pyenv's own copy of it. Prints nothing when there is none.
resolve_python = $(shell c='$(1)'; \
  if "$$c" -c 'import sys' >/dev/null 2>&1; then "$$c" -c 'import sys; print(sys.executable)'; \
  elif command -v pyenv >/dev/null 2>&1; then \
    for v in $$(pyenv whence "$$c" 2>/dev/null); do \
      p="$$(pyenv root)/versions/$$v/bin/$$c"; [ -x "$$p" ] && "$$p" -c 'import sys' >/dev/null 2>&1 && x="$$p"; \
    done; [ -n "$$x" ] && echo "$$x"; fi)
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach c,$(SUPPORTED),$(call resolve_python,$(c))))
endif
PYTHON_EXE := $(if $(PYTHON),$(call resolve_python,$(PYTHON)))
PYTHON_VERSION := $(if $(PYTHON_EXE),$(shell $(PYTHON_EXE) -c 'import sys; print("%d.%d" % sys.version_info[:2])'))
STACK := $(if $(filter 3.11,$(PYTHON_VERSION)),reference,$(if $(filter 3.12 3.13,$(PYTHON_VERSION)),modern))
VENV ?= $(if $(filter 3.11,$(PYTHON_VERSION)),.venv,.venv-$(PYTHON_VERSION))
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= dev,app,onnx
DATA ?=
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONWARNINGS ?= ignore

.PHONY: demo test test-all bench venv clean app which-python

$(STAMP): setup.cfg setup.py $(if $(STACK),constraints/$(STACK).txt)
	$(if $(PYTHON_EXE),,$(error no supported Python found (looked for $(or $(PYTHON),$(SUPPORTED)); supported: 3.11, 3.12, 3.13): install one or run 'make PYTHON=/path/to/python3.x'))
	$(if $(STACK),,$(error $(PYTHON) is Python $(PYTHON_VERSION); supported: 3.11 (reference stack), 3.12 and 3.13 (modern stack)))
	@echo "make: Python $(PYTHON_VERSION) ($(PYTHON_EXE)), the $(STACK) stack, in $(VENV)"
	@test -x $(PY) || $(PYTHON_EXE) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints/$(STACK).txt -e '.[$(EXTRAS)]'
	@touch $(STAMP)

venv: $(STAMP)

which-python:
	@echo "$(or $(PYTHON_EXE),none) $(or $(PYTHON_VERSION),-) $(or $(STACK),unsupported) $(VENV)"

# Two pytest workers (whole files each): TensorFlow's tracing is single-threaded Python, so two
# processes keep both cores busy; TEST_JOBS=0 runs in one process. `make test` is the fast tier
# (every test not marked slow); `make test-all` adds the end-to-end tests marked slow.
TEST_JOBS ?= 2
PYTEST = $(PY) -m pytest -q $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadfile)
test: $(STAMP)
	$(PYTEST) -m "not slow"

test-all: $(STAMP)
	$(PYTEST)

demo: $(STAMP)
	$(PY) -m experiments.demo $(if $(DATA),--data=$(DATA),)

APP_MODEL ?= models/gain-photo
app: $(STAMP)
	@test -f $(APP_MODEL)/saved_model.pb || test -f $(APP_MODEL) || { echo "make app: no SavedModel folder, .tflite or .onnx file at $(APP_MODEL) (make app APP_MODEL=demo_out/saved_model serves make demo's)"; exit 1; }
	$(PY) -m experiments.app --saved_model=$(APP_MODEL) $(if $(PORT),--port=$(PORT),)

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf .venv .venv-3.* demo_out app_out *.egg-info
