# mamori — build, test, demo. See README.md.
#
#   make            build build/mamori (optimised, with debug info)
#   make test       build with AddressSanitizer + UBSan, run unit,
#                   integration and short fuzz tests
#   make demo       build, create demo/ with a generated municipality, serve
#   make deps       install missing Debian packages (as root), or say how
#   make fuzz       run each fuzz harness for FUZZ_SECONDS (default 60)
#   make bench      run the benchmarks in bench/ (see BENCHMARKS.md)
#   DEVELOPER=0     drop -Werror (for building with a newer compiler)

B        ?= build
CC       ?= cc
PKGS     := sqlite3 libsodium libmicrohttpd jansson yaml-0.1 libqrencode libcrypto
DEB_PKGS := build-essential pkg-config libsqlite3-dev libsodium-dev \
            libmicrohttpd-dev libjansson-dev libyaml-dev libcmocka-dev \
            libqrencode-dev libssl-dev clang curl \
            chromium poppler-utils fonts-noto-cjk nodejs
DEVELOPER ?= 1

WARN     := -std=c11 -Wall -Wextra -Wvla -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-missing-field-initializers -Wformat=2 \
            -Wno-format-nonliteral
ifeq ($(DEVELOPER),1)
WARN     += -Werror
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
OPT      ?= -O2 -g
SANFLAGS ?=
CFLAGS_ALL = $(WARN) $(OPT) $(SANFLAGS) -D_GNU_SOURCE -Isrc -I$(B)/gen $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm

LIB_SRC  := $(filter-out src/cli/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(B)/obj/%.o)
MIGRATIONS := $(sort $(wildcard src/store/migrations/*.sql))
EMBED_TEXT := $(sort $(wildcard src/policy/*.yaml))
CONSOLE_FILES := $(sort $(wildcard console/*.html console/*.css console/*.js console/*.svg))
GEN_OBJ  := $(B)/obj/gen_migrations.o $(B)/obj/gen_embedded.o $(B)/obj/gen_assets.o
LIB      := $(B)/libmamori.a
BIN      := $(B)/mamori

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
INT_SRC  := $(sort $(wildcard tests/integration/test_*.c))
INT_BIN  := $(INT_SRC:tests/integration/%.c=$(B)/tests/integration/%)
INT_HARNESS := tests/integration/harness.c

.PHONY: all test check-deps deps demo fuzz fuzz-build bench clean tests-build format

all: check-deps $(BIN)

check-deps:
	@sh tools/deps.sh check

deps:
	@sh tools/deps.sh install $(DEB_PKGS)

$(B)/gen/migrations.c: $(MIGRATIONS) tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh migrations $@ $(MIGRATIONS)

$(B)/gen/embedded.c: $(EMBED_TEXT) tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh text $@ $(EMBED_TEXT)

$(B)/gen/assets.c: $(CONSOLE_FILES) tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh assets $@ $(CONSOLE_FILES)

$(B)/obj/gen_%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -c -o $@ $<

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ) $(GEN_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(B)/obj/cli/main.o $(LIB)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(B)/obj/cli/main.o: src/cli/main.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(B)/tests/unit/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -Itests -o $@ $< $(LIB) $(LDLIBS_ALL) -lcmocka

$(B)/tests/integration/%: tests/integration/%.c $(INT_HARNESS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -Itests -o $@ $< $(INT_HARNESS) $(LIB) $(LDLIBS_ALL) -lcmocka

# The console's end-to-end tests (tests/e2e, a real chromium through
# playwright-core) run as one more integration test program, a wrapper
# that tests/run.sh finds and counts like the others.
E2E_WRAPPER := $(B)/tests/integration/test_zz_console_e2e

tests-build: $(BIN) $(UNIT_BIN) $(INT_BIN) $(E2E_WRAPPER)

$(E2E_WRAPPER): tests/e2e/console.test.js tests/e2e/node_modules/.package-lock.json
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nexec node "%s/tests/e2e/console.test.js"\n' "$(CURDIR)" >$@
	chmod +x $@

tests/e2e/node_modules/.package-lock.json: tests/e2e/package.json tests/e2e/package-lock.json
	cd tests/e2e && npm ci --no-audit --no-fund

# `make test`: everything with ASan + UBSan in build/asan, then the short
# fuzz runs. Exits non-zero if anything fails.
test: check-deps
	$(MAKE) --no-print-directory B=build/asan OPT="-O1 -g" \
	  SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  tests-build
	MAMORI_BIN=$(CURDIR)/build/asan/mamori sh tests/run.sh build/asan
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-10}

FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 60

fuzz-build:
	$(MAKE) --no-print-directory B=build/fuzz CC=clang OPT="-O1 -g" \
	  SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
	  build/fuzz/libmamori.a $(FUZZ_BIN)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libmamori.a
	clang $(CFLAGS_ALL) -Wno-missing-prototypes -fsanitize=fuzzer -o $@ $< build/fuzz/libmamori.a $(LDLIBS_ALL)

fuzz: fuzz-build
	sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

demo: deps all
	sh tools/demo.sh

bench: all
	sh bench/run.sh

# The ledger's benchmark programs (BENCHMARKS.md, "Ledger"):
# build/bench/NAME from bench/NAME.c, and the SQLite peer, which uses the
# library only for argument parsing. `make bench-ledger` runs them
# (bench/ledger.sh); `make bench` runs them too, through bench/run.sh.
BENCH_LEDGER := $(B)/bench/bench_append $(B)/bench/bench_verify $(B)/bench/bench_proofs \
                $(B)/bench/bench_sha $(B)/bench/bench_checkpoint \
                $(B)/bench/sqlite_append

.PHONY: bench-build bench-ledger

bench-build: $(BENCH_LEDGER)

bench-ledger: all bench-build
	sh bench/ledger.sh

$(B)/bench/%: bench/%.c bench/events.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDLIBS_ALL)

$(B)/bench/sqlite_append: bench/peers/sqlite_append.c bench/events.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDLIBS_ALL)

format:
	clang-format -i $$(find src tests bench -name '*.[ch]')

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
