#include "block_cache.h"

#include <mutex>
#include <unordered_map>
#include <vector>

namespace zworld::engine {

namespace {

struct CacheKey {
  uint64_t file_number;
  uint64_t offset;
  bool operator==(const CacheKey& o) const {
    return file_number == o.file_number && offset == o.offset;
  }
};

inline uint64_t MixKey(uint64_t file_number, uint64_t offset) {
  uint64_t h = file_number * 0x9e3779b97f4a7c15ull ^ offset;
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 29;
  return h;
}

struct CacheKeyHash {
  size_t operator()(const CacheKey& k) const {
    return static_cast<size_t>(MixKey(k.file_number, k.offset));
  }
};

}  // namespace

// One LRU list and hash map under one mutex. Entries form a circular doubly linked list
// through head: head.next is the most recently used, head.prev the next to evict.
struct BlockCache::Shard {
  struct Entry {
    CacheKey key{};
    std::shared_ptr<const Block> block;
    size_t charge = 0;
    Entry* prev = nullptr;
    Entry* next = nullptr;
  };

  std::mutex mu;
  size_t capacity = 0;                                    // guarded by mu
  size_t usage = 0;                                       // guarded by mu
  uint64_t hits = 0, misses = 0;                          // guarded by mu
  std::unordered_map<CacheKey, Entry, CacheKeyHash> map;  // guarded by mu
  Entry head;                                             // guarded by mu

  Shard() { head.prev = head.next = &head; }

  void Unlink(Entry* e) {
    e->prev->next = e->next;
    e->next->prev = e->prev;
  }
  void PushFront(Entry* e) {
    e->next = head.next;
    e->prev = &head;
    head.next->prev = e;
    head.next = e;
  }
  // Removes e from the list and the map; its block goes to *dropped (freed outside mu).
  void Remove(Entry* e, std::vector<std::shared_ptr<const Block>>* dropped) {
    Unlink(e);
    usage -= e->charge;
    dropped->push_back(std::move(e->block));
    const CacheKey key = e->key;  // erase must not see a key inside the node it destroys
    map.erase(key);
  }
};

BlockCache::BlockCache(size_t capacity_bytes)
    : capacity_(capacity_bytes), shards_(std::make_unique<Shard[]>(kNumShards)) {
  const size_t per_shard = (capacity_bytes + kNumShards - 1) / kNumShards;
  for (int i = 0; i < kNumShards; i++) shards_[i].capacity = per_shard;
}

BlockCache::~BlockCache() = default;

BlockCache::Shard& BlockCache::ShardFor(uint64_t file_number, uint64_t offset) const {
  return shards_[MixKey(file_number, offset) >> (64 - kNumShardBits)];
}

uint64_t BlockCache::hits() const {
  uint64_t n = 0;
  for (int i = 0; i < kNumShards; i++) {
    std::lock_guard<std::mutex> l(shards_[i].mu);
    n += shards_[i].hits;
  }
  return n;
}

uint64_t BlockCache::misses() const {
  uint64_t n = 0;
  for (int i = 0; i < kNumShards; i++) {
    std::lock_guard<std::mutex> l(shards_[i].mu);
    n += shards_[i].misses;
  }
  return n;
}

size_t BlockCache::usage() const {
  size_t n = 0;
  for (int i = 0; i < kNumShards; i++) {
    std::lock_guard<std::mutex> l(shards_[i].mu);
    n += shards_[i].usage;
  }
  return n;
}

std::shared_ptr<const Block> BlockCache::Lookup(uint64_t file_number, uint64_t offset) {
  Shard& s = ShardFor(file_number, offset);
  std::lock_guard<std::mutex> l(s.mu);
  auto it = s.map.find(CacheKey{file_number, offset});
  if (it == s.map.end()) {
    s.misses++;
    return nullptr;
  }
  s.hits++;
  Shard::Entry* e = &it->second;
  s.Unlink(e);
  s.PushFront(e);
  return e->block;
}

void BlockCache::Insert(uint64_t file_number, uint64_t offset, std::shared_ptr<const Block> block,
                        size_t charge) {
  if (capacity_ == 0 || block == nullptr) return;
  Shard& s = ShardFor(file_number, offset);
  std::vector<std::shared_ptr<const Block>> dropped;
  {
    std::lock_guard<std::mutex> l(s.mu);
    const CacheKey key{file_number, offset};
    auto [it, inserted] = s.map.try_emplace(key);
    Shard::Entry* e = &it->second;
    if (inserted) {
      e->key = key;
    } else {
      s.Unlink(e);
      s.usage -= e->charge;
      dropped.push_back(std::move(e->block));
    }
    e->block = std::move(block);
    e->charge = charge;
    s.usage += charge;
    s.PushFront(e);
    while (s.usage > s.capacity && s.head.prev != &s.head) s.Remove(s.head.prev, &dropped);
  }
}

void BlockCache::EraseFile(uint64_t file_number) {
  for (int i = 0; i < kNumShards; i++) {
    Shard& s = shards_[i];
    std::vector<std::shared_ptr<const Block>> dropped;
    std::lock_guard<std::mutex> l(s.mu);
    for (auto it = s.map.begin(); it != s.map.end();) {
      if (it->first.file_number == file_number) {
        Shard::Entry* e = &it->second;
        s.Unlink(e);
        s.usage -= e->charge;
        dropped.push_back(std::move(e->block));
        it = s.map.erase(it);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace zworld::engine
