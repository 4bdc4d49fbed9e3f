# vorn — every target sets itself up on a fresh machine (Rust toolchain + python3 only).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-stamp
CARGO ?= cargo

.PHONY: demo test test-rust test-py test-avx2-cpu develop bench bench-quick bench-smoke fmt lint clean

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

# The core's tests on an emulated CPU without AVX-512 (qemu-user, AMD EPYC-Milan = Zen 3: AVX2 +
# FMA): the runtime dispatch must pick the AVX2 kernels there and never reach an AVX-512
# instruction (which would kill the process with SIGILL). Correctness only, not speed (TCG
# emulation, ~6 min; subprocesses the tests start run natively); for sessions on AVX-512
# machines. Not part of `make test`. Installs qemu-user with apt-get when missing (root).
QEMU_CPU ?= EPYC-Milan
test-avx2-cpu:
	@command -v qemu-x86_64 >/dev/null || { apt-get update -qq && apt-get install -y -qq qemu-user; }
	$(CARGO) build --release -q -p vorn-cli
	qemu-x86_64 -cpu $(QEMU_CPU) target/release/vorn demo 2>/dev/null | tee /dev/stderr | grep -q "SIMD avx2"
	CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="qemu-x86_64 -cpu $(QEMU_CPU)" \
	  $(CARGO) test --release -p vorn 2>&1 | grep -v "TCG doesn't support"; exit $${PIPESTATUS[0]}
	$(MAKE) develop
	qemu-x86_64 -cpu $(QEMU_CPU) $(VPY) -m pytest -q -p no:cacheprovider crates/vorn-py/tests 2>&1 \
	  | grep -v "TCG doesn't support"; exit $${PIPESTATUS[0]}

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
