// The BIGMIN-skipping box scan shared by the key-value peers (RocksDB, LevelDB), over the
// keys and values of GW-1.md section 1.4.
#pragma once

#include <cstdint>
#include <vector>

#include "engine.h"
#include "workload.h"

namespace zworld::gw1 {

// Walks `it` (a RocksDB or LevelDB iterator; SliceT is its Slice type) over [zmin, zmax]:
// Seek to (zmin, 0), then for each key: stop past zmax; if the key's cell is inside the
// grid box, filter the exact float position from the value and Next(); otherwise Seek to
// (BIGMIN, 0). Appends matching ids to *ids and counts keys and seeks into *counters.
// Returns false if a key or value is malformed (the caller reports it); iterator errors
// are left in it->status() for the caller to check.
template <typename SliceT, typename IteratorT>
bool BigminScan(IteratorT* it, const AoiBox& box, std::vector<uint64_t>* ids,
                QueryCounters* counters) {
  uint8_t seek_key[kKeyBytes];
  EncodeKey(box.zmin, 0, seek_key);
  it->Seek(SliceT(reinterpret_cast<const char*>(seek_key), kKeyBytes));
  ++counters->seeks;
  while (it->Valid()) {
    const SliceT key = it->key();
    if (key.size() != kKeyBytes) return false;
    const auto* k = reinterpret_cast<const uint8_t*>(key.data());
    const uint64_t z = DecodeBigEndian64(k);
    if (z > box.zmax) break;
    ++counters->scanned;
    if (box.GridContains(z)) {
      const SliceT value = it->value();
      if (value.size() < 8) return false;
      float x, y;
      DecodeValueXY(reinterpret_cast<const uint8_t*>(value.data()), &x, &y);
      if (box.Contains(x, y)) ids->push_back(DecodeBigEndian64(k + 8));
      it->Next();
    } else {
      EncodeKey(Bigmin2d(z, box.zmin, box.zmax), 0, seek_key);
      it->Seek(SliceT(reinterpret_cast<const char*>(seek_key), kKeyBytes));
      ++counters->seeks;
    }
  }
  return true;
}

}  // namespace zworld::gw1
