#include "level_iterator.h"

namespace zworld::engine {

size_t FindFile(std::span<const FilePtr> files, const Slice& ikey) {
  size_t lo = 0, hi = files.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (CompareInternalKey(files[mid]->largest.Encode(), ikey) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

namespace {

// Concatenates the tables of one level >= 1 (sorted, disjoint), opening each only when
// reached. files must outlive the iterator.
class LevelIterator final : public Iterator {
 public:
  LevelIterator(TableCache* cache, const ReadOptions& options, std::span<const FilePtr> files)
      : cache_(cache), options_(options), files_(files), index_(files.size()) {}

  bool Valid() const override { return iter_ != nullptr && iter_->Valid(); }

  void Seek(const Slice& target) override {
    OpenFile(FindFile(files_, target));
    if (iter_ != nullptr) iter_->Seek(target);
    SkipEmptyForward();
  }
  void SeekToFirst() override {
    OpenFile(0);
    if (iter_ != nullptr) iter_->SeekToFirst();
    SkipEmptyForward();
  }
  void SeekToLast() override {
    OpenFile(files_.empty() ? 0 : files_.size() - 1);
    if (iter_ != nullptr) iter_->SeekToLast();
    SkipEmptyBackward();
  }
  void Next() override {
    iter_->Next();
    SkipEmptyForward();
  }
  void Prev() override {
    iter_->Prev();
    SkipEmptyBackward();
  }
  Slice key() const override { return iter_->key(); }
  Slice value() const override { return iter_->value(); }
  Status status() const override {
    if (!error_.ok()) return error_;
    return iter_ != nullptr ? iter_->status() : Status::OK();
  }

 private:
  // Makes iter_ an iterator over file i (none if i is past the end), keeping the first
  // error of the one it replaces.
  void OpenFile(size_t i) {
    if (iter_ != nullptr && error_.ok()) error_ = iter_->status();
    if (i >= files_.size()) {
      iter_.reset();
      index_ = files_.size();
      return;
    }
    if (i == index_ && iter_ != nullptr) return;
    index_ = i;
    iter_ = cache_->NewIterator(options_, files_[i]->number, files_[i]->file_size);
  }

  void SkipEmptyForward() {
    while (iter_ != nullptr && !iter_->Valid()) {
      if (!iter_->status().ok()) return;  // stop on the error: status() reports it
      if (index_ + 1 >= files_.size()) {
        OpenFile(files_.size());
        return;
      }
      OpenFile(index_ + 1);
      iter_->SeekToFirst();
    }
  }

  void SkipEmptyBackward() {
    while (iter_ != nullptr && !iter_->Valid()) {
      if (!iter_->status().ok()) return;
      if (index_ == 0 || index_ >= files_.size()) {
        OpenFile(files_.size());
        return;
      }
      OpenFile(index_ - 1);
      iter_->SeekToLast();
    }
  }

  TableCache* const cache_;
  const ReadOptions options_;
  const std::span<const FilePtr> files_;
  size_t index_;  // the file iter_ reads; files_.size() when none
  std::unique_ptr<Iterator> iter_;
  Status error_;
};

// Concatenates the scan sources of the tables of one level >= 1 that may hold keys in
// [start, limit), opening each table only when the scan reaches it (or peeks at its first
// block). A table's source starts before its first block (table.h), so moving to the next
// table is NextBlock (or SkipNextBlock) on a fresh source.
class LevelScanSource final : public ScanSource {
 public:
  LevelScanSource(TableCache* cache, const ReadOptions& options, std::span<const FilePtr> files)
      : cache_(cache), options_(options), files_(files) {}

  void Seek(const Slice& target_ikey) override {
    next_.reset();
    Open(FindFile(files_, target_ikey));
    if (source_ == nullptr) return;
    source_->Seek(target_ikey);
    if (source_->Entries().empty() && source_->status().ok()) NextBlock();
  }

  std::span<const RawEntry> Entries() const override {
    return source_ != nullptr ? source_->Entries() : std::span<const RawEntry>();
  }
  void Consume(size_t n) override { source_->Consume(n); }

  bool NextBlock() override {
    while (source_ != nullptr) {
      if (source_->NextBlock()) return true;
      if (!source_->status().ok()) return false;
      Advance();
    }
    return false;
  }

  bool PeekNextBlock(Slice* last_ikey, Slice* summary) const override {
    if (source_ == nullptr) return false;
    if (source_->PeekNextBlock(last_ikey, summary)) return true;
    // The current table has no next block: describe the first block of the next table.
    if (!source_->status().ok() || index_ + 1 >= files_.size()) return false;
    if (next_ == nullptr) {
      const FileMetaData* f = files_[index_ + 1].get();
      Status s = cache_->NewScanSource(options_, f->number, f->file_size, &next_);
      if (!s.ok()) {
        if (error_.ok()) error_ = s;
        return false;
      }
    }
    return next_->PeekNextBlock(last_ikey, summary);
  }

  void SkipNextBlock() override {
    Slice last_ikey, summary;
    if (!source_->PeekNextBlock(&last_ikey, &summary)) Advance();
    if (source_ != nullptr) source_->SkipNextBlock();
  }

  Status status() const override {
    if (!error_.ok()) return error_;
    return source_ != nullptr ? source_->status() : Status::OK();
  }
  uint64_t blocks_read() const override {
    return blocks_read_ + (source_ != nullptr ? source_->blocks_read() : 0);
  }
  uint64_t blocks_skipped() const override {
    return blocks_skipped_ + (source_ != nullptr ? source_->blocks_skipped() : 0);
  }

 private:
  // Closes the current table's source, keeping its counters and its error.
  void CloseCurrent() {
    if (source_ == nullptr) return;
    blocks_read_ += source_->blocks_read();
    blocks_skipped_ += source_->blocks_skipped();
    if (error_.ok()) error_ = source_->status();
    source_.reset();
  }

  // Opens table i's source (none past the end or after an error).
  void Open(size_t i) {
    CloseCurrent();
    index_ = i;
    if (i >= files_.size() || !error_.ok()) return;
    Status s = cache_->NewScanSource(options_, files_[i]->number, files_[i]->file_size, &source_);
    if (!s.ok()) error_ = s;
  }

  // Moves to the next table, positioned before its first block.
  void Advance() {
    if (next_ == nullptr) {
      Open(index_ + 1);
      return;
    }
    CloseCurrent();
    index_++;
    if (error_.ok()) source_ = std::move(next_);
    next_.reset();
  }

  TableCache* const cache_;
  const ReadOptions options_;
  const std::span<const FilePtr> files_;
  size_t index_ = 0;  // the table source_ reads
  std::unique_ptr<ScanSource> source_;
  mutable std::unique_ptr<ScanSource> next_;  // table index_ + 1, opened by a peek
  mutable Status error_;
  uint64_t blocks_read_ = 0;  // of tables already closed
  uint64_t blocks_skipped_ = 0;
};

}  // namespace

std::unique_ptr<Iterator> NewLevelIterator(TableCache* cache, const ReadOptions& options,
                                           std::span<const FilePtr> files) {
  return std::make_unique<LevelIterator>(cache, options, files);
}

std::unique_ptr<ScanSource> NewLevelScanSource(TableCache* cache, const ReadOptions& options,
                                               std::span<const FilePtr> files) {
  return std::make_unique<LevelScanSource>(cache, options, files);
}

}  // namespace zworld::engine
