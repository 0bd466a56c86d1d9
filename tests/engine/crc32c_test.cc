// CRC32C: known vectors, hardware and portable paths agree, Extend composes, masking.
#include "crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "support/test_util.h"

namespace zworld::engine {
namespace {

uint32_t Both(const std::string& s) {
  uint32_t hw = crc32c::Value(s.data(), s.size());
  uint32_t portable = crc32c::ExtendPortable(0, s.data(), s.size());
  EXPECT_EQ(hw, portable) << "for " << s.size() << " bytes";
  return hw;
}

// Vectors from RFC 3720 (iSCSI), appendix B.4, and the usual "123456789" check value.
TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(0x8a9136aau, Both(std::string(32, '\0')));
  EXPECT_EQ(0x62a8ab43u, Both(std::string(32, '\xff')));
  std::string ascending(32, '\0'), descending(32, '\0');
  for (int i = 0; i < 32; i++) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(0x46dd794eu, Both(ascending));
  EXPECT_EQ(0x113fdb5cu, Both(descending));
  EXPECT_EQ(0xe3069283u, Both("123456789"));
  EXPECT_EQ(0u, Both(""));

  // An iSCSI SCSI Read (10) command PDU.
  const unsigned char pdu[48] = {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00,
                                 0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(0xd9963a56u, Both(std::string(reinterpret_cast<const char*>(pdu), sizeof(pdu))));
}

TEST(Crc32c, HardwareMatchesPortableOnRandomData) {
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  test::Random rnd(seed);
  std::string buf = rnd.Bytes(70000);
  for (int i = 0; i < 2000; i++) {
    // Random lengths and start offsets, so every alignment and tail length is exercised.
    size_t len = rnd.OneIn(10) ? rnd.Uniform(65536) : rnd.Uniform(100);
    size_t start = rnd.Uniform(buf.size() - len + 1);
    uint32_t init = rnd.OneIn(2) ? 0 : static_cast<uint32_t>(rnd.Next());
    ASSERT_EQ(crc32c::Extend(init, buf.data() + start, len),
              crc32c::ExtendPortable(init, buf.data() + start, len))
        << "len=" << len << " start=" << start << " init=" << init;
  }
  std::printf("hardware CRC32C %s\n", crc32c::HardwareAvailable() ? "available" : "not available");
}

TEST(Crc32c, ExtendComposes) {
  test::Random rnd(test::TestSeed());
  std::string s = rnd.Bytes(1000);
  uint32_t whole = crc32c::Value(s.data(), s.size());
  for (size_t cut : {0, 1, 7, 8, 9, 500, 999, 1000}) {
    uint32_t a = crc32c::Value(s.data(), cut);
    EXPECT_EQ(whole, crc32c::Extend(a, s.data() + cut, s.size() - cut)) << cut;
    EXPECT_EQ(whole, crc32c::ExtendPortable(a, s.data() + cut, s.size() - cut)) << cut;
  }
  EXPECT_NE(crc32c::Value("a", 1), crc32c::Value("foo", 3));
}

TEST(Crc32c, Mask) {
  uint32_t crc = crc32c::Value("foo", 3);
  EXPECT_NE(crc, crc32c::Mask(crc));
  EXPECT_NE(crc, crc32c::Mask(crc32c::Mask(crc)));
  EXPECT_EQ(crc, crc32c::Unmask(crc32c::Mask(crc)));
  EXPECT_EQ(crc, crc32c::Unmask(crc32c::Unmask(crc32c::Mask(crc32c::Mask(crc)))));
  for (uint32_t v : {0u, 1u, 0xffffffffu, 0x80000000u, 0x12345678u}) {
    EXPECT_EQ(v, crc32c::Unmask(crc32c::Mask(v)));
  }
}

}  // namespace
}  // namespace zworld::engine
