// Process-wide hash-consing of Expr nodes: a sharded open-addressing table of node
// pointers, each shard with its own mutex and bump arena. Lookups compare children by
// pointer (children are interned already), so a probe is a few word compares.
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
      chunks_.push_back(std::make_unique<std::uint64_t[]>(chunk / 8));
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

 private:
  static constexpr std::size_t kChunk = 64 * 1024;
  std::vector<std::unique_ptr<std::uint64_t[]>> chunks_;
  char* cur_ = nullptr;
  std::size_t left_ = 0;
  std::size_t used_ = 0;
};

struct Shard {
  std::mutex mu;
  std::vector<const Node*> slots = std::vector<const Node*>(256, nullptr);
  std::size_t count = 0;
  Arena arena;

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

constexpr std::size_t kShards = 32;

std::array<Shard, kShards>& shards() {
  static auto* all = new std::array<Shard, kShards>();  // never destroyed: nodes outlive statics
  return *all;
}

}  // namespace

const Node* intern(ExprKind kind, std::int64_t value, std::span<const Expr> kids,
                   std::string_view name) {
  const std::uint64_t hash = hash_of(kind, value, kids, name);
  Shard& s = shards()[hash >> 59];  // top 5 bits pick the shard, low bits the slot
  std::lock_guard lock(s.mu);
  std::size_t mask = s.slots.size() - 1;
  std::size_t i = hash & mask;
  for (; s.slots[i]; i = (i + 1) & mask)
    if (same(s.slots[i], hash, kind, value, kids, name)) return s.slots[i];

  // New node: children array and name follow the node in the arena.
  std::uint64_t sym_mask = kind == ExprKind::kSymbol ? 1ULL << (value & 63) : 0;
  for (const Expr& k : kids) sym_mask |= k.node()->sym_mask;
  void* mem = s.arena.allocate(sizeof(Node) + kids.size() * sizeof(Expr) + name.size());
  Node* n = static_cast<Node*>(mem);
  Expr* kid_arr = reinterpret_cast<Expr*>(reinterpret_cast<char*>(n) + sizeof(Node));
  for (std::size_t k = 0; k < kids.size(); ++k) new (&kid_arr[k]) Expr(kids[k]);
  char* name_mem = reinterpret_cast<char*>(kid_arr + kids.size());
  if (!name.empty()) std::memcpy(name_mem, name.data(), name.size());
  new (n) Node{hash, sym_mask, value, kid_arr, name.empty() ? nullptr : name_mem,
               static_cast<std::uint32_t>(kids.size()), static_cast<std::uint32_t>(name.size()),
               kind};
  s.slots[i] = n;
  if (++s.count * 2 > s.slots.size()) s.grow();
  return n;
}

}  // namespace detail

InternStats intern_stats() {
  InternStats st;
  for (auto& s : detail::shards()) {
    std::lock_guard lock(s.mu);
    st.nodes += s.count;
    st.bytes += s.arena.used() + s.slots.size() * sizeof(void*);
  }
  return st;
}

}  // namespace symtrace::sym
