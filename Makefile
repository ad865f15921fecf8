# Entry points. `make demo` and `make test` work from a fresh clone: both run the set-up first.
.PHONY: setup demo test docs export outputs clean
VENV := .venv
B := $(VENV)/bin

setup:
	@bash tools/setup.sh

demo: setup
	$(B)/part_nb demo

test: setup
	bash tools/test.sh

docs: setup
	@bash tools/setup_docs.sh build
	$(B)/python tools/build_docs.py

export: setup
	$(B)/nbdev-export && $(B)/nbdev-clean

# Run notebooks (default: all) and save their outputs, as GitHub and the docs site show them: make outputs NB="nbs/03_mask.ipynb"
outputs: setup
	$(B)/python tools/nb_outputs.py run $(NB)
