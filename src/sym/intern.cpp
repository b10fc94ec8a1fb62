// Process-wide hash-consing of Expr nodes: a sharded open-addressing table of node
// pointers, each shard with its own mutex and bump arena. Lookups compare children by
// pointer (children are interned already), so a probe is a few word compares.
// Inside a ScratchScope, nodes the shared table lacks go to a thread-local table that is
// freed with the scope: decide() builds many short-lived expressions (measured: ~87% of
// the nodes a random workload makes), and they need not live for the whole process.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>

#include "sym/node.hpp"

namespace symtrace::sym {
namespace detail {
namespace {

constexpr std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  // A multiply-xorshift step (as in splitmix64): cheap, and good enough that the low bits
  // used by the table and the high bits used for the shard are both well spread.
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 29;
  return h;
}

std::uint64_t hash_of(ExprKind kind, std::int64_t value, std::span<const Expr> kids,
                      std::string_view name) {
  std::uint64_t h = mix(static_cast<std::uint64_t>(kind) + 1, static_cast<std::uint64_t>(value));
  for (const Expr& k : kids) h = mix(h, k.node()->hash);
  for (char c : name) h = mix(h, static_cast<unsigned char>(c));
  return h;
}

bool same(const Node* n, std::uint64_t hash, ExprKind kind, std::int64_t value,
          std::span<const Expr> kids, std::string_view name) {
  if (n->hash != hash || n->kind != kind || n->value != value || n->n != kids.size()) return false;
  for (std::size_t i = 0; i < kids.size(); ++i)
    if (n->kids[i] != kids[i]) return false;
  return n->symbol_name() == name;
}

// Bump allocator for nodes, their children arrays and symbol names.
class Arena {
 public:
  void* allocate(std::size_t bytes) {
    bytes = (bytes + 7) & ~std::size_t{7};
    if (bytes > left_) {
      std::size_t chunk = bytes > kChunk ? bytes : kChunk;
      chunks_.push_back(std::unique_ptr<std::uint64_t[]>(new std::uint64_t[chunk / 8]));  // not zeroed
      cur_ = reinterpret_cast<char*>(chunks_.back().get());
      left_ = chunk;
    }
    void* p = cur_;
    cur_ += bytes;
    left_ -= bytes;
    used_ += bytes;
    return p;
  }
  std::size_t used() const { return used_; }

  // Forgets every allocation, keeping the first chunk for reuse.
  void reset() {
    if (chunks_.size() > 1) chunks_.resize(1);
    cur_ = chunks_.empty() ? nullptr : reinterpret_cast<char*>(chunks_[0].get());
    left_ = chunks_.empty() ? 0 : kChunk;
    used_ = 0;
  }

 private:
  static constexpr std::size_t kChunk = 64 * 1024;
  std::vector<std::unique_ptr<std::uint64_t[]>> chunks_;
  char* cur_ = nullptr;
  std::size_t left_ = 0;
  std::size_t used_ = 0;
};

// An open-addressing set of node pointers (linear probing, at most half full) with the
// arena its nodes live in.
struct Table {
  std::vector<const Node*> slots = std::vector<const Node*>(256, nullptr);
  std::size_t count = 0;
  Arena arena;

  // The slot holding the node with these fields, or the empty slot where it belongs.
  std::size_t find(std::uint64_t hash, ExprKind kind, std::int64_t value, std::span<const Expr> kids,
                   std::string_view name) const {
    const std::size_t mask = slots.size() - 1;
    std::size_t i = hash & mask;
    for (; slots[i]; i = (i + 1) & mask)
      if (same(slots[i], hash, kind, value, kids, name)) return i;
    return i;
  }

  const Node* insert(std::size_t slot, std::uint64_t hash, ExprKind kind, std::int64_t value,
                     std::span<const Expr> kids, std::string_view name) {
    // The children array and the name follow the node in the arena.
    std::uint64_t sym_mask = kind == ExprKind::kSymbol ? 1ULL << (value & 63) : 0;
    for (const Expr& k : kids) sym_mask |= k.node()->sym_mask;
    void* mem = arena.allocate(sizeof(Node) + kids.size() * sizeof(Expr) + name.size());
    Node* n = static_cast<Node*>(mem);
    Expr* kid_arr = reinterpret_cast<Expr*>(reinterpret_cast<char*>(n) + sizeof(Node));
    for (std::size_t k = 0; k < kids.size(); ++k) new (&kid_arr[k]) Expr(kids[k]);
    char* name_mem = reinterpret_cast<char*>(kid_arr + kids.size());
    if (!name.empty()) std::memcpy(name_mem, name.data(), name.size());
    new (n) Node{hash, sym_mask, value, kid_arr, name.empty() ? nullptr : name_mem,
                 static_cast<std::uint32_t>(kids.size()), static_cast<std::uint32_t>(name.size()), kind};
    slots[slot] = n;
    if (++count * 2 > slots.size()) grow();
    return n;
  }

  void reset() {
    if (slots.size() > 4096) {
      slots.assign(256, nullptr);
    } else {
      std::fill(slots.begin(), slots.end(), nullptr);
    }
    count = 0;
    arena.reset();
  }

  void grow() {
    std::vector<const Node*> bigger(slots.size() * 2, nullptr);
    const std::size_t mask = bigger.size() - 1;
    for (const Node* n : slots) {
      if (!n) continue;
      std::size_t i = n->hash & mask;
      while (bigger[i]) i = (i + 1) & mask;
      bigger[i] = n;
    }
    slots.swap(bigger);
  }
};

struct Shard {
  std::mutex mu;
  Table table;
};

constexpr std::size_t kShards = 32;

std::array<Shard, kShards>& shards() {
  static auto* all = new std::array<Shard, kShards>();  // never destroyed: nodes outlive statics
  return *all;
}

// Nodes made inside a ScratchScope that the shared table does not hold yet; the table
// and its first arena chunk are kept per thread and reused by the next scope.
thread_local Table* tl_scratch = nullptr;
thread_local std::unique_ptr<Table> tl_scratch_store;

}  // namespace

const Node* intern(ExprKind kind, std::int64_t value, std::span<const Expr> kids,
                   std::string_view name) {
  const std::uint64_t hash = hash_of(kind, value, kids, name);
  Shard& s = shards()[hash >> 59];  // top 5 bits pick the shard, low bits the slot
  {
    std::lock_guard lock(s.mu);
    const std::size_t i = s.table.find(hash, kind, value, kids, name);
    if (s.table.slots[i]) return s.table.slots[i];
    if (!tl_scratch) return s.table.insert(i, hash, kind, value, kids, name);
  }
  const std::size_t i = tl_scratch->find(hash, kind, value, kids, name);
  if (tl_scratch->slots[i]) return tl_scratch->slots[i];
  return tl_scratch->insert(i, hash, kind, value, kids, name);
}

ScratchScope::ScratchScope() : owner_(tl_scratch == nullptr) {
  if (!owner_) return;
  (void)Expr(0);  // the cached small constants must be made in the shared table
  if (!tl_scratch_store) tl_scratch_store = std::make_unique<Table>();
  tl_scratch = tl_scratch_store.get();
}

ScratchScope::~ScratchScope() {
  if (!owner_) return;
  tl_scratch->reset();
  tl_scratch = nullptr;
}

}  // namespace detail

InternStats intern_stats() {
  InternStats st;
  for (auto& s : detail::shards()) {
    std::lock_guard lock(s.mu);
    st.nodes += s.table.count;
    st.bytes += s.table.arena.used() + s.table.slots.size() * sizeof(void*);
  }
  return st;
}

}  // namespace symtrace::sym
