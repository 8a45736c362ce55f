# Thin aliases; the real commands are `python3 dev.py run|test`.
.PHONY: run test lint schema
run:
	python3 dev.py run
test:
	python3 dev.py test
lint:
	python3 dev.py lint
schema:
	python3 dev.py schema
