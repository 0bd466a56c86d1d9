// CRC32C (Castagnoli), the checksum of every WAL record, SSTable block and MANIFEST record.
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time) and a
// portable table-driven path otherwise; both give identical results.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zworld::engine::crc32c {

// The CRC32C of data[0, n) continued from init_crc (the CRC of the bytes before).
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }

// The portable path alone, for tests that compare both.
uint32_t ExtendPortable(uint32_t init_crc, const char* data, size_t n);
bool HardwareAvailable();

// Stored CRCs are masked so that a CRC of bytes that themselves contain CRCs is not weak
// (engine/FORMATS.md, "Checksums").
constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace zworld::engine::crc32c
