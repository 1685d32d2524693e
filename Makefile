# The front door: meson does the building.  See README.md.
BUILD ?= build
PREFIX ?= /usr/local
MESON_FLAGS ?=

.PHONY: all deps setup check demo install bench fuzz clean sanitize

all: setup
	ninja -C $(BUILD)

deps:
	@sh tools/deps.sh

setup:
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) $(MESON_FLAGS) >/dev/null

check: deps
	@$(MAKE) --no-print-directory all
	meson test -C $(BUILD) --print-errorlogs --num-processes 2
	@$(MAKE) --no-print-directory sanitize
	@sh tools/summary.sh $(BUILD) build-asan build-tsan

# ASan+UBSan build of the suites that apply: unit, decoder smoke, codec and
# the comparison with go tool pprof (about 1.5 min more on 2 cores); a TSan
# build of just the programs that race threads against the lock-free stack
# table and the CPU profiler's start/stop, and the analyzer's two-thread
# paths and the command's two-thread gzip (tests/tsan, ~55 s).
sanitize:
	@test -f build-asan/build.ninja || meson setup build-asan -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null
	ninja -C build-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --suite unit --suite codec --suite compare --print-errorlogs \
		--num-processes 2
	@test -f build-tsan/build.ninja || meson setup build-tsan -Db_sanitize=thread \
		-Db_lundef=false >/dev/null
	ninja -C build-tsan tests/tsan/stacktab_race tests/tsan/cpu_startstop tests/tsan/analysis_threads \
		tests/tsan/fastgz_threads
	meson test -C build-tsan --no-rebuild --suite tsan --print-errorlogs

demo: deps
	@$(MAKE) --no-print-directory all
	@sh examples/demo.sh $(BUILD)

install: all
	meson configure $(BUILD) -Dprefix=$(PREFIX) >/dev/null
	meson install -C $(BUILD)

bench: deps
	@sh tools/deps.sh --bench
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh $(BUILD)

fuzz: deps
	@test -f build-fuzz/build.ninja || CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false >/dev/null
	ninja -C build-fuzz tests/fuzz/fuzz_decode tests/fuzz/fuzz_analysis
	sh tests/fuzz/run.sh build-fuzz $${FUZZ_SECONDS:-60} fuzz_decode
	sh tests/fuzz/run.sh build-fuzz $${FUZZ_SECONDS:-60} fuzz_analysis

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
