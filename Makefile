# Akosha build.  `make` builds build/akosha; `make check` runs every test
# (also under ASan+UBSan); `make demo` runs the embedded default end to end;
# `make bench` measures.  See README.md.

CC      ?= cc
SAN     ?= 0
PKGS    := sqlite3 zlib libzstd liblz4 libcrypto libcurl libmicrohttpd

ifeq ($(SAN),1)
  BUILD   ?= build-san
  CC      := clang
  OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined
  # libstdc++ loaded from the start: ASan intercepts __cxa_throw and must
  # find the real one when DuckDB (C++, dlopen'ed at run time) throws.
  LDSAN   := -fsanitize=address,undefined -Wl,--no-as-needed -lstdc++ -Wl,--as-needed
else
  BUILD   ?= build
  OPT     ?= -O2 -g
  LDSAN   :=
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
           -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
           -pthread -Isrc $(OPT) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS += -pthread $(LDSAN) $(EXTRA_LDFLAGS)
LDLIBS  += $(PKG_LIBS) -lm

LIB_SRC  := $(shell find src -name '*.c' ! -name main.c | sort)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

.PHONY: all deps check test test-unit test-integration fuzz-smoke fuzz \
        check-san bench bench-index demo clean tools analyze dead-exports

all: $(BUILD)/akosha
ifeq ($(PKG_LIBS),)
	@scripts/deps.sh build
endif

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libakosha.a: $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/akosha: $(BUILD)/obj/src/main.o $(BUILD)/libakosha.a
	@echo "  LD  $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libakosha.a tests/unit/test.h $(wildcard tests/tools/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libakosha.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libakosha.a
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libakosha.a $(LDFLAGS) $(LDLIBS)

# Test-only programs the integration tests drive (built on demand by them).
$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libakosha.a $(wildcard tests/tools/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libakosha.a $(LDFLAGS) $(LDLIBS)

tools: $(TOOL_BIN)

deps:
	@scripts/deps.sh

# The README's test command.  Everything, plain and under sanitizers.
check: deps check-layers
	@echo "== build and test (gcc)"
	@$(MAKE) --no-print-directory test
	@echo "== build with clang (warnings are errors)"
	@$(MAKE) --no-print-directory BUILD=build-clang CC=clang all
	@echo "== clang static analyzer (any finding fails)"
	@$(MAKE) --no-print-directory analyze
	@echo "== exported functions nothing calls"
	@$(MAKE) --no-print-directory dead-exports
	@echo "== fuzz the parsers (short run)"
	@$(MAKE) --no-print-directory fuzz-smoke
	@echo "== test under AddressSanitizer + UndefinedBehaviorSanitizer"
	@$(MAKE) --no-print-directory SAN=1 test

# Folders under src/ include each other in layers, never in a cycle, and
# no file passes 800 lines without a reason at its top.
check-layers:
	@scripts/check-layers.py

test: test-unit test-integration

test-unit: $(UNIT_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)

test-integration: $(BUILD)/akosha
	@AKOSHA_BIN=$(abspath $(BUILD)/akosha) AKOSHA_SANITIZED=$(SAN) scripts/run-integration.sh

fuzz-smoke:
	@scripts/fuzz.sh smoke

# The clang static analyzer over the library and the binary, in its own
# build directory; any finding fails (report in build-analyze/report).
analyze:
	@rm -rf build-analyze
	@scan-build -o build-analyze/report --status-bugs --use-cc=clang \
	  $(MAKE) --no-print-directory BUILD=build-analyze all

dead-exports: $(BUILD)/akosha
	@BUILD=$(BUILD) scripts/dead-exports.sh

fuzz:
	@scripts/fuzz.sh long

# deps first, then a fresh make: pkg-config flags are read when make starts,
# so they must be read after the packages are installed.
# The vector index beside USearch and hnswlib (bench/index_bench.sh; slow,
# not part of `make bench`).
bench-index: $(BUILD)/bench/index_bench $(BUILD)/akosha
	@BUILD=$(abspath $(BUILD)) bench/index_bench.sh
	@AKOSHA=$(abspath $(BUILD)/akosha) bench/start_bench.sh

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/akosha $(BENCH_BIN)
	@AKOSHA_BIN=$(abspath $(BUILD)/akosha) bench/run.sh

demo:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory $(BUILD)/akosha
	@AKOSHA_BIN=$(abspath $(BUILD)/akosha) scripts/demo.sh

clean:
	rm -rf build build-san build-clang build-fuzz build-analyze

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/src/main.d
