// Run-time choice between the BMI2 and portable Morton paths (see morton.h).
#include "zworld/zorder/morton.h"

namespace zworld::zorder {

namespace {

bool DetectBmi2() {
#if ZWORLD_ZORDER_X86
  // May run from a static initializer, before libgcc has filled in its CPU model.
  __builtin_cpu_init();
  return __builtin_cpu_supports("bmi2");
#else
  return false;
#endif
}

}  // namespace

bool CpuHasBmi2() {
  static const bool has_bmi2 = DetectBmi2();
  return has_bmi2;
}

namespace internal {
const bool use_bmi2 = CpuHasBmi2();
}  // namespace internal

}  // namespace zworld::zorder
