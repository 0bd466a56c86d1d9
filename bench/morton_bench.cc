// Microbenchmarks of the Morton codec and the z-range planners (zorder/).
//
// Every case cycles through 4096 precomputed random inputs (they stay in L1) so the compiler
// cannot hoist the work out of the loop; results go through benchmark::DoNotOptimize.
// Cases whose name says BMI2 report an error instead of running on a CPU without BMI2.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "zworld/zorder/morton.h"
#include "zworld/zorder/planner.h"

namespace {

namespace zo = zworld::zorder;

constexpr size_t kInputs = 4096;  // a power of two
constexpr size_t kMask = kInputs - 1;

struct Inputs {
  std::vector<uint32_t> x, y, z;  // full-range 32-bit coordinates (3D uses the low 21 bits)
  std::vector<uint64_t> codes;    // random u64
};

const Inputs& RandomInputs() {
  static const Inputs inputs = [] {
    Inputs in;
    std::mt19937_64 rng(42);
    for (size_t i = 0; i < kInputs; ++i) {
      in.x.push_back(static_cast<uint32_t>(rng()));
      in.y.push_back(static_cast<uint32_t>(rng()));
      in.z.push_back(static_cast<uint32_t>(rng()));
      in.codes.push_back(rng());
    }
    return in;
  }();
  return inputs;
}

bool RequireBmi2(benchmark::State& state) {
  if (zo::CpuHasBmi2()) return true;
  state.SkipWithError("CPU has no BMI2");
  return false;
}

// ---- codec -----------------------------------------------------------------------------------

template <typename Fn>
void RunEncode2D(benchmark::State& state, Fn encode) {
  const Inputs& in = RandomInputs();
  size_t i = 0;
  for (auto _ : state) {
    uint64_t code = encode(in.x[i], in.y[i]);
    benchmark::DoNotOptimize(code);
    i = (i + 1) & kMask;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Encode2D_BMI2(benchmark::State& state) {
  if (RequireBmi2(state))
    RunEncode2D(state, [](uint32_t x, uint32_t y) { return zo::Encode2DBmi2(x, y); });
}
void BM_Encode2D_Portable(benchmark::State& state) {
  RunEncode2D(state, [](uint32_t x, uint32_t y) { return zo::Encode2DPortable(x, y); });
}
// The run-time dispatching entry point most callers use.
void BM_Encode2D(benchmark::State& state) {
  RunEncode2D(state, [](uint32_t x, uint32_t y) { return zo::Encode2D(x, y); });
}

template <typename Fn>
void RunDecode(benchmark::State& state, Fn decode) {
  const Inputs& in = RandomInputs();
  size_t i = 0;
  for (auto _ : state) {
    auto cell = decode(in.codes[i]);
    benchmark::DoNotOptimize(cell);
    i = (i + 1) & kMask;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Decode2D_BMI2(benchmark::State& state) {
  if (RequireBmi2(state)) RunDecode(state, [](uint64_t c) { return zo::Decode2DBmi2(c); });
}
void BM_Decode2D_Portable(benchmark::State& state) {
  RunDecode(state, [](uint64_t c) { return zo::Decode2DPortable(c); });
}

template <typename Fn>
void RunEncode3D(benchmark::State& state, Fn encode) {
  const Inputs& in = RandomInputs();
  size_t i = 0;
  for (auto _ : state) {
    uint64_t code = encode(in.x[i], in.y[i], in.z[i]);
    benchmark::DoNotOptimize(code);
    i = (i + 1) & kMask;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Encode3D_BMI2(benchmark::State& state) {
  if (RequireBmi2(state))
    RunEncode3D(state,
                [](uint32_t x, uint32_t y, uint32_t z) { return zo::Encode3DBmi2(x, y, z); });
}
void BM_Encode3D_Portable(benchmark::State& state) {
  RunEncode3D(state,
              [](uint32_t x, uint32_t y, uint32_t z) { return zo::Encode3DPortable(x, y, z); });
}
void BM_Decode3D_BMI2(benchmark::State& state) {
  if (RequireBmi2(state)) RunDecode(state, [](uint64_t c) { return zo::Decode3DBmi2(c); });
}

BENCHMARK(BM_Encode2D_BMI2);
BENCHMARK(BM_Encode2D_Portable);
BENCHMARK(BM_Encode2D);
BENCHMARK(BM_Decode2D_BMI2);
BENCHMARK(BM_Decode2D_Portable);
BENCHMARK(BM_Encode3D_BMI2);
BENCHMARK(BM_Encode3D_Portable);
BENCHMARK(BM_Decode3D_BMI2);

// ---- planners --------------------------------------------------------------------------------

// GW-1's area-of-interest box: 512 world units a side at 2^16 cells per unit.
constexpr uint64_t kGw1BoxSide = uint64_t{512} << 16;

// Random boxes of the given side on the full 2D grid.
std::vector<zo::Box2> RandomBoxes(uint64_t side, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<zo::Box2> boxes;
  const uint64_t span = (uint64_t{1} << 32) - side + 1;
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<uint32_t>(rng() % span), y = static_cast<uint32_t>(rng() % span);
    boxes.push_back(zo::Box2{
        {x, y}, {static_cast<uint32_t>(x + side - 1), static_cast<uint32_t>(y + side - 1)}});
  }
  return boxes;
}

// BIGMIN from a random code of the box's z-interval (almost always outside the box: the
// case a BIGMIN-skipping scan meets), GW-1-sized boxes.
void BM_Bigmin2D(benchmark::State& state) {
  const std::vector<zo::Box2> boxes = RandomBoxes(kGw1BoxSide, kInputs, 7);
  struct Query {
    uint64_t z, zmin, zmax;
  };
  std::vector<Query> queries;
  std::mt19937_64 rng(8);
  for (const zo::Box2& b : boxes) {
    const uint64_t zmin = b.ZMin(), zmax = b.ZMax();
    queries.push_back({zmin + rng() % (zmax - zmin), zmin, zmax});
  }
  size_t i = 0;
  for (auto _ : state) {
    const Query& q = queries[i];
    uint64_t next = 0;
    bool found = zo::Bigmin2D(q.z, q.zmin, q.zmax, &next);
    benchmark::DoNotOptimize(found);
    benchmark::DoNotOptimize(next);
    i = (i + 1) & kMask;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Bigmin2D);

void BM_Litmax2D(benchmark::State& state) {
  const std::vector<zo::Box2> boxes = RandomBoxes(kGw1BoxSide, kInputs, 9);
  std::vector<uint64_t> zs;
  std::mt19937_64 rng(10);
  for (const zo::Box2& b : boxes) zs.push_back(b.ZMin() + 1 + rng() % (b.ZMax() - b.ZMin()));
  size_t i = 0;
  for (auto _ : state) {
    uint64_t prev = 0;
    bool found = zo::Litmax2D(zs[i], boxes[i], &prev);
    benchmark::DoNotOptimize(found);
    benchmark::DoNotOptimize(prev);
    i = (i + 1) & kMask;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Litmax2D);

// Box -> at most kBudget z-ranges, for square boxes of side state.range(0) cells at random
// places of the full grid. Counters: ranges per box, and the codes those ranges span per
// cell of the box (1.0 = no code outside the box is read).
constexpr size_t kBudget = 64;

void BM_Decompose2D(benchmark::State& state) {
  const uint64_t side = static_cast<uint64_t>(state.range(0));
  const std::vector<zo::Box2> boxes = RandomBoxes(side, 256, 11);
  std::vector<zo::ZRange> ranges;
  size_t i = 0;
  double range_count = 0, span_per_cell = 0;
  for (auto _ : state) {
    zo::Decompose2D(boxes[i], kBudget, &ranges);
    benchmark::DoNotOptimize(ranges.data());
    range_count += static_cast<double>(ranges.size());
    double span = 0;
    for (const zo::ZRange& r : ranges) span += static_cast<double>(r.hi - r.lo) + 1;
    span_per_cell += span / (static_cast<double>(side) * static_cast<double>(side));
    i = (i + 1) & 255;
  }
  state.counters["ranges"] = benchmark::Counter(range_count, benchmark::Counter::kAvgIterations);
  state.counters["span_per_cell"] =
      benchmark::Counter(span_per_cell, benchmark::Counter::kAvgIterations);
  state.SetLabel("max_ranges=64");
}
BENCHMARK(BM_Decompose2D)->Arg(16)->Arg(256)->Arg(4096)->Arg(65536)->Arg(kGw1BoxSide);

}  // namespace

BENCHMARK_MAIN();
