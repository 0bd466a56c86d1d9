#include "db_iter.h"

#include <cassert>
#include <string>

namespace zworld::engine {

namespace {

// Invariants:
//  - kForward: inner_ sits at the newest visible entry of key(); value() is inner_'s value.
//  - kReverse: inner_ sits before every entry of key() (at a smaller user key, or invalid);
//    key() and value() are copies held in saved_key_ and saved_value_.
class DBIter final : public Iterator {
 public:
  DBIter(std::unique_ptr<Iterator> inner, SequenceNumber sequence, std::function<void()> cleanup)
      : inner_(std::move(inner)), sequence_(sequence), cleanup_(std::move(cleanup)) {}

  ~DBIter() override {
    inner_.reset();
    if (cleanup_) cleanup_();
  }

  bool Valid() const override { return valid_; }

  Slice key() const override {
    assert(valid_);
    return direction_ == kForward ? ExtractUserKey(inner_->key()) : Slice(saved_key_);
  }
  Slice value() const override {
    assert(valid_);
    return direction_ == kForward ? inner_->value() : Slice(saved_value_);
  }
  Status status() const override { return status_.ok() ? inner_->status() : status_; }

  void Seek(const Slice& target) override {
    direction_ = kForward;
    saved_value_.clear();
    saved_key_.clear();
    AppendInternalKey(&saved_key_, target, sequence_, kValueTypeForSeek);
    inner_->Seek(saved_key_);
    saved_key_.clear();
    FindNextVisible(/*skipping=*/false);
  }

  void SeekToFirst() override {
    direction_ = kForward;
    saved_value_.clear();
    inner_->SeekToFirst();
    FindNextVisible(/*skipping=*/false);
  }

  void SeekToLast() override {
    direction_ = kReverse;
    saved_value_.clear();
    inner_->SeekToLast();
    FindPrevVisible();
  }

  void Next() override {
    assert(valid_);
    if (direction_ == kReverse) {
      // inner_ is just before the entries of key() (saved_key_): step onto them, then skip
      // them all.
      direction_ = kForward;
      if (inner_->Valid()) {
        inner_->Next();
      } else {
        inner_->SeekToFirst();
      }
    } else {
      saved_key_.assign(ExtractUserKey(inner_->key()).data(), inner_->key().size() - kTagSize);
      inner_->Next();
    }
    FindNextVisible(/*skipping=*/true);
  }

  void Prev() override {
    assert(valid_);
    if (direction_ == kForward) {
      // Walk back past every entry of key() (the newer invisible ones come before it).
      saved_key_.assign(ExtractUserKey(inner_->key()).data(), inner_->key().size() - kTagSize);
      while (true) {
        inner_->Prev();
        if (!inner_->Valid()) break;
        if (ExtractUserKey(inner_->key()).compare(saved_key_) < 0) break;
      }
      direction_ = kReverse;
    }
    FindPrevVisible();
  }

 private:
  enum Direction { kForward, kReverse };

  bool Parse(ParsedInternalKey* ikey) {
    if (ParseInternalKey(inner_->key(), ikey)) return true;
    status_ = Status::Corruption("iterator: damaged internal key");
    return false;
  }

  // Moves inner_ forward to the newest visible live entry of a user key, skipping
  // (if skipping) every entry of user keys <= saved_key_.
  void FindNextVisible(bool skipping) {
    valid_ = false;
    for (; inner_->Valid(); inner_->Next()) {
      ParsedInternalKey ikey;
      if (!Parse(&ikey)) return;
      if (ikey.sequence > sequence_) continue;
      if (skipping && ikey.user_key.compare(saved_key_) <= 0) continue;
      if (ikey.type == kTypeDeletion) {
        // Everything older of this key is hidden.
        saved_key_.assign(ikey.user_key.data(), ikey.user_key.size());
        skipping = true;
        continue;
      }
      valid_ = true;
      saved_key_.clear();
      return;
    }
    saved_key_.clear();
  }

  // Moves inner_ backward until it has passed every entry of the previous live user key,
  // whose newest visible version is left in saved_key_ / saved_value_.
  void FindPrevVisible() {
    ValueType last_type = kTypeDeletion;  // of the newest visible entry seen for saved_key_
    for (; inner_->Valid(); inner_->Prev()) {
      ParsedInternalKey ikey;
      if (!Parse(&ikey)) {
        valid_ = false;
        return;
      }
      if (ikey.sequence > sequence_) continue;
      if (last_type != kTypeDeletion && ikey.user_key.compare(saved_key_) < 0) {
        break;  // saved_key_ is complete: a live key
      }
      // Moving backward, each visible entry of a key is newer than the previous one seen.
      last_type = ikey.type;
      if (ikey.type == kTypeDeletion) {
        saved_key_.clear();
        saved_value_.clear();
      } else {
        saved_key_.assign(ikey.user_key.data(), ikey.user_key.size());
        Slice v = inner_->value();
        saved_value_.assign(v.data(), v.size());
      }
    }
    if (last_type == kTypeDeletion || !inner_->status().ok()) {
      // On an error the newer versions of saved_key_ may be in the part not read.
      valid_ = false;
      saved_key_.clear();
      saved_value_.clear();
      direction_ = kForward;
    } else {
      valid_ = true;
    }
  }

  std::unique_ptr<Iterator> inner_;
  const SequenceNumber sequence_;
  std::function<void()> cleanup_;
  Status status_;
  Direction direction_ = kForward;
  bool valid_ = false;
  std::string saved_key_;    // see the invariants; also the skip bound while moving forward
  std::string saved_value_;  // kReverse only
};

}  // namespace

std::unique_ptr<Iterator> NewDBIterator(std::unique_ptr<Iterator> internal_iter,
                                        SequenceNumber sequence, std::function<void()> cleanup) {
  return std::make_unique<DBIter>(std::move(internal_iter), sequence, std::move(cleanup));
}

}  // namespace zworld::engine
