#include "table_builder.h"

#include <zstd.h>

#include <algorithm>
#include <utility>

#include "coding.h"
#include "crc32c.h"
#include "dbformat.h"
#include "zworld/engine/extension.h"

namespace zworld::engine {

TableBuilder::TableBuilder(const Options& options, WritableFile* file, std::string file_name)
    : options_(options),
      file_(file),
      file_name_(std::move(file_name)),
      data_block_(options.block_restart_interval, BlockKind::kData),
      // Restart interval 1: every index key is stored whole, so a reader can point at it.
      index_block_(1, BlockKind::kIndex) {
  if (options_.bloom_bits_per_key > 0) {
    bloom_ = std::make_unique<BloomBuilder>(options_.bloom_bits_per_key);
  }
  if (options_.table_collector != nullptr) {
    collector_ = options_.table_collector->NewCollector();
    props_.collector_name = options_.table_collector->Name();
  }
}

TableBuilder::~TableBuilder() {
  if (zstd_cctx_ != nullptr) ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_cctx_));
}

void TableBuilder::Add(const Slice& ikey, const Slice& value) {
  if (closed_ || !status_.ok()) return;
  ParsedInternalKey parsed;
  if (!ParseInternalKey(ikey, &parsed)) {
    status_ = Status::InvalidArgument(file_name_, "TableBuilder::Add: malformed internal key");
    return;
  }
  // One entry alone must fit a block (fixed32 offsets), with room for the restart array.
  if (ikey.size() + value.size() > kMaxStoredBlockSize / 2) {
    status_ = Status::InvalidArgument(file_name_, "TableBuilder::Add: entry too large");
    return;
  }
  if (props_.num_entries > 0 && CompareInternalKey(ikey, last_key_) <= 0) {
    status_ = Status::InvalidArgument(file_name_, "TableBuilder::Add: keys out of order");
    return;
  }

  if (props_.num_entries == 0) {
    if (bloom_ != nullptr && options_.table_partitioner != nullptr &&
        !options_.table_partitioner->WantsFilter(parsed.user_key)) {
      bloom_.reset();  // this table's keyspace gains nothing from a filter
    }
    props_.smallest_key.assign(ikey.data(), ikey.size());
    props_.min_sequence = props_.max_sequence = parsed.sequence;
  } else {
    props_.min_sequence = std::min(props_.min_sequence, parsed.sequence);
    props_.max_sequence = std::max(props_.max_sequence, parsed.sequence);
  }
  last_key_.assign(ikey.data(), ikey.size());
  props_.num_entries++;
  const bool is_deletion = parsed.type == kTypeDeletion;
  if (is_deletion) props_.num_deletions++;
  props_.raw_key_bytes += ikey.size();
  props_.raw_value_bytes += value.size();

  if (bloom_ != nullptr) bloom_->AddKey(parsed.user_key);
  if (collector_ != nullptr) collector_->Add(parsed.user_key, value, is_deletion);

  data_block_.Add(ikey, value);
  if (data_block_.CurrentSizeEstimate() >= options_.block_size) FlushDataBlock();
}

void TableBuilder::FlushDataBlock() {
  if (data_block_.empty() || !status_.ok()) return;
  BlockHandle handle;
  WriteBlock(data_block_.Finish(), /*may_compress=*/true, &handle);

  summary_.clear();
  if (collector_ != nullptr) collector_->FinishBlock(&summary_);
  index_value_.clear();
  handle.EncodeTo(&index_value_);
  PutLengthPrefixedSlice(&index_value_, summary_);
  index_block_.Add(data_block_.last_key(), index_value_);
  props_.num_data_blocks++;
  data_block_.Reset();
}

void TableBuilder::WriteBlock(const Slice& block, bool may_compress, BlockHandle* handle) {
  Slice stored = block;
  char trailer[kBlockTrailerSize];
  trailer[0] = static_cast<char>(kBlockRaw);
  if (may_compress && options_.compression == Compression::kZstd &&
      block.size() <= kMaxUncompressedBlockSize) {
    if (zstd_cctx_ == nullptr) zstd_cctx_ = ZSTD_createCCtx();
    auto* cctx = static_cast<ZSTD_CCtx*>(zstd_cctx_);
    if (cctx != nullptr) {
      compressed_.resize(ZSTD_compressBound(block.size()));
      size_t n = ZSTD_compressCCtx(cctx, compressed_.data(), compressed_.size(), block.data(),
                                   block.size(), options_.zstd_level);
      // Keep the compressed form only if it saves at least 1/8: raw blocks are read in
      // place from a mapped file, compressed ones cost a copy and a decompression.
      if (!ZSTD_isError(n) && n < block.size() - block.size() / 8) {
        compressed_.resize(n);
        stored = compressed_;
        trailer[0] = static_cast<char>(kBlockZstd);
      }
    }
  }
  handle->set_offset(offset_);
  handle->set_size(stored.size());
  uint32_t crc = crc32c::Value(stored.data(), stored.size());
  crc = crc32c::Extend(crc, trailer, 1);
  EncodeFixed32(trailer + 1, crc32c::Mask(crc));
  WriteRaw(stored);
  WriteRaw(Slice(trailer, kBlockTrailerSize));
}

void TableBuilder::WriteRaw(const Slice& data) {
  if (!status_.ok()) return;
  status_ = file_->Append(data);
  if (status_.ok()) offset_ += data.size();
}

void TableBuilder::WriteProperties(BlockHandle* handle) {
  auto number = [](uint64_t v) {
    std::string s;
    PutVarint64(&s, v);
    return s;
  };
  std::vector<std::pair<std::string, std::string>> fields = {
      {"zworld.collector.name", props_.collector_name},
      {"zworld.collector.summary", props_.collector_summary},
      {"zworld.largest_key", props_.largest_key},
      {"zworld.max_sequence", number(props_.max_sequence)},
      {"zworld.min_sequence", number(props_.min_sequence)},
      {"zworld.num_data_blocks", number(props_.num_data_blocks)},
      {"zworld.num_deletions", number(props_.num_deletions)},
      {"zworld.num_entries", number(props_.num_entries)},
      {"zworld.raw_key_bytes", number(props_.raw_key_bytes)},
      {"zworld.raw_value_bytes", number(props_.raw_value_bytes)},
      {"zworld.smallest_key", props_.smallest_key},
  };
  std::sort(fields.begin(), fields.end());
  BlockBuilder block(1, BlockKind::kProperties);
  for (const auto& [name, value] : fields) block.Add(name, value);
  WriteBlock(block.Finish(), /*may_compress=*/false, handle);
}

Status TableBuilder::Finish() {
  if (closed_) return status_;
  FlushDataBlock();
  closed_ = true;

  Footer footer;
  if (bloom_ != nullptr && status_.ok()) {
    const uint64_t misalign = offset_ % kFilterAlignment;
    if (misalign != 0) WriteRaw(std::string(kFilterAlignment - misalign, '\0'));
    std::string filter;
    bloom_->Finish(&filter);
    WriteBlock(filter, /*may_compress=*/false, &footer.filter);
  }
  if (collector_ != nullptr) collector_->FinishTable(&props_.collector_summary);
  props_.largest_key = last_key_;
  WriteProperties(&footer.properties);
  WriteBlock(index_block_.Finish(), /*may_compress=*/false, &footer.index);

  std::string tail;
  footer.EncodeTo(&tail);
  WriteRaw(tail);
  return status_;
}

void TableBuilder::Abandon() { closed_ = true; }

}  // namespace zworld::engine
