// Constants of the write-ahead log format (engine/FORMATS.md, "WAL"). The WAL is a sequence
// of 32 KiB blocks; each block holds record fragments, each with a 7-byte header:
//
//   masked crc32c (fixed32) | payload length (fixed16) | fragment type (u8) | payload
//
// The CRC covers the type byte and the payload. A record that does not fit in the rest of a
// block is split into a kFirst, zero or more kMiddle and a kLast fragment. When fewer than
// kHeaderSize bytes remain in a block they are written as zeros and skipped by readers.
#pragma once

#include <cstdint>

namespace zworld::engine::log {

enum RecordType : uint8_t {
  // Never written; zero-filled (preallocated) space reads as this type.
  kZeroType = 0,
  kFullType = 1,
  kFirstType = 2,
  kMiddleType = 3,
  kLastType = 4,
};
constexpr uint8_t kMaxRecordType = kLastType;

constexpr int kBlockSize = 32768;
// crc32c (masked, 4 bytes) + length (2 bytes) + type (1 byte).
constexpr int kHeaderSize = 4 + 2 + 1;

}  // namespace zworld::engine::log
