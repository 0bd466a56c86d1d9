#include "db_scan.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace zworld::engine {

namespace {

// Unsigned byte order of [a, a + na) and [b, b + nb), eight bytes at a time: keys are short
// and a call to memcmp costs more than the comparison itself.
inline int CompareBytes(const char* a, size_t na, const char* b, size_t nb) {
  size_t n = na < nb ? na : nb;
  while (n >= 8) {
    uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
    a += 8;
    b += 8;
    n -= 8;
  }
  for (; n > 0; --n, ++a, ++b) {
    if (*a != *b) return static_cast<unsigned char>(*a) < static_cast<unsigned char>(*b) ? -1 : 1;
  }
  return na < nb ? -1 : (na > nb ? 1 : 0);
}

// CompareInternalKey (dbformat.h), inlined.
inline int CompareIKey(const Slice& a, const Slice& b) {
  const size_t ua = a.size() - kTagSize, ub = b.size() - kTagSize;
  int r = CompareBytes(a.data(), ua, b.data(), ub);
  if (r != 0) return r;
  const uint64_t ta = DecodeFixed64(a.data() + ua), tb = DecodeFixed64(b.data() + ub);
  return ta > tb ? -1 : (ta < tb ? 1 : 0);
}

inline Slice UserKey(const Slice& ikey) { return Slice(ikey.data(), ikey.size() - kTagSize); }

// Invariants of the merge:
//  - Each source has a cursor [cur, end) into its current block (Entries() when the block
//    was loaded); entries before cur are consumed. The source itself is not told about
//    consumption: it only moves on NextBlock, SkipNextBlock or Seek.
//  - order_ lists the sources whose cursor is non-empty, sorted by head key (ties: lower
//    source index first), each with a copy of its head key (the ikey of its cursor's cur).
//    A source whose cursor ran empty is refilled or dropped at once.
//  - When a block reaches limit, end is cut there and final is set: the source is done
//    once its cursor runs empty.
//  - Every consumed entry is <= every head (the merge consumes in key order; skipped blocks
//    end below every other head).
//  - last_key_ is the user key of the newest visible entry consumed most recently (handed
//    over or a deletion); older entries of that key are shadowed. It points into the block
//    of source last_owner_, or into last_buf_ when last_owner_ is -1; it is copied there
//    before that source moves to another block.
//  - run_ points into the current blocks of the sources: it is handed to the visitor before
//    any source moves to another block.
class ScanMerger {
 public:
  // Entries of a run looked at one by one before the merge searches for the run's end.
  static constexpr size_t kLinearProbe = 8;

  ScanMerger(const std::vector<std::unique_ptr<ScanSource>>& sources, SequenceNumber snapshot,
             const Slice& limit, const ScanOptions& scan_options, ScanVisitor* visitor)
      : sources_(sources),
        cursors_(sources.size()),
        snapshot_(snapshot),
        limit_(limit),
        filter_(scan_options.block_filter),
        visitor_(visitor) {
    order_.reserve(sources.size());
    run_.reserve(256);
  }

  Status Run(const Slice& start) {
    Status s = SeekAll(start, /*frontier=*/nullptr);
    while (s.ok() && !order_.empty() && !stopped_) s = Step();
    if (s.ok() && !stopped_) s = Deliver();
    return s;
  }

 private:
  struct Cursor {
    const RawEntry* cur = nullptr;
    const RawEntry* end = nullptr;
    bool final = false;  // end was cut at limit: no block after this one is needed
    bool done = false;   // nothing of the source is left before limit
  };

  bool AtOrPastLimit(const Slice& ikey) const {
    if (limit_.empty()) return false;
    return CompareBytes(ikey.data(), ikey.size() - kTagSize, limit_.data(), limit_.size()) >= 0;
  }

  // Points cursor i at the source's current entries, cut at limit. False if none are left.
  bool LoadCursor(size_t i) {
    std::span<const RawEntry> entries = sources_[i]->Entries();
    Cursor& c = cursors_[i];
    c.cur = entries.data();
    c.end = c.cur + entries.size();
    c.final = false;
    c.done = false;
    if (c.cur == c.end) return false;
    if (AtOrPastLimit(c.end[-1].ikey)) {
      c.end = std::partition_point(c.cur, c.end,
                                   [this](const RawEntry& e) { return !AtOrPastLimit(e.ikey); });
      c.final = true;
    }
    return c.cur != c.end;
  }

  // Puts source i (non-empty cursor) into order_ at its sorted place.
  void Insert(size_t i) {
    const Head head{cursors_[i].cur->ikey, i};
    size_t pos = order_.size();
    order_.push_back(head);
    while (pos > 0) {
      const Head& prev = order_[pos - 1];
      int r = CompareIKey(prev.key, head.key);
      if (r < 0 || (r == 0 && prev.source < i)) break;
      order_[pos] = prev;
      --pos;
    }
    order_[pos] = head;
  }

  // order_[0]'s source moved its cursor on: update its head and move it to its place.
  void SiftFront() {
    const Head head{cursors_[order_[0].source].cur->ikey, order_[0].source};
    size_t pos = 0;
    while (pos + 1 < order_.size()) {
      const Head& next = order_[pos + 1];
      int r = CompareIKey(next.key, head.key);
      if (r > 0 || (r == 0 && next.source > head.source)) break;
      order_[pos] = next;
      ++pos;
    }
    order_[pos] = head;
  }

  // One merge step: take entries of the source with the smallest head up to the head of the
  // next one (the bound); a source whose block is used up is refilled.
  Status Step() {
    const size_t best = order_[0].source;
    Cursor& c = cursors_[best];
    const RawEntry* stop = c.end;
    const Slice* bound = nullptr;
    Slice bound_key;
    if (order_.size() > 1) {
      bound_key = order_[1].key;
      bound = &bound_key;
      // Sources usually interleave closely: look at a few entries one by one. If all are
      // below the bound, the run is long: the block's last entry tells whether it reaches
      // the end of the block, or else a binary search finds where it ends.
      const RawEntry* p = c.cur + 1;  // the head itself is <= bound: always taken
      const RawEntry* linear_end = std::min(c.end, c.cur + kLinearProbe);
      while (p < linear_end && CompareIKey(p->ikey, bound_key) < 0) ++p;
      if (p == linear_end && p < c.end) {
        if (CompareIKey(c.end[-1].ikey, bound_key) < 0) {
          p = c.end;
        } else {
          p = std::partition_point(p, c.end - 1, [&bound_key](const RawEntry& e) {
            return CompareIKey(e.ikey, bound_key) < 0;
          });
        }
      }
      stop = p;
    }
    // Hand over early after a seek: the visitor may want to seek again after a few keys (a
    // spatial query leaves its z-range every few dozen), and every entry merged past that
    // point is wasted. Each run delivered without a seek doubles the next one's size, so a
    // long scan soon goes block by block.
    if (static_cast<size_t>(stop - c.cur) > deliver_at_) stop = c.cur + deliver_at_;
    Filter(best, c.cur, stop);
    c.cur = stop;
    if (c.cur != c.end) {
      SiftFront();
      if (run_.size() < deliver_at_) return Status::OK();
      const Slice frontier = stop[-1].ikey;  // the largest key consumed; its block is pinned
      Status s = Deliver();
      if (!s.ok() || stopped_) return s;
      if (seek_pending_) {
        seek_pending_ = false;
        return SeekAll(seek_target_, &frontier);
      }
      deliver_at_ = std::min(2 * deliver_at_, kMaxDeliverAt);
      return Status::OK();
    }

    // The block is used up. The largest key consumed so far is its last entry, still pinned.
    const Slice frontier = c.end[-1].ikey;
    Status s = Deliver();
    if (!s.ok() || stopped_) return s;
    if (seek_pending_) {
      seek_pending_ = false;
      return SeekAll(seek_target_, &frontier);
    }
    order_.erase(order_.begin());
    if (c.final) {
      c.done = true;  // the rest of the source is at or past limit
      return Status::OK();
    }
    s = Refill(best, bound);
    if (s.ok() && !c.done) Insert(best);
    return s;
  }

  // Appends the live entries of [p, end) of source `owner` to run_ in one pass.
  void Filter(size_t owner, const RawEntry* p, const RawEntry* end) {
    for (; p != end; ++p) {
      const char* k = p->ikey.data();
      const size_t user_size = p->ikey.size() - kTagSize;
      const uint64_t tag = DecodeFixed64(k + user_size);
      if ((tag >> 8) > snapshot_) continue;
      if (has_last_ && user_size == last_key_.size() &&
          CompareBytes(k, user_size, last_key_.data(), user_size) == 0) {
        continue;  // an older version
      }
      last_key_ = Slice(k, user_size);
      last_owner_ = static_cast<ptrdiff_t>(owner);
      has_last_ = true;
      if (static_cast<ValueType>(tag & 0xff) == kTypeValue) run_.push_back({last_key_, p->value});
    }
  }

  // Hands run_ to the visitor (if it holds anything) and records what it asked for.
  Status Deliver() {
    if (run_.empty()) return Status::OK();
    const ScanVisitor::Next next = visitor_->Visit(run_, &seek_target_);
    const Slice run_last = run_.back().key;
    run_.clear();
    if (next == ScanVisitor::Next::kStop) {
      stopped_ = true;
    } else if (next == ScanVisitor::Next::kSeek) {
      if (Slice(seek_target_).compare(run_last) <= 0) {
        return Status::InvalidArgument("Scan: the visitor's seek target is not after its run");
      }
      seek_pending_ = true;
    }
    return Status::OK();
  }

  // The block holding last_key_ is about to go: keep a copy.
  void DetachLastKey(size_t i) {
    if (has_last_ && last_owner_ == static_cast<ptrdiff_t>(i)) {
      last_buf_.assign(last_key_.data(), last_key_.size());
      last_key_ = Slice(last_buf_);
      last_owner_ = -1;
    }
  }

  // Loads the next useful block of source i, skipping blocks the filter rules out when no
  // other source can hold a key inside them (their last key is below bound). Marks the
  // cursor done when nothing before limit is left.
  Status Refill(size_t i, const Slice* bound) {
    ScanSource* src = sources_[i].get();
    DetachLastKey(i);
    while (true) {
      if (filter_) {
        Slice last_ikey, summary;
        while (src->PeekNextBlock(&last_ikey, &summary)) {
          if (bound != nullptr && CompareIKey(last_ikey, *bound) >= 0) break;
          if (AtOrPastLimit(last_ikey)) break;
          if (filter_(summary)) break;
          // The skipped block ends with the oldest entry of its last user key in this
          // source. If that entry is visible, later entries of the key (in this source's
          // next blocks or at another source's head) are older versions: shadow them.
          if ((ExtractTag(last_ikey) >> 8) <= snapshot_) {
            Slice uk = UserKey(last_ikey);
            last_buf_.assign(uk.data(), uk.size());
            last_key_ = Slice(last_buf_);
            last_owner_ = -1;
            has_last_ = true;
          }
          src->SkipNextBlock();
        }
      }
      if (!src->NextBlock()) {
        cursors_[i] = Cursor();
        cursors_[i].done = true;
        return src->status();
      }
      if (LoadCursor(i)) return Status::OK();
      if (cursors_[i].final) {
        cursors_[i].done = true;
        return Status::OK();
      }
    }
  }

  // Positions every source at the first entry >= (target, snapshot). frontier is the largest
  // key consumed so far (null before the first seek). Entries consumed but not handed over
  // (deletions, shadowed versions) may lie past the visitor's run; if target does not pass
  // all of them, every source seeks again so that none is missed. Otherwise a source whose
  // current block reaches target just moves its cursor.
  Status SeekAll(const Slice& target, const Slice* frontier) {
    deliver_at_ = kFirstDeliverAt;
    std::string& ikey = seek_ikey_;
    ikey.clear();
    AppendInternalKey(&ikey, target, snapshot_, kValueTypeForSeek);
    const bool within_blocks = frontier != nullptr && target.compare(UserKey(*frontier)) > 0;
    has_last_ = false;
    last_owner_ = -1;
    order_.clear();
    for (size_t i = 0; i < sources_.size(); ++i) {
      Cursor& c = cursors_[i];
      if (within_blocks) {
        // Exhausted sources hold nothing past frontier, hence nothing at or past target.
        if (c.done) continue;
        if (c.cur != c.end && CompareIKey(c.end[-1].ikey, ikey) >= 0) {
          c.cur = std::partition_point(
              c.cur, c.end, [&ikey](const RawEntry& e) { return CompareIKey(e.ikey, ikey) < 0; });
          Insert(i);
          continue;
        }
        if (c.final) {
          c.cur = c.end;  // the rest of this source is at or past limit
          c.done = true;
          continue;
        }
      }
      sources_[i]->Seek(ikey);
      Status s = sources_[i]->status();
      if (!s.ok()) return s;
      if (LoadCursor(i)) {
        Insert(i);
      } else {
        c.done = true;
      }
    }
    return Status::OK();
  }

  const std::vector<std::unique_ptr<ScanSource>>& sources_;
  std::vector<Cursor> cursors_;
  struct Head {
    Slice key;  // cursors_[source].cur->ikey
    size_t source;
  };
  std::vector<Head> order_;
  const SequenceNumber snapshot_;
  const Slice limit_;
  const std::function<bool(const Slice&)>& filter_;
  ScanVisitor* const visitor_;

  std::vector<ScanEntry> run_;
  bool has_last_ = false;
  Slice last_key_;
  ptrdiff_t last_owner_ = -1;
  std::string last_buf_;
  bool stopped_ = false;
  bool seek_pending_ = false;
  std::string seek_target_;
  std::string seek_ikey_;  // SeekAll's internal key, kept to reuse its memory
  // Entries a step takes and a run holds before it is handed over (see Step).
  static constexpr size_t kFirstDeliverAt = 16;
  static constexpr size_t kMaxDeliverAt = size_t{1} << 20;
  size_t deliver_at_ = kFirstDeliverAt;
};

}  // namespace

Status MergeScan(const std::vector<std::unique_ptr<ScanSource>>& sources, SequenceNumber snapshot,
                 const Slice& start, const Slice& limit, const ScanOptions& scan_options,
                 ScanVisitor* visitor, ScanCounters* counters) {
  ScanMerger merger(sources, snapshot, limit, scan_options, visitor);
  Status s = merger.Run(start);
  for (const auto& src : sources) {
    counters->blocks_read += src->blocks_read();
    counters->blocks_skipped += src->blocks_skipped();
  }
  return s;
}

}  // namespace zworld::engine
