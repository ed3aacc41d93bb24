.PHONY: run test lint bench screenshots clean

run:  ## Odoo with crm_plus and demo data on http://localhost:8069
	@bash tools/run.sh

test:  ## everything CI checks: install, pytest-odoo, lint
	@bash tools/test.sh

lint:
	@bash tools/lint.sh

clean:
	rm -rf .build
