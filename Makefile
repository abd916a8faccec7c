# Every target builds .venv from nothing on a fresh machine (python3 >= 3.10), then runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The suite waits on sockets and child processes, mostly: more workers than cores pay off.
PYTEST_WORKERS ?= 4

.PHONY: venv demo test lint typecheck docs clients mitmproxy test-matrix token-vectors bench fuzz load engines clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -U 'pip>=25.1'
	$(BIN)/pip install -q --disable-pip-version-check -e '.[conformance]' --group dev
	touch $(STAMP)

venv: $(STAMP)

## The embedded default: emulator + reference container on loopback, LiteLLM streaming through it.
demo: $(STAMP)
	$(BIN)/python examples/demo.py

## ruff, mypy --strict, the strict docs build and the whole pytest suite (offline, loopback only).
test: lint typecheck docs clients mitmproxy
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m 'not serial'
	$(BIN)/pytest -m serial

## mitmdump, the TLS-inspecting proxy of tests/integration/test_proxies.py, in .venv-mitmproxy/:
## mitmproxy pins cryptography and h11 below what LiteLLM's venv holds, so it cannot share it.
MITM_STAMP := .venv-mitmproxy/.installed
## Never fatal: without it those tests skip, saying so.
$(MITM_STAMP): pyproject.toml
	$(PY) -m venv .venv-mitmproxy \
	  && .venv-mitmproxy/bin/python -m pip install -q --disable-pip-version-check -U 'pip>=25.1' \
	  && .venv-mitmproxy/bin/pip install -q --disable-pip-version-check --group mitmproxy \
	  && touch $(MITM_STAMP) \
	  || echo "could not install mitmproxy: the TLS-inspecting proxy tests will skip"

mitmproxy: $(MITM_STAMP)

## The client matrix's pinned environments (Python; Node where node and npm are on PATH) in .clients/.
clients: $(STAMP)
	SAGEMAKER_OPENAI_CONFORMANCE_CACHE=$(CURDIR)/.clients $(BIN)/sagemaker-openai-conformance --install-clients

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## The docs site; --strict fails on a broken link or anchor, or a page missing from the nav.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

## The provider's tests on the oldest and the newest supported LiteLLM, one venv per end.
test-matrix:
	$(PY) .ci/matrix.py

## Benchmarks: ratios against baselines measured side by side in one process -> bench/results.json.
bench: $(STAMP)
	$(BIN)/python -m bench

## Property tests at full strength (CI runs the same tests with a small example count).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=10000 $(BIN)/pytest tests/fuzz -q -p no:cacheprovider

## 1,000 mixed requests at concurrency 50 through proxy, plugin, emulator and reference container.
load: $(STAMP)
	$(BIN)/python -m bench.load

## Real engines (transformers serve, llama-cpp-python, vLLM CPU) under the kit, recorded into tests/captures/
## and docs/kit/engines.md. Not part of CI: installs ~5 GB into .engines/, 20-40 min the first time.
## ENGINES="vllm" make engines runs a subset. The client matrix runs against each engine from .clients/.
engines: clients
	bash tests/engines/run.sh

## Regenerate tests/vectors/token_vectors.json with sagemaker-core in its own venv.
token-vectors:
	$(PY) tests/vectors/make_token_vectors.py

clean:
	rm -rf $(VENV) .clients .venv-vectors .venv-mitmproxy .venv-matrix site .mypy_cache .ruff_cache .pytest_cache .hypothesis
