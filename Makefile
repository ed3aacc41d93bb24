# The Odoo series to run and test against: 18.0 (default) or 19.0 (make test ODOO_SERIES=19.0).
ODOO_SERIES ?= 18.0
export ODOO_SERIES

.PHONY: run replica replica-stop replica-clean test property stress lint bench bench-scale tax load screenshots i18n readme wheel wheel-test clean

run:  ## Odoo with crm_plus and demo data on http://localhost:8069
	@bash tools/run.sh

replica:  ## a PostgreSQL streaming replica on 127.0.0.1:5433, then Odoo sending its reads to it
	@bash tools/replica.sh

replica-stop:  ## stop the replica (the primary then no longer waits for it)
	@bash tools/replica.sh stop

replica-clean:  ## stop the replica and remove its data directory
	@bash tools/replica.sh clean

test:  ## Odoo's runner, the live-server suites, the wheel, lint (on ODOO_SERIES)
	@bash tools/test.sh

# The number of examples (and steps of each) of the long run of the property test.
PROPERTY_EXAMPLES ?= 500
PROPERTY_STEPS ?= 30

property:  ## the stateful property test (Hypothesis) run long: PROPERTY_EXAMPLES random examples
	@CRM_PLUS_HYPOTHESIS_EXAMPLES=$(PROPERTY_EXAMPLES) CRM_PLUS_HYPOTHESIS_STEPS=$(PROPERTY_STEPS) \
		TEST_TAGS=/crm_plus:TestFunnelProperties bash tools/test.sh

stress:  ## long soak outside make test: concurrency, bad input, life cycle on 10,000 contacts
	@bash tools/stress.sh

lint:
	@bash tools/lint.sh

bench:  ## crm_plus vs Odoo CRM vs plain SQL on BENCH_N (10,000) partners → doc/benchmarks.md
	@bash tools/bench.sh $(BENCH_ARGS)

bench-scale:  ## one contact's actions, reports and cron at 10k/100k/1M contacts vs Odoo CRM (SCALE_MAX)
	@bash tools/bench_scale.sh

# The contacts of make tax's two databases (without and with crm_plus).
TAX_N ?= 10000
export TAX_N

tax:  ## the cost to the rest of Odoo: phone writes (ORM, SQL) and -i account without/with crm_plus
	@bash tools/tax.sh

load:  ## sales users on 2 odoo-bin servers (OdooLocust), crm_plus vs Odoo CRM, LOAD_N (100,000) contacts, jobs checked run once
	@bash tools/load.sh

i18n:  ## export i18n/crm_plus.pot, merge it into the .po files, report what is untranslated
	@bash tools/i18n.sh $(I18N_ARGS)

screenshots:  ## doc/img/*.png for the README: sample data, headless Chromium (tools/screenshots.py)
	@bash tools/screenshots.sh

readme:  ## README.md and static/description/index.html from readme/ (README_ARGS=--check: only check)
	@bash tools/readme.sh $(README_ARGS)

wheel:  ## odoo_addon_crm_plus-*.whl into .build/dist (whool, as the OCA publishes addons)
	@bash tools/build_wheel.sh

wheel-test:  ## the wheel installs in a clean virtualenv and Odoo installs crm_plus from it
	@bash tools/test_wheel.sh

clean:
	rm -rf .build
