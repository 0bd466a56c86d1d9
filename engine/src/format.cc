#include "format.h"

#include <zstd.h>

#include <cstring>

#include "coding.h"
#include "crc32c.h"

namespace zworld::engine {

Status CorruptionAt(const std::string& file_name, uint64_t offset, const char* what) {
  std::string msg = file_name;
  msg.append(": ");
  msg.append(what);
  msg.append(" at offset ");
  msg.append(std::to_string(offset));
  return Status::Corruption(msg);
}

void BlockHandle::EncodeTo(std::string* dst) const {
  PutVarint64(dst, offset_);
  PutVarint64(dst, size_);
}

bool BlockHandle::DecodeFrom(Slice* input) {
  return GetVarint64(input, &offset_) && GetVarint64(input, &size_);
}

namespace {
constexpr size_t kFooterHandlesLength = 60;  // 3 * BlockHandle::kMaxEncodedLength
constexpr size_t kFooterChecksummedLength = kFooterHandlesLength + 4;
}  // namespace

void Footer::EncodeTo(std::string* dst) const {
  const size_t start = dst->size();
  filter.EncodeTo(dst);
  properties.EncodeTo(dst);
  index.EncodeTo(dst);
  dst->resize(start + kFooterHandlesLength, '\0');
  PutFixed32(dst, format_version);
  uint32_t crc = crc32c::Value(dst->data() + start, kFooterChecksummedLength);
  PutFixed32(dst, crc32c::Mask(crc));
  PutFixed64(dst, kTableMagicNumber);
}

Status Footer::DecodeFrom(const Slice& input, const std::string& file_name, uint64_t file_offset) {
  if (input.size() != kEncodedLength) {
    return CorruptionAt(file_name, file_offset, "truncated table footer");
  }
  const char* p = input.data();
  if (DecodeFixed64(p + kFooterChecksummedLength + 4) != kTableMagicNumber) {
    return CorruptionAt(file_name, file_offset + kFooterChecksummedLength + 4,
                        "bad table magic number (not an SSTable)");
  }
  uint32_t stored = crc32c::Unmask(DecodeFixed32(p + kFooterChecksummedLength));
  if (crc32c::Value(p, kFooterChecksummedLength) != stored) {
    return CorruptionAt(file_name, file_offset, "table footer checksum mismatch");
  }
  format_version = DecodeFixed32(p + kFooterHandlesLength);
  if (format_version != kTableFormatVersion) {
    return Status::NotSupported(
        file_name, "SSTable format version " + std::to_string(format_version) +
                       " (this build reads version " + std::to_string(kTableFormatVersion) + ")");
  }
  Slice handles(p, kFooterHandlesLength);
  if (!filter.DecodeFrom(&handles) || !properties.DecodeFrom(&handles) ||
      !index.DecodeFrom(&handles)) {
    return CorruptionAt(file_name, file_offset, "bad block handle in table footer");
  }
  return Status::OK();
}

namespace {

// One decompression context per thread: creating one costs far more than a small block.
struct ZstdDecompressor {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  ~ZstdDecompressor() { ZSTD_freeDCtx(ctx); }
};

Status Decompress(const std::string& file_name, uint64_t offset, const Slice& input,
                  BlockContents* result) {
  unsigned long long n = ZSTD_getFrameContentSize(input.data(), input.size());
  if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR ||
      n > kMaxUncompressedBlockSize) {
    return CorruptionAt(file_name, offset, "bad zstd frame header in block");
  }
  // At least one byte so that an empty block still owns a buffer.
  auto buf = std::make_unique<char[]>(n > 0 ? n : 1);
  thread_local ZstdDecompressor dctx;
  if (dctx.ctx == nullptr) return Status::IOError(file_name, "cannot create zstd context");
  size_t got = ZSTD_decompressDCtx(dctx.ctx, buf.get(), n, input.data(), input.size());
  if (ZSTD_isError(got) || got != n) {
    return CorruptionAt(file_name, offset, "zstd decompression failed for block");
  }
  result->data = Slice(buf.get(), n);
  result->heap = std::move(buf);
  return Status::OK();
}

}  // namespace

Status ReadBlock(const RandomAccessFile* file, const std::string& file_name,
                 const BlockHandle& handle, bool verify_checksum, BlockContents* result) {
  result->data = Slice();
  result->heap.reset();
  const uint64_t offset = handle.offset();
  if (handle.size() > kMaxStoredBlockSize) {
    return CorruptionAt(file_name, offset, "block handle with impossible size");
  }
  const size_t n = static_cast<size_t>(handle.size());
  const size_t total = n + kBlockTrailerSize;

  const bool mapped = file->IsMapped();
  std::unique_ptr<char[]> scratch;
  if (!mapped) scratch = std::make_unique<char[]>(total);
  Slice contents;
  Status s = file->Read(offset, total, &contents, scratch.get());
  if (!s.ok()) return s;
  if (contents.size() != total) {
    return CorruptionAt(file_name, offset, "truncated block read");
  }

  const char* data = contents.data();
  if (verify_checksum) {
    uint32_t stored = crc32c::Unmask(DecodeFixed32(data + n + 1));
    if (crc32c::Value(data, n + 1) != stored) {
      return CorruptionAt(file_name, offset, "block checksum mismatch");
    }
  }

  switch (static_cast<uint8_t>(data[n])) {
    case kBlockRaw:
      result->data = Slice(data, n);
      if (data == scratch.get()) {
        result->heap = std::move(scratch);
      }  // else: the file owns the bytes for its whole life (mapped)
      return Status::OK();
    case kBlockZstd:
      return Decompress(file_name, offset, Slice(data, n), result);
    default:
      return CorruptionAt(file_name, offset, "unknown block compression type");
  }
}

}  // namespace zworld::engine
