// SkipList: a sorted set of keys with one writer and lock-free concurrent readers.
//
// Invariants:
//   - Nodes are allocated in an Arena and never freed or unlinked before the list is
//     destroyed, so a reader holding a node pointer can always follow it.
//   - A node is fully built (key and all its next pointers) before a release store links it
//     in at level 0 upwards; readers load links with acquire, so they see a whole node.
//   - Level i's list is a sublist of level i-1's. A reader that sees a node at a high level
//     before it is linked at lower ones still finds a correct order: links only ever point
//     to nodes with larger keys.
//   - max_height_ only grows; a reader that sees a new height before the head's new links
//     finds nullptr there and simply descends.
//
// Key must be cheap to copy (a pointer or an integer); Comparator is a callable
// int(const Key&, const Key&) returning <0, 0, >0. Duplicate keys must not be inserted.
//
// Thread safety: Insert needs external serialisation (one writer at a time). Every other
// method, and Iterators, may run concurrently with the writer and with each other. The list
// and its arena must outlive its iterators.
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include "arena.h"

namespace zworld::engine {

template <typename Key, class Comparator>
class SkipList {
  struct Node;

 public:
  static constexpr int kMaxHeight = 12;
  // Each level holds about 1/kBranching of the nodes of the level below.
  static constexpr unsigned kBranching = 4;

  // arena must outlive the list; the list allocates its nodes there.
  SkipList(Comparator cmp, Arena* arena);
  SkipList(const SkipList&) = delete;
  SkipList& operator=(const SkipList&) = delete;

  // Inserts key. Requires: no equal key is in the list; one writer at a time.
  void Insert(const Key& key);

  // For pointer keys: returns n bytes allocated together with the node that the next Insert
  // will link (one allocation, so a search finds node and key bytes in the same place).
  // The caller writes the key's bytes there and then calls Insert with a Key pointing at
  // them; any other Insert call first discards the reservation. Writer only.
  char* AllocateKey(size_t n);

  // Bulk insertion (writer only), for pointer keys: many keys allocated first, then linked
  // in key order, each search starting from where the previous one ended.
  //
  // AllocatePending returns n bytes allocated together with a new node, not yet in the list;
  // the caller writes the key's bytes there. InsertPending then links nodes, given in
  // strictly increasing key order (none equal to a key already in the list). A search from
  // the head costs about log4(size) levels of cache misses per key; keys that follow one
  // another in a sorted batch are close in the list, so the search climbs only as high as
  // the distance to the previous key needs (a "splice", as in RocksDB's InlineSkipList).
  class PendingNode {
   private:
    friend class SkipList;
    Node* node = nullptr;
    int height = 0;
  };
  char* AllocatePending(size_t n, PendingNode* pending);
  // Keys of pending nodes are what AllocatePending returned.
  static const Key& PendingKey(const PendingNode& p) { return p.node->key; }
  void InsertPending(const PendingNode* nodes, size_t n);

  bool Contains(const Key& key) const;

  // A position in the list. Not thread-safe itself; many may exist at once.
  class Iterator {
   public:
    explicit Iterator(const SkipList* list) : list_(list), node_(nullptr) {}

    bool Valid() const { return node_ != nullptr; }
    // Requires Valid().
    const Key& key() const {
      assert(Valid());
      return node_->key;
    }
    // Requires Valid(). Sees nodes inserted after the iterator was positioned.
    void Next() {
      assert(Valid());
      node_ = node_->Next(0);
    }
    // Requires Valid(). O(log n): searches from the head.
    void Prev() {
      assert(Valid());
      node_ = list_->FindLessThan(node_->key);
      if (node_ == list_->head_) node_ = nullptr;
    }
    // Positions at the first key >= target.
    void Seek(const Key& target) { node_ = list_->FindGreaterOrEqual(target, nullptr); }
    void SeekToFirst() { node_ = list_->head_->Next(0); }
    void SeekToLast() {
      node_ = list_->FindLast();
      if (node_ == list_->head_) node_ = nullptr;
    }

   private:
    const SkipList* list_;
    Node* node_;
  };

  // Reads keys in order, many at a time, for long scans. Once the list outgrows the CPU
  // caches, following one bottom-level link after another costs a cache miss per node (nodes
  // sit in insertion order, not key order), and each miss waits for the one before. A batch
  // instead takes a few consecutive nodes of an upper level, then walks the stretches of the
  // level below that lie between them side by side, level after level down to the bottom,
  // so that many misses are in flight at once. While it does, it follows the upper level
  // further for the next batch.
  //
  // Reads ahead a batch of up to kBatchNodes keys. Like Iterator, it sees keys inserted
  // concurrently if they lie ahead of the batch when the batch is read. Not thread-safe
  // itself; the list must outlive it.
  class BatchReader {
   public:
    explicit BatchReader(const SkipList* list) : list_(list) {
      for (Node*& b : bound_) b = nullptr;
    }

    // Positions at the first key >= target.
    void Seek(const Key& target);
    // Positions at the first key.
    void SeekToFirst();
    // Writes the next keys in order to out[0, n) and moves past them. n is max unless fewer
    // keys are left: 0 at the end of the list (or before the first Seek). A call for at most
    // kPlainReadMax keys with no batch read ahead follows the bottom level link by link
    // instead of reading a batch: after a Seek a caller that may need only a few keys (a
    // spatial query seeks every few keys) asks for a few, then for more.
    size_t Read(Key* out, size_t max);
    static constexpr size_t kPlainReadMax = 32;

   private:
    // Tuning (measured with a 440k-entry memtable; level 3 and 256-key batches did no
    // better): the level whose links a batch follows first, and the keys it reads. With
    // kBranching 4 a level-2 node is followed by about 16 bottom-level nodes, so a batch
    // takes about 8 level-2 nodes, then walks ~8 level-1 and ~32 bottom-level stretches side
    // by side.
    static constexpr int kTopLevel = 2;
    static constexpr size_t kBatchNodes = 128;
    static constexpr size_t kTopNodesPerBatch = std::max<size_t>(1, kBatchNodes >> (2 * kTopLevel));
    static_assert(kBranching == 4, "kTopNodesPerBatch assumes a quarter of the nodes per level");
    // Room for this batch's top-level nodes, the next batch's and the end of the batch.
    static constexpr size_t kMaxTopNodes = 2 * kTopNodesPerBatch + 1;

    // Sets the position to first[0] with bound_[l] = first[l] (see the invariant).
    void Reset(Node* const* first);
    // Reads the next batch into batch_ (requires bound_[0] != null).
    void ReadBatch();
    // Loads the nodes of the level-`level` stretches [starts[i], stops[i]) side by side,
    // touching at most budget nodes, and follows the top level one link further per round.
    // Only a prefetch: the caller walks the nodes again.
    void Warm(int level, Node** starts, Node** stops, size_t chains, size_t budget);
    // Follows the top level one link past top_[top_count_ - 1], if there is room and the
    // level has not ended.
    void ExtendTop();

    const SkipList* list_;
    // Invariant: bound_[0] is the first node not yet in batch_ (null at the end). For
    // 1 <= l <= kTopLevel, bound_[l] is null or a node linked at level l whose key is >= that
    // of bound_[l - 1]; null when bound_[l - 1] is null. (So walking level l - 1 from
    // bound_[l - 1] reaches bound_[l].)
    Node* bound_[kTopLevel + 1];
    // Consecutive nodes of the top level from bound_[kTopLevel] on (top_[0] ==
    // bound_[kTopLevel] unless top_count_ == 0); top_ended_ is set when the level was found
    // to end after the last of them.
    Node* top_[kMaxTopNodes];
    size_t top_count_ = 0;
    bool top_ended_ = true;
    // batch_[next_, size_) are read ahead and not yet handed out.
    Key batch_[kBatchNodes];
    size_t next_ = 0;
    size_t size_ = 0;
  };

 private:
  struct Node {
    explicit Node(const Key& k) : key(k) {}

    Node* Next(int level) const { return next_[level].load(std::memory_order_acquire); }
    void SetNext(int level, Node* x) { next_[level].store(x, std::memory_order_release); }
    Node* NextRelaxed(int level) const { return next_[level].load(std::memory_order_relaxed); }
    void SetNextRelaxed(int level, Node* x) { next_[level].store(x, std::memory_order_relaxed); }

    const Key key;
    // The node is allocated with room for its height; next_[0] is the bottom level.
    std::atomic<Node*> next_[1];
  };

  static size_t NodeBytes(int height) {
    return sizeof(Node) + sizeof(std::atomic<Node*>) * (height - 1);
  }
  // Builds a node of the given height in mem (NodeBytes(height) bytes, arena-aligned).
  static Node* ConstructNode(char* mem, const Key& key, int height);
  int RandomHeight();
  int CurrentHeight() const { return max_height_.load(std::memory_order_relaxed); }
  bool KeyIsAfterNode(const Key& key, const Node* n) const {
    return n != nullptr && compare_(n->key, key) < 0;
  }
  // The first node with key >= key, or nullptr. If prev is non-null, fills prev[level] with
  // the last node before key at each level below the current height. If first is non-null,
  // fills first[level] for every level < kMaxHeight with the first node linked at that level
  // whose key is >= key (null above the current height).
  Node* FindGreaterOrEqual(const Key& key, Node** prev, Node** first = nullptr) const;
  // The last node with key < key, or head_.
  Node* FindLessThan(const Key& key) const;
  // The last node, or head_ if the list is empty.
  Node* FindLast() const;

  const Comparator compare_;
  Arena* const arena_;
  Node* const head_;
  std::atomic<int> max_height_{1};
  uint64_t rnd_state_ = 0x9e3779b97f4a7c15ull;  // writer only
  // The node memory AllocateKey reserved (writer only), or null.
  char* reserved_node_ = nullptr;
  int reserved_height_ = 0;
};

template <typename Key, class Comparator>
SkipList<Key, Comparator>::SkipList(Comparator cmp, Arena* arena)
    : compare_(cmp),
      arena_(arena),
      head_(ConstructNode(arena->AllocateAligned(NodeBytes(kMaxHeight)), Key(), kMaxHeight)) {
  for (int i = 0; i < kMaxHeight; i++) head_->SetNextRelaxed(i, nullptr);
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::ConstructNode(char* mem,
                                                                                   const Key& key,
                                                                                   int height) {
  static_assert(alignof(Node) <= Arena::kAlignment);
  Node* n = new (mem) Node(key);
  for (int i = 1; i < height; i++) new (&n->next_[i]) std::atomic<Node*>(nullptr);
  return n;
}

template <typename Key, class Comparator>
char* SkipList<Key, Comparator>::AllocateKey(size_t n) {
  reserved_height_ = RandomHeight();
  reserved_node_ = arena_->AllocateAligned(NodeBytes(reserved_height_) + n);
  return reserved_node_ + NodeBytes(reserved_height_);
}

template <typename Key, class Comparator>
int SkipList<Key, Comparator>::RandomHeight() {
  // xorshift64*: two random bits per extra level.
  rnd_state_ ^= rnd_state_ >> 12;
  rnd_state_ ^= rnd_state_ << 25;
  rnd_state_ ^= rnd_state_ >> 27;
  uint64_t r = rnd_state_ * 0x2545f4914f6cdd1dull;
  int height = 1;
  r >>= 32;
  while (height < kMaxHeight && (r % kBranching) == 0) {
    height++;
    r /= kBranching;
  }
  return height;
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::FindGreaterOrEqual(
    const Key& key, Node** prev, Node** first) const {
  Node* x = head_;
  int level = CurrentHeight() - 1;
  if (first != nullptr) {
    for (int i = level + 1; i < kMaxHeight; i++) first[i] = nullptr;
  }
  Node* last_checked = nullptr;  // skips re-comparing the node that ended the level above
  while (true) {
    Node* next = x->Next(level);
    if (next != last_checked && KeyIsAfterNode(key, next)) {
      x = next;
    } else {
      if (prev != nullptr) prev[level] = x;
      if (first != nullptr) first[level] = next;
      if (level == 0) return next;
      last_checked = next;
      level--;
    }
  }
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::FindLessThan(
    const Key& key) const {
  Node* x = head_;
  int level = CurrentHeight() - 1;
  while (true) {
    Node* next = x->Next(level);
    if (next != nullptr && compare_(next->key, key) < 0) {
      x = next;
    } else if (level == 0) {
      return x;
    } else {
      level--;
    }
  }
}

template <typename Key, class Comparator>
typename SkipList<Key, Comparator>::Node* SkipList<Key, Comparator>::FindLast() const {
  Node* x = head_;
  int level = CurrentHeight() - 1;
  while (true) {
    Node* next = x->Next(level);
    if (next != nullptr) {
      x = next;
    } else if (level == 0) {
      return x;
    } else {
      level--;
    }
  }
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::BatchReader::Reset(Node* const* first) {
  for (int l = 0; l <= kTopLevel; l++) bound_[l] = first[l];
  top_count_ = 0;
  top_ended_ = bound_[kTopLevel] == nullptr;
  if (!top_ended_) top_[top_count_++] = bound_[kTopLevel];
  next_ = size_ = 0;
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::BatchReader::Seek(const Key& target) {
  Node* first[kMaxHeight];
  list_->FindGreaterOrEqual(target, nullptr, first);
  // The search met the levels top down, so first[l - 1] <= first[l] as the invariant needs.
  Reset(first);
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::BatchReader::SeekToFirst() {
  // Top down: a node linked at level l was linked at level l - 1 before, so the first node
  // of level l - 1 read afterwards is not after it.
  Node* first[kTopLevel + 1];
  for (int l = kTopLevel; l >= 0; l--) first[l] = list_->head_->Next(l);
  Reset(first);
}

template <typename Key, class Comparator>
size_t SkipList<Key, Comparator>::BatchReader::Read(Key* out, size_t max) {
  size_t n = 0;
  if (next_ == size_ && max <= kPlainReadMax) {
    // Plain walk. Keeps the invariant: a node passed that is bound_[l] moves bound_[l] to
    // its level-l successor, which is then again the first level-l node not passed.
    Node* bound[kTopLevel + 1];
    std::copy(bound_, bound_ + kTopLevel + 1, bound);
    while (n < max && bound[0] != nullptr) {
      Node* x = bound[0];
      out[n++] = x->key;
      for (int l = 1; l <= kTopLevel; l++) {
        if (bound[l] == x) bound[l] = x->Next(l);
      }
      bound[0] = x->Next(0);
    }
    Reset(bound);
    return n;
  }
  while (n < max) {
    if (next_ == size_) {
      if (bound_[0] == nullptr) break;
      ReadBatch();
    }
    const size_t take = std::min(max - n, size_ - next_);
    std::copy(batch_ + next_, batch_ + next_ + take, out + n);
    next_ += take;
    n += take;
  }
  return n;
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::BatchReader::ExtendTop() {
  if (top_ended_ || top_count_ == 0 || top_count_ == kMaxTopNodes) return;
  Node* next = top_[top_count_ - 1]->Next(kTopLevel);
  if (next == nullptr) {
    top_ended_ = true;
  } else {
    top_[top_count_++] = next;
  }
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::BatchReader::Warm(int level, Node** starts, Node** stops,
                                                  size_t chains, size_t budget) {
  // Round robin: one link per stretch and round, so the loads of a round are independent.
  while (chains > 0 && budget > 0) {
    ExtendTop();
    for (size_t i = 0; i < chains && budget > 0;) {
      Node* next = starts[i]->Next(level);
      budget--;
      if constexpr (std::is_pointer_v<Key>) {
        // Keys allocated with AllocateKey follow their node; bring in their first bytes.
        if (level == 0) __builtin_prefetch(starts[i]->key);
      }
      if (next == stops[i] || next == nullptr) {
        chains--;  // this stretch is done: replace it with the last one
        starts[i] = starts[chains];
        stops[i] = stops[chains];
      } else {
        starts[i] = next;
        i++;
      }
    }
  }
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::BatchReader::ReadBatch() {
  // The batch covers the nodes from bound_[0] up to `end`, the top-level node
  // kTopNodesPerBatch links past bound_[kTopLevel] (null: the end of the list), unless a
  // level holds more than its cap before it.
  while (!top_ended_ && top_count_ <= kTopNodesPerBatch) ExtendTop();  // misses in a row
  const size_t top_used = std::min(top_count_, kTopNodesPerBatch);
  Node* end = top_used < top_count_ ? top_[top_used] : nullptr;

  // lists[l]: the level-l nodes of the batch, in order, for 1 <= l < kTopLevel (the top
  // level's are top_[0, top_used); the bottom level's keys go to batch_). ends[l]: the first
  // level-l node after them.
  Node* lists[kTopLevel][kBatchNodes];
  size_t sizes[kTopLevel] = {};
  Node* ends[kTopLevel + 1];
  ends[kTopLevel] = end;
  Node* starts[kBatchNodes + 1];
  Node* stops[kBatchNodes + 1];
  for (int l = kTopLevel - 1; l >= 0; l--) {
    // The stretches of level l: from bound_[l] to the first node of level l + 1, and from
    // each node of level l + 1 to the next one (the last one to end).
    Node* const* above = l + 1 == kTopLevel ? top_ : lists[l + 1];
    const size_t n_above = l + 1 == kTopLevel ? top_used : sizes[l + 1];
    Node* const first_above = n_above > 0 ? above[0] : end;
    size_t chains = 0;
    if (bound_[l] != first_above) {
      starts[chains] = bound_[l];
      stops[chains++] = first_above;
    }
    for (size_t i = 0; i < n_above; i++) {
      starts[chains] = above[i];
      stops[chains++] = i + 1 < n_above ? above[i + 1] : end;
    }
    Warm(l, starts, stops, chains, kBatchNodes + chains);

    // Walk level l in order (now mostly cache hits). If it holds more than kBatchNodes nodes
    // before end, the batch ends early, at a node linked at level l (and so below).
    size_t n = 0;
    Node* p = bound_[l];
    if (l == 0) {
      for (; p != end && n < kBatchNodes; p = p->Next(0)) batch_[n++] = p->key;
      size_ = n;
    } else {
      for (; p != end && n < kBatchNodes; p = p->Next(l)) lists[l][n++] = p;
      sizes[l] = n;
    }
    end = p;
    ends[l] = end;
  }
  next_ = 0;

  // The next batch starts where each level stopped. ends[l - 1] <= ends[l] as the invariant
  // needs: an early end of one level only moves the ends of the levels below it.
  for (int l = 0; l <= kTopLevel; l++) bound_[l] = ends[l];
  // top_[top_used] is ends[kTopLevel]: it becomes top_[0].
  std::copy(top_ + top_used, top_ + top_count_, top_);
  top_count_ -= top_used;
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::Insert(const Key& key) {
  Node* prev[kMaxHeight];
  Node* x = FindGreaterOrEqual(key, prev);
  assert(x == nullptr || compare_(key, x->key) != 0);
  (void)x;

  int height = 0;
  char* mem = nullptr;
  if constexpr (std::is_pointer_v<Key>) {
    if (reserved_node_ != nullptr &&
        reinterpret_cast<const char*>(key) == reserved_node_ + NodeBytes(reserved_height_)) {
      mem = reserved_node_;
      height = reserved_height_;
    }
  }
  reserved_node_ = nullptr;
  if (mem == nullptr) {
    height = RandomHeight();
    mem = arena_->AllocateAligned(NodeBytes(height));
  }
  int current = CurrentHeight();
  if (height > current) {
    for (int i = current; i < height; i++) prev[i] = head_;
    // Readers that see the new height before the links below find nullptr at the head's
    // new levels and descend, which is correct.
    max_height_.store(height, std::memory_order_relaxed);
  }

  Node* n = ConstructNode(mem, key, height);
  for (int i = 0; i < height; i++) {
    // n is not yet visible, so its own links may be relaxed; the release store into prev
    // publishes n together with them.
    n->SetNextRelaxed(i, prev[i]->NextRelaxed(i));
    prev[i]->SetNext(i, n);
  }
}

template <typename Key, class Comparator>
char* SkipList<Key, Comparator>::AllocatePending(size_t n, PendingNode* pending) {
  static_assert(std::is_pointer_v<Key>, "bulk insertion stores the key bytes after the node");
  const int height = RandomHeight();
  char* mem = arena_->AllocateAligned(NodeBytes(height) + n);
  char* key = mem + NodeBytes(height);
  pending->node = ConstructNode(mem, reinterpret_cast<Key>(key), height);
  pending->height = height;
  return key;
}

template <typename Key, class Comparator>
void SkipList<Key, Comparator>::InsertPending(const PendingNode* nodes, size_t n) {
  // The splice: at every level l, prev[l] is before the key being inserted and next[l] is
  // prev[l]'s successor at level l (null: the end). It starts as (head, first node).
  Node* prev[kMaxHeight];
  Node* next[kMaxHeight];
  for (int l = 0; l < kMaxHeight; l++) {
    prev[l] = head_;
    next[l] = head_->NextRelaxed(l);
  }
  for (size_t k = 0; k < n; k++) {
    Node* node = nodes[k].node;
    const int height = nodes[k].height;
    const Key& key = node->key;
    assert(k == 0 || compare_(nodes[k - 1].node->key, key) < 0);
    // prev[l] is before key at every level (it was before the previous, smaller key). Climb
    // to the lowest level whose next[l] is after key too: there the splice holds key.
    int current = CurrentHeight();
    int level = 0;
    while (level < current && next[level] != nullptr && compare_(next[level]->key, key) < 0) {
      level++;
    }
    // Above the list's height, (head, null) brackets everything. Descend from `level`,
    // walking each level from the node found on the level above.
    for (int l = std::min(level, current - 1); l >= 0; l--) {
      Node* x = l == level ? prev[l] : prev[l + 1];
      Node* y = x->NextRelaxed(l);
      while (y != nullptr && compare_(y->key, key) < 0) {
        x = y;
        y = x->NextRelaxed(l);
      }
      assert(y == nullptr || compare_(key, y->key) != 0);
      prev[l] = x;
      next[l] = y;
    }
    if (height > current) {
      for (int i = current; i < height; i++) {
        prev[i] = head_;
        next[i] = nullptr;
      }
      max_height_.store(height, std::memory_order_relaxed);
    }
    for (int i = 0; i < height; i++) {
      // As in Insert: the release store into prev publishes node with its own links.
      node->SetNextRelaxed(i, next[i]);
      prev[i]->SetNext(i, node);
      prev[i] = node;  // the next key is after this one; next[i] stays its successor
    }
  }
}

template <typename Key, class Comparator>
bool SkipList<Key, Comparator>::Contains(const Key& key) const {
  Node* x = FindGreaterOrEqual(key, nullptr);
  return x != nullptr && compare_(key, x->key) == 0;
}

}  // namespace zworld::engine
