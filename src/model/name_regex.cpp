// NameRegex: a recursive-descent parser to a small AST, Thompson construction to a program,
// and a lockstep (Pike VM) simulation without captures.
#include "model/name_regex.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>

namespace symtrace::model::detail {

namespace {

inline constexpr int kMaxDepth = 64;           // nested groups
inline constexpr std::size_t kMaxProgram = 20000;  // instructions after expanding {n,m}
inline constexpr int kMaxCount = 1000;         // n and m of {n,m}

struct Node {
  enum Kind : std::uint8_t { kSet, kCat, kAlt, kRep, kEmpty, kBol, kEol } kind;
  int set = 0;            // kSet
  std::vector<int> kids;  // kCat, kAlt, kRep (one)
  int min = 0, max = 0;   // kRep; max -1 = unbounded
};

using CharSet = std::bitset<256>;

CharSet class_of(char c) {  // \d \w \s
  CharSet s;
  for (int i = 0; i < 256; ++i) {
    const int ch = i;
    const bool in = c == 'd' ? (ch >= '0' && ch <= '9')
                    : c == 'w' ? (std::isalnum(ch) != 0 || ch == '_') && ch < 128
                               : (ch == ' ' || (ch >= '\t' && ch <= '\r'));
    s[i] = in;
  }
  return s;
}

}  // namespace

class RegexCompiler {
 public:
  explicit RegexCompiler(std::string_view p) : p_(p) {}

  NameRegex run() {
    const int root = alternation(0);
    if (i_ < p_.size()) fail(p_[i_] == ')' ? "unbalanced parenthesis" : "unexpected character");
    emit(root);
    out_.prog_.push_back({NameRegex::Inst::kAccept});
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(std::string_view why) const {
    diag::Diagnostic d;
    d.code = "config-value";
    d.argument = std::string(p_);
    d.message = fmt::format("regex \"{}\": {} at position {}", p_, why, i_);
    d.hint = "ignore and target regexes use Python re syntax without lookarounds or backreferences";
    throw diag::Error(std::move(d));
  }

  bool eof() const { return i_ >= p_.size(); }
  char peek() const { return p_[i_]; }

  int node(Node n) {
    nodes_.push_back(std::move(n));
    return static_cast<int>(nodes_.size()) - 1;
  }
  int set_node(const CharSet& s) {
    out_.sets_.push_back(s);
    return node({Node::kSet, static_cast<int>(out_.sets_.size()) - 1, {}, 0, 0});
  }

  int alternation(int depth) {
    if (depth > kMaxDepth) fail("groups nested too deeply");
    std::vector<int> alts{concatenation(depth)};
    while (!eof() && peek() == '|') {
      ++i_;
      alts.push_back(concatenation(depth));
    }
    return alts.size() == 1 ? alts[0] : node({Node::kAlt, 0, std::move(alts), 0, 0});
  }

  int concatenation(int depth) {
    std::vector<int> items;
    while (!eof() && peek() != '|' && peek() != ')') {
      if (peek() == '*' || peek() == '+' || peek() == '?') fail("nothing to repeat");
      int a = atom(depth);
      if (quantifier(a)) {
        if (!eof() && peek() == '?') ++i_;  // lazy: the same language
        if (!eof() && (peek() == '*' || peek() == '+' || peek() == '?' || brace_ahead()))
          fail("multiple repeat");
      }
      items.push_back(a);
    }
    if (items.empty()) return node({Node::kEmpty, 0, {}, 0, 0});
    return items.size() == 1 ? items[0] : node({Node::kCat, 0, std::move(items), 0, 0});
  }

  // {n}, {n,}, {,m}, {n,m} at i_; on success *n/*m are set and the end index is returned.
  std::size_t brace_spec(int* n, int* m) const {
    std::size_t j = i_;
    if (j >= p_.size() || p_[j] != '{') return 0;
    ++j;
    auto number = [&](int* out) {
      const std::size_t start = j;
      long v = 0;
      while (j < p_.size() && std::isdigit(static_cast<unsigned char>(p_[j])) && v <= kMaxCount)
        v = v * 10 + (p_[j++] - '0');
      if (j == start) return false;
      *out = static_cast<int>(std::min<long>(v, kMaxCount + 1));
      return true;
    };
    const bool has_n = number(n);
    if (!has_n) *n = 0;
    if (j < p_.size() && p_[j] == '}') return has_n ? (*m = *n, j + 1) : 0;
    if (j >= p_.size() || p_[j] != ',') return 0;
    ++j;
    if (!number(m)) *m = -1;
    if (j >= p_.size() || p_[j] != '}') return 0;
    return j + 1;
  }
  bool brace_ahead() const {
    int n = 0, m = 0;
    return brace_spec(&n, &m) != 0;
  }

  bool quantifier(int& a) {
    if (eof()) return false;
    int lo = 0, hi = 0;
    if (peek() == '*') lo = 0, hi = -1, ++i_;
    else if (peek() == '+') lo = 1, hi = -1, ++i_;
    else if (peek() == '?') lo = 0, hi = 1, ++i_;
    else if (std::size_t end = brace_spec(&lo, &hi)) {
      if (lo > kMaxCount || hi > kMaxCount) fail("repeat count too large");
      if (hi != -1 && hi < lo) fail("min repeat greater than max repeat");
      i_ = end;
    } else {
      return false;
    }
    a = node({Node::kRep, 0, {a}, lo, hi});
    return true;
  }

  char escaped_char(char c) {
    switch (c) {
      case 'n': return '\n';
      case 't': return '\t';
      case 'r': return '\r';
      case 'f': return '\f';
      case 'v': return '\v';
      default: break;
    }
    if (std::isalnum(static_cast<unsigned char>(c))) fail(fmt::format("bad escape \\{}", c));
    return c;  // punctuation stands for itself
  }

  int atom(int depth) {
    const char c = p_[i_++];
    switch (c) {
      case '.': {
        CharSet s;
        s.set();
        s['\n'] = false;
        return set_node(s);
      }
      case '^': return node({Node::kBol, 0, {}, 0, 0});
      case '$': return node({Node::kEol, 0, {}, 0, 0});
      case '[': return char_class();
      case '(': {
        if (!eof() && peek() == '?') {
          if (p_.substr(i_).starts_with("?:")) i_ += 2;
          else if (p_.substr(i_).starts_with("?P<")) {
            const auto close = p_.find('>', i_);
            if (close == std::string_view::npos) fail("unterminated group name");
            i_ = close + 1;
          } else {
            fail("lookarounds, flags and other (?...) groups are not supported");
          }
        }
        const int inner = alternation(depth + 1);
        if (eof() || peek() != ')') fail("missing )");
        ++i_;
        return inner;
      }
      case '\\': {
        if (eof()) fail("trailing backslash");
        const char e = p_[i_++];
        if (e == 'd' || e == 'w' || e == 's') return set_node(class_of(e));
        if (e == 'D' || e == 'W' || e == 'S') return set_node(~class_of(static_cast<char>(std::tolower(e))));
        if (e == 'A') return node({Node::kBol, 0, {}, 0, 0});
        if (e == 'Z') return node({Node::kEol, 0, {}, 0, 0});
        if (e == 'b' || e == 'B') fail("word boundaries are not supported");
        if (std::isdigit(static_cast<unsigned char>(e))) fail("backreferences are not supported");
        return literal(escaped_char(e));
      }
      default: return literal(c);
    }
  }

  int literal(char c) {
    CharSet s;
    s[static_cast<unsigned char>(c)] = true;
    return set_node(s);
  }

  int char_class() {
    CharSet s;
    const bool negate = !eof() && peek() == '^';
    if (negate) ++i_;
    bool first = true;
    while (true) {
      if (eof()) fail("unterminated character set");
      char c = p_[i_++];
      if (c == ']' && !first) break;
      first = false;
      if (c == '\\') {
        if (eof()) fail("trailing backslash");
        const char e = p_[i_++];
        if (e == 'd' || e == 'w' || e == 's') {
          s |= class_of(e);
          continue;
        }
        if (e == 'D' || e == 'W' || e == 'S') {
          s |= ~class_of(static_cast<char>(std::tolower(e)));
          continue;
        }
        c = escaped_char(e);
      }
      unsigned char lo = static_cast<unsigned char>(c), hi = lo;
      if (i_ + 1 < p_.size() && peek() == '-' && p_[i_ + 1] != ']') {
        ++i_;
        char h = p_[i_++];
        if (h == '\\') {
          if (eof()) fail("trailing backslash");
          h = escaped_char(p_[i_++]);
        }
        hi = static_cast<unsigned char>(h);
        if (hi < lo) fail("bad character range");
      }
      for (int x = lo; x <= hi; ++x) s[x] = true;
    }
    return set_node(negate ? ~s : s);
  }

  // ---- program ----------------------------------------------------------------------------
  using Inst = NameRegex::Inst;
  int pc() const { return static_cast<int>(out_.prog_.size()); }
  int push(Inst in) {
    if (out_.prog_.size() >= kMaxProgram) fail("pattern too large after expanding repeats");
    out_.prog_.push_back(in);
    return pc() - 1;
  }

  void emit(int id) {
    const Node& n = nodes_[id];
    switch (n.kind) {
      case Node::kSet: push({Inst::kSet, n.set, 0}); break;
      case Node::kBol: push({Inst::kBol}); break;
      case Node::kEol: push({Inst::kEol}); break;
      case Node::kEmpty: break;
      case Node::kCat:
        for (int k : n.kids) emit(k);
        break;
      case Node::kAlt: {
        std::vector<int> to_end;
        for (std::size_t k = 0; k < n.kids.size(); ++k) {
          if (k + 1 == n.kids.size()) {
            emit(n.kids[k]);
            break;
          }
          const int split = push({Inst::kSplit, 0, 0});
          out_.prog_[split].x = pc();
          emit(n.kids[k]);
          to_end.push_back(push({Inst::kJmp, 0, 0}));
          out_.prog_[split].y = pc();
        }
        for (int j : to_end) out_.prog_[j].x = pc();
        break;
      }
      case Node::kRep: {
        const int child = n.kids[0];
        for (int k = 0; k < n.min; ++k) emit(child);
        if (n.max == -1) {  // L: split body, out; body; jmp L
          const int split = push({Inst::kSplit, 0, 0});
          out_.prog_[split].x = pc();
          emit(child);
          push({Inst::kJmp, split, 0});
          out_.prog_[split].y = pc();
        } else {
          std::vector<int> skips;
          for (int k = n.min; k < n.max; ++k) {
            const int split = push({Inst::kSplit, 0, 0});
            out_.prog_[split].x = pc();
            skips.push_back(split);
            emit(child);
          }
          for (int s : skips) out_.prog_[s].y = pc();
        }
        break;
      }
    }
  }

  std::string_view p_;
  std::size_t i_ = 0;
  std::vector<Node> nodes_;
  NameRegex out_;
};

NameRegex NameRegex::compile(std::string_view pattern) { return RegexCompiler(pattern).run(); }

bool NameRegex::match_prefix(std::string_view name) const {
  const int n = static_cast<int>(prog_.size());
  std::vector<int> mark(n, -1), clist, nlist, stack;
  clist.reserve(n), nlist.reserve(n), stack.reserve(n);
  // Adds pc and its epsilon closure at input position `pos` (generation = pos) to `list`;
  // true when the closure reaches kAccept.
  auto add = [&](std::vector<int>& list, int start, int pos) {
    stack.push_back(start);
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      if (mark[p] == pos) continue;
      mark[p] = pos;
      const Inst& in = prog_[p];
      switch (in.op) {
        case Inst::kSet: list.push_back(p); break;
        case Inst::kJmp: stack.push_back(in.x); break;
        case Inst::kSplit:
          stack.push_back(in.y);
          stack.push_back(in.x);
          break;
        case Inst::kBol:
          if (pos == 0) stack.push_back(p + 1);
          break;
        case Inst::kEol:
          if (pos == static_cast<int>(name.size())) stack.push_back(p + 1);
          break;
        case Inst::kAccept: stack.clear(); return true;
      }
    }
    return false;
  };
  if (add(clist, 0, 0)) return true;
  for (std::size_t i = 0; i < name.size() && !clist.empty(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    nlist.clear();
    for (int p : clist)
      if (sets_[prog_[p].x][c] && add(nlist, p + 1, static_cast<int>(i) + 1)) return true;
    std::swap(clist, nlist);
  }
  return false;
}

}  // namespace symtrace::model::detail
