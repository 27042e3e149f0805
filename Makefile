# Two commands do everything: `make demo` and `make test` (each creates .venv on first use);
# `make app` serves the shipped model (models/gain-photo) on an interactive page (http://127.0.0.1:7860).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?=
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONWARNINGS ?= ignore

.PHONY: demo test bench venv clean app

$(STAMP): setup.cfg setup.py
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; install Python 3.11 (e.g. 'pyenv install 3.11' or 'apt-get install python3.11 python3.11-venv') or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,app,onnx]'
	@touch $(STAMP)

venv: $(STAMP)

# Two pytest workers (whole files each): TensorFlow's tracing is single-threaded Python, so two
# processes keep both cores busy; TEST_JOBS=0 runs in one process.
TEST_JOBS ?= 2
test: $(STAMP)
	$(PY) -m pytest -q $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadfile)

demo: $(STAMP)
	$(PY) -m experiments.demo $(if $(DATA),--data=$(DATA),)

APP_MODEL ?= models/gain-photo
app: $(STAMP)
	@test -f $(APP_MODEL)/saved_model.pb || { echo "make app: no SavedModel at $(APP_MODEL) (make app APP_MODEL=demo_out/saved_model serves make demo's)"; exit 1; }
	$(PY) -m experiments.app --saved_model=$(APP_MODEL) $(if $(PORT),--port=$(PORT),)

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) demo_out app_out *.egg-info
