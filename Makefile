# prevoir — common tasks. `make test` prepares a fresh Debian machine (packages, PostgreSQL)
# and runs the whole suite; `.ci/run` calls exactly that.

GO       ?= go
DATA     ?= testdata
HOME_DIR ?= ./prevoir-data
# A count, not a duration: a -fuzztime duration can fail at its deadline with "context deadline
# exceeded" and no crasher (a race in Go's fuzz coordinator, go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME ?= 100000x
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: all build run run-all serve test check vet fuzz fuzz-long bench docs clean

all: build

## build: the static binary in bin/prevoir (pure Go, no cgo)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/prevoir ./cmd/prevoir

## run: the main job on the real data in testdata/: ingest both sources, train the models, forecast,
## show the forecast. MODELS leaves out the Transformer, whose training with conformal
## intervals takes several minutes; MODELS= (empty) trains the production default, with it.
MODELS ?= snaive,ets+hol,linreg+hol,leadreg+hol,weekly,secondary,secondary_rea,ensemble,ensemble_mean,ensemble_lead,ensemble_lead_mean,rnn+cp,tcn+cp
run: build
	./bin/prevoir --home $(HOME_DIR) ingest --source-dir $(DATA)
	./bin/prevoir --home $(HOME_DIR) frame --format summary
	./bin/prevoir --home $(HOME_DIR) run train --source-dir $(DATA) $(if $(MODELS),--models $(MODELS))
	./bin/prevoir --home $(HOME_DIR) run forecast --source-dir $(DATA)

## run-all: the main job for every target (--target all), each with its default models, the
## networks included.
run-all: build
	./bin/prevoir --home $(HOME_DIR) ingest --source-dir $(DATA)
	./bin/prevoir --home $(HOME_DIR) run train --source-dir $(DATA) --target all
	./bin/prevoir --home $(HOME_DIR) run forecast --source-dir $(DATA) --target all

## serve: the dashboard and the API on http://127.0.0.1:8080/ (after make run)
serve: build
	./bin/prevoir --home $(HOME_DIR) serve --source-dir $(DATA)

## test: install what the tests need, start PostgreSQL, then vet, test and fuzz briefly
test:
	eval "$$(bash scripts/setup-test-env.sh)" && $(MAKE) --no-print-directory check

## check: vet + short fuzzing + the test suite (expects PREVOIR_TEST_POSTGRES, see `make test`)
check: vet
	$(MAKE) --no-print-directory fuzz
	$(GO) test -count=1 -timeout 20m ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

## fuzz: a short run of every fuzz target (FUZZTIME executions each)
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParseSIDEP$$' -fuzztime=$(FUZZTIME) ./csvsource
	$(GO) test -run='^$$' -fuzz='^FuzzParseIndicators$$' -fuzztime=$(FUZZTIME) ./csvsource
	$(GO) test -run='^$$' -fuzz='^FuzzPlausibilitySIDEP$$' -fuzztime=$(FUZZTIME) ./csvsource
	$(GO) test -run='^$$' -fuzz='^FuzzPlausibilityIndicators$$' -fuzztime=$(FUZZTIME) ./csvsource
	$(GO) test -run='^$$' -fuzz='^FuzzParseDate$$' -fuzztime=$(FUZZTIME) .

## fuzz-long: the same targets for ten minutes each (outside CI)
fuzz-long:
	$(MAKE) fuzz FUZZTIME=10m

## bench: the Go benchmarks (outside the test suite)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

## docs: regenerate docs/configuration.md from the command definitions
docs:
	PREVOIR_UPDATE_DOCS=1 $(GO) test -count=1 -run TestConfigurationDocIsCurrent ./cmd/prevoir

clean:
	rm -rf bin
