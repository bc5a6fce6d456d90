# Thin wrapper over Meson: the README's two commands are `make demo` and `make test`.
BUILD      ?= build
ASAN_BUILD ?= build-asan
PYTEST     ?= /usr/bin/python3 -m pytest
MESON_OPTS ?=
ifeq ($(CI),true)
MESON_OPTS += -Dwerror=true
endif

.PHONY: all deps build unit asan integration test demo fuzz bench clean

all: build

deps:
	@scripts/install-deps.sh build test clients storage images

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) $(MESON_OPTS)
	@ninja -C $(BUILD)

unit: build
	meson test -C $(BUILD) --print-errorlogs

# The unit tests again under AddressSanitizer + UBSan.
asan: deps
	@test -f $(ASAN_BUILD)/build.ninja || meson setup $(ASAN_BUILD) $(MESON_OPTS) -Db_sanitize=address,undefined -Db_lundef=false
	@ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 meson test -C $(ASAN_BUILD) --print-errorlogs

integration: build
	PLX_BINARY=$(CURDIR)/$(BUILD)/src/cli/proxmox-lxcri $(PYTEST) -v -p no:cacheprovider tests/integration

test: unit asan integration

demo: build
	@scripts/demo.sh $(CURDIR)/$(BUILD)/src/cli/proxmox-lxcri

fuzz:
	@scripts/install-deps.sh build fuzz
	fuzz/run.sh $(or $(SECONDS),600)

bench: build
	@scripts/install-deps.sh bench
	/usr/bin/python3 bench/bench.py --binary $(CURDIR)/$(BUILD)/src/cli/proxmox-lxcri

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
