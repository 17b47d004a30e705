# make serve: create .venv, install, serve the demo fixtures on 127.0.0.1:8080
# make test:  install the test dependencies, run the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: serve test wsdl bench bench-scale clean

$(BIN)/mockserver: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q mockserver  # start fast even where bytecode is not written
	touch $@

$(VENV)/.test-deps: $(BIN)/mockserver pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# node-soap for the client compatibility suite, in a project-local node_modules.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the node-soap compatibility tests will skip"; fi

serve: $(BIN)/mockserver
	$(BIN)/mockserver serve --demo

test: $(VENV)/.test-deps node_modules/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

wsdl: $(BIN)/mockserver
	$(BIN)/mockserver wsdl wsdl/

bench: $(BIN)/mockserver
	$(BIN)/python bench/throughput.py

# The scale targets: a newsletter to 100 000 subscribers, an import of 100 000 rows.
bench-scale: $(BIN)/mockserver
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) node_modules mockserver.db mockserver.db-wal mockserver.db-shm
