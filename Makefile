# zworld: thin wrappers over CMake. Every target first makes sure the Debian packages are there.
#   make demo    build and run the best end-to-end program there is
#   make test    Release build + AddressSanitizer/UBSan build, ctest on both, plus the
#                ThreadSanitizer run of the concurrency tests
#   make bench   build Release and run the benchmarks
#   make format  clang-format every C++ file we own

JOBS ?= 2
CMAKE ?= cmake
CTEST ?= ctest
BUILD ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
CTEST_FLAGS ?= --output-on-failure --timeout 900

.PHONY: all deps build build-asan build-tsan demo test test-release test-asan test-tsan bench format clean

all: build

deps:
	@bash scripts/install-deps

$(BUILD)/CMakeCache.txt: | deps
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

$(BUILD_ASAN)/CMakeCache.txt: | deps
	$(CMAKE) -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZWORLD_SANITIZE=ON -DZWORLD_BUILD_BENCH=OFF

$(BUILD_TSAN)/CMakeCache.txt: | deps
	$(CMAKE) -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZWORLD_TSAN=ON -DZWORLD_BUILD_BENCH=OFF

build: deps $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) -j$(JOBS)

build-asan: deps $(BUILD_ASAN)/CMakeCache.txt
	$(CMAKE) --build $(BUILD_ASAN) -j$(JOBS)

build-tsan: deps $(BUILD_TSAN)/CMakeCache.txt
	$(CMAKE) --build $(BUILD_TSAN) -j$(JOBS) --target engine_concurrency_test engine_memtable_test zorder_spatial_concurrency_test

test-release: build
	cd $(BUILD) && $(CTEST) $(CTEST_FLAGS) -j$(JOBS)

test-asan: build-asan
	cd $(BUILD_ASAN) && $(CTEST) $(CTEST_FLAGS) -j$(JOBS)

test-tsan: build-tsan
	cd $(BUILD_TSAN) && $(CTEST) $(CTEST_FLAGS) -L tsan

test: test-release test-asan test-tsan

# Until demo_game/ exists, the end-to-end program is the GW-1 game-world workload on the
# SpatialStore: 100,000 moving entities in an embedded data folder, box queries, moves.
demo: build
	@echo "demo: demo_game/ is not built yet; running the GW-1 world (100,000 entities) on zworld instead"
	$(BUILD)/bin/gw1 --n 100000 --q 10000 --engines zworld-bigmin,zworld-ranges --dir $(BUILD)/demo-data

# Full-size runs (several minutes each); figures and charts land in bench/results/.
bench: build
	@mkdir -p bench/results
	$(BUILD)/bin/db_bench --dir $(BUILD)/bench-data | tee bench/results/db_bench.txt
	$(BUILD)/bin/gw1 --dir $(BUILD)/gw1-data --csv bench/results/gw1.csv | tee bench/results/gw1.txt
	bench/plot-gw1 bench/results/gw1.csv bench/results

format:
	@git ls-files '*.cc' '*.h' | xargs -r clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN)
