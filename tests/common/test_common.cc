#include "common/test_common.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>

namespace zworld::test {

namespace {

// "Suite.Test" (parameterised names included) or "notest" outside a test.
std::string CurrentTestName() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return "notest";
  return std::string(info->test_suite_name()) + "." + info->name();
}

// The test name reduced to characters safe in a file name.
std::string FileTag() {
  std::string tag = CurrentTestName();
  for (char& c : tag) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  if (tag.size() > 80) tag.resize(80);
  return tag;
}

uint64_t SplitMix64(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string_view kPrintable = "abcdefghijklmnopqrstuvwxyz0123456789";

}  // namespace

std::string TestTmpRoot() {
  const char* root = std::getenv("ZWORLD_TEST_TMPDIR");
  if (root != nullptr && root[0] != '\0') return root;
  return "/tmp";
}

TempDir::TempDir() {
  std::string root = TestTmpRoot();
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  std::string templ = root + std::string("/") + FileTag() + ".XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    std::fprintf(stderr, "TempDir: cannot create %s: %s\n", templ.c_str(), std::strerror(errno));
    std::abort();
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string UniqueMemPath() {
  static std::atomic<uint64_t> counter{0};
  return std::string("/mem/") + FileTag() + std::string("-") + std::to_string(counter.fetch_add(1));
}

uint64_t TestSeed() {
  uint64_t seed;
  const char* env = std::getenv("ZWORLD_TEST_SEED");
  if (env != nullptr && env[0] != '\0') {
    seed = std::strtoull(env, nullptr, 0);
  } else {
    uint64_t x =
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (static_cast<uint64_t>(getpid()) << 32) ^ std::hash<std::string>()(CurrentTestName());
    seed = SplitMix64(&x) % 1000000000000ull;  // short enough to copy by hand
  }
  std::fprintf(stderr, "[seed] %s: ZWORLD_TEST_SEED=%llu\n", CurrentTestName().c_str(),
               static_cast<unsigned long long>(seed));
  return seed;
}

std::string SeedTrace(uint64_t seed) {
  return std::string("seed=") + std::to_string(seed) + std::string(" (replay: ZWORLD_TEST_SEED=") +
         std::to_string(seed) + std::string(" <test binary> --gtest_filter=") + CurrentTestName() +
         ")";
}

bool UnderSanitizer() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#else
  return false;
#endif
}

Random::Random(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& s : s_) s = SplitMix64(&x);
}

uint64_t Random::Next() {
  auto rotl = [](uint64_t v, int k) { return (v << k) | (v >> (64 - k)); };
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t Random::Uniform(uint64_t n) { return Next() % n; }

uint64_t Random::Skewed(int max_log) {
  int k = static_cast<int>(Uniform(static_cast<uint64_t>(max_log) + 1));
  return k == 0 ? 0 : Uniform(uint64_t{1} << k);
}

std::string Random::Bytes(size_t len) {
  std::string s(len, '\0');
  for (char& c : s) c = static_cast<char>(Next() & 0xff);
  return s;
}

std::string Random::Printable(size_t len) {
  std::string s(len, '\0');
  for (char& c : s) c = kPrintable[Uniform(kPrintable.size())];
  return s;
}

double Random::Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

double Random::Gaussian() {
  double sum = 0.0;
  for (int i = 0; i < 6; i++) sum += Unit();
  return (sum - 3.0) * std::sqrt(2.0);  // the variance of 6 uniforms is 1/2
}

std::vector<std::pair<std::string, std::string>> TableKeyRanges(const std::string& sstables) {
  std::vector<std::pair<std::string, std::string>> ranges;
  for (size_t pos = 0; pos < sstables.size();) {
    const size_t end = std::min(sstables.find('\n', pos), sstables.size());
    const std::string line = sstables.substr(pos, end - pos);
    pos = end + 1;
    const size_t lo = line.find('['), mid = line.find(" .. "), hi = line.rfind(']');
    if (lo == std::string::npos || mid == std::string::npos || hi == std::string::npos) continue;
    ranges.emplace_back(line.substr(lo + 1, mid - lo - 1), line.substr(mid + 4, hi - mid - 4));
  }
  return ranges;
}

}  // namespace zworld::test
