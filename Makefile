# Entry points. `make demo` and `make test` work from a fresh clone: both run the set-up first.
.PHONY: setup demo test test-all docs export outputs clean
VENV := .venv
B := $(VENV)/bin

setup:
	@bash tools/setup.sh

demo: setup
	$(B)/part_nb demo

# the fast suite (notebooks at test size, pytest without the slow tests); CI runs it
test: setup
	bash tools/test.sh

# everything: notebooks at full size with their slow cells, every test; run it before landing a change to them
test-all: setup
	bash tools/test.sh --all

docs: setup
	@bash tools/setup_docs.sh build
	$(B)/python tools/build_docs.py

export: setup
	$(B)/nbdev-export && $(B)/nbdev-clean

# Run notebooks (default: all) and save their outputs, as GitHub and the docs site show them: make outputs NB="nbs/03_mask.ipynb"
outputs: setup
	$(B)/python tools/nb_outputs.py run $(NB)
