# carbon-client: `make run` streams this host to Carbon, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The example config, shipped in the package (`carbon-client config` prints it).
EXAMPLE_CONFIG := carbon_client/config/carbon-client.yaml
CONFIG ?= $(EXAMPLE_CONFIG)
# Debian packages the test suite drives for real (dstat to compare `top` with,
# graphite-web, carbon-c-relay, docker-compose and systemd-analyze for the
# stack tests; debootstrap, systemd-nspawn and dockerd for the .deb and the
# image, tests/deploy/).
TEST_DEBS := dstat graphite-web carbon-c-relay docker-compose systemd openssl procps faketime \
	debootstrap systemd-container docker.io
# Where `make deb` puts the package.
DEB_DIR ?= dist
BENCH_DEBS := collectd-core

.PHONY: run test venv test-venv system-deps bench docs install-service deb clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-stamp: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-stamp: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.run-stamp

venv: $(VENV)/.run-stamp
test-venv: $(VENV)/.test-stamp

run: venv
	$(BIN)/carbon-client run --config $(CONFIG)

# Installs the Debian packages the tests use when we may (root with apt-get);
# otherwise those tests skip and say which package is missing.
system-deps:
	@missing=""; for p in $(TEST_DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing >/dev/null; }; \
	else echo "not root: tests needing$$missing will skip"; fi

# As root, tests/deploy/ keeps a debootstrap'ed Debian tree and dockerd's images
# in /var/cache/carbon-client-tests (CARBON_CLIENT_TEST_CACHE), outside the
# clone: made by the first run, reused by the next ones.
test: test-venv system-deps
	$(BIN)/python -m pytest -q

bench: test-venv
	@dpkg -s $(BENCH_DEBS) >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(BENCH_DEBS) >/dev/null; } || true
	$(BIN)/python bench/run_all.py

docs: venv
	$(BIN)/python -m carbon_client.docs > docs/METRICS.md

# As root: the agent in its own venv under /opt/carbon-client (the unit's
# ExecStart), the hardened unit, and the example config unless one exists.
# WRITEBOOST=1 adds the dmsetup drop-in, PROCESSES=1 the one that lets process
# groups see every process. DESTDIR stages into a directory.
# See docs/OPERATIONS.md.
install-service:
	test -x $(DESTDIR)/opt/carbon-client/bin/python || $(PYTHON) -m venv $(DESTDIR)/opt/carbon-client
	$(DESTDIR)/opt/carbon-client/bin/pip install -q --upgrade .
	install -D -m 0644 deploy/systemd/carbon-client.service $(DESTDIR)/etc/systemd/system/carbon-client.service
	test -e $(DESTDIR)/etc/carbon-client/carbon-client.yaml || \
	  install -D -m 0644 $(EXAMPLE_CONFIG) $(DESTDIR)/etc/carbon-client/carbon-client.yaml
	if [ "$(WRITEBOOST)" = 1 ]; then install -D -m 0644 deploy/systemd/carbon-client.service.d/writeboost.conf \
	  $(DESTDIR)/etc/systemd/system/carbon-client.service.d/writeboost.conf; fi
	if [ "$(PROCESSES)" = 1 ]; then install -D -m 0644 deploy/systemd/carbon-client.service.d/processes.conf \
	  $(DESTDIR)/etc/systemd/system/carbon-client.service.d/processes.conf; fi
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload && \
	  echo "installed; start it with: systemctl enable --now carbon-client"; fi

# The Debian package (dpkg-deb; needs network access to the package index, as
# `pip install .` does): the agent under /opt/carbon-client on Debian's python3,
# the unit in /lib/systemd/system, the example config as a conffile.
# See deploy/debian/build.py and docs/OPERATIONS.md.
deb: venv
	$(BIN)/python deploy/debian/build.py --out $(DEB_DIR)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
