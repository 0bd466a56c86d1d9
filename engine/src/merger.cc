#include "merger.h"

#include <cassert>

#include "dbformat.h"

namespace zworld::engine {

namespace {

class MergingIterator final : public Iterator {
 public:
  explicit MergingIterator(std::vector<std::unique_ptr<Iterator>> children)
      : children_(std::move(children)) {}

  bool Valid() const override { return current_ != nullptr; }

  void SeekToFirst() override {
    for (auto& c : children_) c->SeekToFirst();
    direction_ = kForward;
    if (CheckAllChildren()) FindSmallest();
  }

  void SeekToLast() override {
    for (auto& c : children_) c->SeekToLast();
    direction_ = kReverse;
    if (CheckAllChildren()) FindLargest();
  }

  void Seek(const Slice& target) override {
    for (auto& c : children_) c->Seek(target);
    direction_ = kForward;
    if (CheckAllChildren()) FindSmallest();
  }

  void Next() override {
    assert(Valid());
    if (direction_ != kForward) {
      // Every other child sits at or before key(); move each to its first entry after it.
      // An entry equal to key() in another child is a copy of the same version (KeepResident
      // carries entries under their original sequence), so skipping it loses nothing.
      Slice k = current_->key();
      for (auto& c : children_) {
        if (c.get() == current_) continue;
        c->Seek(k);
        if (c->Valid() && CompareInternalKey(k, c->key()) == 0) c->Next();
      }
      direction_ = kForward;
      current_->Next();
      if (CheckAllChildren()) FindSmallest();
      return;
    }
    current_->Next();
    if (CheckMoved()) FindSmallest();
  }

  void Prev() override {
    assert(Valid());
    if (direction_ != kReverse) {
      // Every other child sits after key(); move each to its last entry before it.
      Slice k = current_->key();
      for (auto& c : children_) {
        if (c.get() == current_) continue;
        c->Seek(k);
        if (c->Valid()) {
          c->Prev();
        } else {
          c->SeekToLast();
        }
      }
      direction_ = kReverse;
      current_->Prev();
      if (CheckAllChildren()) FindLargest();
      return;
    }
    current_->Prev();
    if (CheckMoved()) FindLargest();
  }

  Slice key() const override {
    assert(Valid());
    return current_->key();
  }
  Slice value() const override {
    assert(Valid());
    return current_->value();
  }

  Status status() const override {
    if (!error_.ok()) return error_;
    for (const auto& c : children_) {
      Status s = c->status();
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

 private:
  enum Direction { kForward, kReverse };

  // A child that stopped on an error stops the merge: going on would hand out older
  // versions of the keys the failed child shadows. Returns false (and invalidates) then.
  bool CheckAllChildren() {
    if (!error_.ok()) return Fail(error_);
    for (auto& c : children_) {
      if (!c->Valid() && !c->status().ok()) return Fail(c->status());
    }
    return true;
  }
  // Only the child that just moved can have failed.
  bool CheckMoved() {
    if (!current_->Valid()) {
      Status s = current_->status();
      if (!s.ok()) return Fail(s);
    }
    return true;
  }
  bool Fail(const Status& s) {
    if (error_.ok()) error_ = s;
    current_ = nullptr;
    return false;
  }

  // Ties go to the earliest child, so that among equal keys the order is the children's.
  void FindSmallest() {
    Iterator* best = nullptr;
    for (auto& c : children_) {
      if (c->Valid() && (best == nullptr || CompareInternalKey(c->key(), best->key()) < 0)) {
        best = c.get();
      }
    }
    current_ = best;
  }

  void FindLargest() {
    Iterator* best = nullptr;
    for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
      Iterator* c = it->get();
      if (c->Valid() && (best == nullptr || CompareInternalKey(c->key(), best->key()) > 0)) {
        best = c;
      }
    }
    current_ = best;
  }

  std::vector<std::unique_ptr<Iterator>> children_;
  Iterator* current_ = nullptr;
  Direction direction_ = kForward;
  Status error_;  // the first child error; the merge stays invalid until repositioned
};

}  // namespace

std::unique_ptr<Iterator> NewMergingIterator(std::vector<std::unique_ptr<Iterator>> children) {
  if (children.empty()) return std::unique_ptr<Iterator>(NewEmptyIterator());
  if (children.size() == 1) return std::move(children[0]);
  return std::make_unique<MergingIterator>(std::move(children));
}

}  // namespace zworld::engine
