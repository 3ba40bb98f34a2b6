# selectftp: `make run` builds everything and starts the server on its
# defaults; `make test` runs every test. Needs only Go (and, for `make proto`,
# Debian's protobuf-compiler).

GO       ?= go
PLUGINS  := put get helps upper ls stat rm mkdir mv sum cd pwd
BINARIES := bin/selectftpd bin/selectftp $(addprefix plugins.d/,$(PLUGINS))
TEST_TIMEOUT ?= 12m

.PHONY: all build run test vet fmt-check proto clean FORCE

all: build

build: $(BINARIES)

bin/%: FORCE
	$(GO) build -o $@ ./cmd/$*

# Plugins are built beside their final name and renamed into place, so a
# running server that rescans the folder never starts a half-written binary.
plugins.d/%: FORCE
	@mkdir -p plugins.d
	$(GO) build -o plugins.d/.$*.tmp ./plugins/$*/plugin
	@mv -f plugins.d/.$*.tmp $@

run: build
	./bin/selectftpd --listen 127.0.0.1:2121 --ftp-listen 127.0.0.1:2122 --root ./data --plugins ./plugins.d

test: build vet fmt-check
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

proto:
	./.ci/proto.sh

# make bench [BENCHFLAGS=--quick]: figures and targets on loopback and tmpfs
# (cmd/selectftp-bench); not part of make test.
.PHONY: bench
bench: build
	$(GO) build -o bin/selectftp-load ./cmd/selectftp-load
	$(GO) build -o bin/selectftp-bench ./cmd/selectftp-bench
	./bin/selectftp-bench --bin ./bin --plugins ./plugins.d $(BENCHFLAGS)

clean:
	rm -rf bin $(addprefix plugins.d/,$(PLUGINS))

FORCE:
