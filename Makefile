# vorn — every target sets itself up on a fresh machine (Rust toolchain + python3 only).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-stamp
CARGO ?= cargo

.PHONY: demo test test-rust test-py develop bench bench-quick bench-smoke fmt lint clean

demo:
	$(CARGO) run --release -q -p vorn-cli -- demo

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q "maturin>=1.5,<2" "numpy>=1.21" pytest "scikit-learn>=1.6,<1.10" pandas
	touch $(STAMP)

# Builds the extension (release) into the local venv.
develop: $(STAMP)
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH \
	  $(VENV)/bin/maturin develop --release -q -m crates/vorn-py/Cargo.toml

test-rust:
	$(CARGO) test --workspace --exclude vorn-py

test-py: develop
	$(VPY) -m pytest -q crates/vorn-py/tests

test: test-rust test-py bench-smoke

bench-smoke: develop
	@if [ -f bench/smoke.py ]; then $(VPY) bench/smoke.py; fi

bench:
	$(MAKE) -C bench all

bench-quick:
	$(MAKE) -C bench quick

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf $(VENV) target
