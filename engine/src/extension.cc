#include "zworld/engine/extension.h"

#include <algorithm>

namespace zworld::engine {

namespace {

class PrefixTablePartitioner final : public TablePartitioner {
 public:
  explicit PrefixTablePartitioner(size_t prefix_len) : prefix_len_(prefix_len) {}
  bool ShouldCut(const Slice& prev_user_key, const Slice& user_key) const override {
    const Slice a(prev_user_key.data(), std::min(prefix_len_, prev_user_key.size()));
    const Slice b(user_key.data(), std::min(prefix_len_, user_key.size()));
    return a != b;
  }

 private:
  const size_t prefix_len_;
};

}  // namespace

std::shared_ptr<TablePartitioner> NewPrefixTablePartitioner(size_t prefix_len) {
  return std::make_shared<PrefixTablePartitioner>(prefix_len);
}

}  // namespace zworld::engine
