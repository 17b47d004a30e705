# make serve: create .venv, install, serve the demo fixtures on 127.0.0.1:8080
# make test:  install the test dependencies, run the whole suite
# make test-fast: the fast part of the suite only (FAST_TESTS below)
# make dist:  an sdist and a wheel in dist/ (the wheel built from the sdist)
# make image: the container image mockserver:latest with podman (docs/container.md); where no
#             registry is reachable, on a base image `make image-base` builds with mmdebstrap
# make wsdl, make schema: rewrite wsdl/ and the fixtures' JSON Schema from what the code serves
#
# Another interpreter (Python 3.10 to 3.13) gets a venv of its own, named after its version:
#   make test PYTHON=python3.13          # in .venv-3.13
#   make test-fast PYTHON=python3.10     # in .venv-3.10
# VENV=DIR names the venv yourself; plain `make serve` and `make test` use .venv.
PYTHON ?= python3
ifeq ($(origin PYTHON),command line)
  PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' \
                      2>/dev/null)
  ifeq ($(PYTHON_VERSION),)
    $(error PYTHON=$(PYTHON) does not run)
  endif
  VENV ?= .venv-$(PYTHON_VERSION)
endif
VENV   ?= .venv
BIN    := $(VENV)/bin

# The fast part, one to two and a half minutes on two cores: the wire (both WSDLs, bad input to
# both dialects, a zeep round trip), the store (subscribers, Copernica profiles, fixtures,
# snapshots), the pytest plugin, and the interpreter checks (test_python_versions.py).
FAST_TESTS := tests/test_python_versions.py tests/test_smoke.py \
	tests/test_backclick_wsdl.py tests/test_copernica_wsdl.py \
	tests/test_backclick_bad_input.py tests/test_copernica_bad_input.py \
	tests/compat/test_zeep.py tests/test_backclick_subscribers.py \
	tests/test_copernica_profiles.py tests/test_fixtures.py tests/test_snapshots.py \
	tests/test_pytest_plugin.py

.PHONY: serve test test-fast dist image image-base wsdl schema bench bench-scale clean

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
	$(BIN)/lint-imports  # the layers of docs/architecture.md (pyproject.toml: tool.importlinter)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.test-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS) $(FAST_TESTS)

# `python -m build` builds the sdist, then the wheel from the unpacked sdist: a file missing
# from the sdist is missing from the wheel too. pip install dist/mockserver-*.whl installs it.
dist: $(BIN)/mockserver
	$(BIN)/python -c 'import build' 2>/dev/null || $(BIN)/python -m pip install --quiet 'build>=1.2'
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	@ls -l dist

# The container image. Docker users run `docker build -t mockserver:latest .` (FROM the
# official python:3.13-slim). These targets use podman: with BASE_IMAGE present (make
# image-base) it stands in for that FROM, so no registry is needed.
IMAGE      ?= mockserver:latest
BASE_IMAGE ?= localhost/mockserver-base:bookworm
PODMAN_BUILD := podman build --runtime runc --network host --format docker \
	--ulimit nofile=1024:1024 --ulimit nproc=4096:4096
# The CAs this machine adds to Debian's (a network that inspects TLS needs its own).
LOCAL_CAS := $(wildcard /usr/local/share/ca-certificates/*.crt)

image:
	if podman image exists $(BASE_IMAGE); then \
		$(PODMAN_BUILD) --from $(BASE_IMAGE) -t $(IMAGE) .; \
	else $(PODMAN_BUILD) -t $(IMAGE) .; fi

# Debian bookworm's Python 3.11 (python3, python3-venv) as a base image, from the Debian
# mirror alone; pip in it trusts the system CAs (PIP_CERT), this machine's added ones too.
image-base:
	podman image exists $(BASE_IMAGE) || { \
		mmdebstrap --variant=essential --include=python3,python3-venv,ca-certificates,passwd \
			--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
			--dpkgopt='path-exclude=/usr/share/doc/*' \
			--dpkgopt='path-exclude=/usr/share/man/*' \
			--dpkgopt='path-exclude=/usr/share/locale/*' \
			$(if $(LOCAL_CAS),--customize-hook='copy-in $(LOCAL_CAS) \
				/usr/local/share/ca-certificates' \
				--customize-hook='chroot "$$1" update-ca-certificates') \
			--customize-hook='rm -rf "$$1"/var/lib/apt/lists/* "$$1"/var/cache/apt/*' \
			bookworm - \
		| podman import --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
			--change 'CMD ["python3"]' - $(BASE_IMAGE); }

wsdl: $(BIN)/mockserver
	$(BIN)/mockserver wsdl wsdl/

# The fixture files' JSON Schema, next to the demo (its yaml-language-server comment names it);
# mockserver/demo/ links to both.
schema: $(BIN)/mockserver
	$(BIN)/mockserver schema > fixtures/mockserver-fixtures.schema.json

bench: $(BIN)/mockserver
	$(BIN)/python bench/throughput.py

# The scale targets: a newsletter to 100 000 subscribers, an import of 100 000 rows.
bench-scale: $(BIN)/mockserver
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) node_modules dist mockserver.db mockserver.db-wal mockserver.db-shm
