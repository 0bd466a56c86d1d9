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
  // the last node before key at each level below the current height.
  Node* FindGreaterOrEqual(const Key& key, Node** prev) const;
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
    const Key& key, Node** prev) const {
  Node* x = head_;
  int level = CurrentHeight() - 1;
  Node* last_checked = nullptr;  // skips re-comparing the node that ended the level above
  while (true) {
    Node* next = x->Next(level);
    if (next != last_checked && KeyIsAfterNode(key, next)) {
      x = next;
    } else {
      if (prev != nullptr) prev[level] = x;
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
bool SkipList<Key, Comparator>::Contains(const Key& key) const {
  Node* x = FindGreaterOrEqual(key, nullptr);
  return x != nullptr && compare_(key, x->key) == 0;
}

}  // namespace zworld::engine
