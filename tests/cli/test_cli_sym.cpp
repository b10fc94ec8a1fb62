// `symtrace sym`: the command function itself, compiled into this test (its registration
// with the executable's command table is left out).
#define SYMTRACE_SYM_CMD_NO_REGISTER
#include "cli/cmd_sym.cpp"

#include <cstdio>
#include <fstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace symtrace::cli {
namespace {

struct Result {
  int rc;
  std::string out, err;
};

Result sym(std::vector<std::string> args) {
  Result r{0, {}, {}};
  r.rc = sym_cmd::run(args, r.out, r.err);
  return r;
}

std::string temp_file(const std::string& text) {
  char name[] = "/tmp/symtrace_cli_sym_XXXXXX";
  const int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  std::FILE* f = fdopen(fd, "w");
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return name;
}

std::vector<boost::json::value> json_lines(const std::string& out) {
  std::vector<boost::json::value> v;
  std::size_t start = 0;
  for (std::size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1)
    v.push_back(boost::json::parse(out.substr(start, nl - start)));
  return v;
}

TEST(CliSym, SimplifyPrintsTheCanonicalForm) {
  auto r = sym({"simplify", "(a + b)*c - c*b"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "a*c\n");
  EXPECT_EQ(sym({"simplify", "floordiv(64*a, 32) + mod(128*a, 64)"}).out, "2*a\n");
  EXPECT_EQ(sym({"simplify", "mod(n + 5, 64)", "--assume", "mod(n, 64) == 0"}).out, "5\n");
  EXPECT_EQ(sym({"simplify", "min(x, 100)", "--range", "x=0..64"}).out, "x\n");
  EXPECT_EQ(sym({"simplify", "ceildiv(hidden, 128)"}).out, "ceildiv(hidden, 128)\n");
}

TEST(CliSym, ProvePrintsTrueFalseOrUnknown) {
  EXPECT_EQ(sym({"prove", "mod(h*b, 64) == 0", "--assume", "mod(h, 128) == 0"}).out, "true\n");
  EXPECT_EQ(sym({"prove", "a + b < 2"}).out, "false\n");
  EXPECT_EQ(sym({"prove", "a <= b"}).out, "unknown\n");
  EXPECT_EQ(sym({"prove", "x >= 0"}).out, "true\n");  // a size: >= 1 by default
  EXPECT_EQ(sym({"prove", "x >= 0", "--range", "x=-3.."}).out, "unknown\n");
  EXPECT_EQ(sym({"prove", "x <= 9", "--range=x=..9"}).out, "true\n");
  EXPECT_EQ(sym({"prove", "x*x >= 0", "--range", "x=.."}).out, "true\n");
  EXPECT_EQ(sym({"prove", "a + 2 <= c", "--assume", "a < b", "--assume=b < c"}).out, "true\n");
  EXPECT_EQ(sym({"prove", "a < 1"}).rc, 0);
}

TEST(CliSym, SyntaxErrorsPointAtTheColumn) {
  auto r = sym({"simplify", "x + )"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "symtrace sym: error: column 5: expected a number, a name or '(', found ')'\n  x + )\n      ^\n");
  r = sym({"prove", "a = b"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("column 3"), std::string::npos);
  r = sym({"prove", "a < b", "--assume", "a <"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("assumption 1 (a <): column 4"), std::string::npos);
}

TEST(CliSym, DivisionByAProvableZeroIsAnError) {
  auto r = sym({"simplify", "x // (y - y)"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("column 6"), std::string::npos);
  r = sym({"prove", "x // y > 0", "--range", "y=0..0"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("column 6: division by zero: y is 0 under the facts"), std::string::npos);
  r = sym({"prove", "mod(x, y - z) > 0", "--assume", "y == z"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("column 8"), std::string::npos);
  EXPECT_EQ(sym({"prove", "x // y >= 0", "--range", "y=0..1"}).rc, 0);  // y may be 1: not provably 0
}

TEST(CliSym, UsageErrorsExitTwo) {
  EXPECT_EQ(sym({}).rc, 2);
  EXPECT_EQ(sym({"--help"}).rc, 0);
  EXPECT_EQ(sym({"factor", "x"}).rc, 2);
  EXPECT_EQ(sym({"prove"}).rc, 2);
  EXPECT_EQ(sym({"prove", "a < b", "c < d"}).rc, 2);
  EXPECT_EQ(sym({"prove", "a < b", "--range", "a=1:3"}).rc, 2);
  EXPECT_EQ(sym({"prove", "a < b", "--assume"}).rc, 2);
  EXPECT_EQ(sym({"simplify", "--batch", "f.jsonl"}).rc, 2);
  EXPECT_EQ(sym({"prove", "a < b", "--assume", "a > 5", "--assume", "a < 3"}).rc, 2);  // contradiction
  EXPECT_EQ(sym({"prove", "--batch", "/nonexistent/file.jsonl"}).rc, 2);
}

TEST(CliSym, BatchAnswersEachLineInOrder) {
  const std::string file = temp_file(
      "{\"id\":1,\"fact\":\"a*b >= 1\"}\n"
      "{\"id\":\"q2\",\"fact\":\"mod(x,2)==1\",\"assume\":[\"x == 2*y\"],\"note\":\"ignored\"}\n"
      "\n"
      "{\"id\":3,\"fact\":\"x < \",\"range\":{\"x\":[null,5]}}\n"
      "not json\n"
      "{\"id\":[4],\"fact\":\"x <= 5\",\"range\":{\"x\":[null,5]}}\n"
      "{\"id\":5,\"fact\":\"x // y > 0\",\"range\":{\"y\":[0,0]}}\n"
      "{\"id\":6,\"fact\":\"x > 0\",\"range\":{\"x\":[\"a\",5]}}\n");
  auto r = sym({"prove", "--batch", file});
  std::remove(file.c_str());
  EXPECT_EQ(r.rc, 2);  // some lines were bad input; every line still got its answer
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(boost::json::serialize(lines[0]), R"({"id":1,"answer":"true"})");
  EXPECT_EQ(boost::json::serialize(lines[1]), R"({"id":"q2","answer":"false"})");
  EXPECT_EQ(lines[2].at("id").as_int64(), 3);
  EXPECT_NE(std::string(lines[2].at("error").as_string()).find("column 5"), std::string::npos);
  EXPECT_TRUE(lines[3].at("id").is_null());
  EXPECT_TRUE(lines[3].as_object().contains("error"));
  EXPECT_EQ(boost::json::serialize(lines[4]), R"({"id":[4],"answer":"true"})");
  EXPECT_NE(std::string(lines[5].at("error").as_string()).find("division by zero"), std::string::npos);
  EXPECT_TRUE(lines[6].as_object().contains("error"));
  EXPECT_EQ(lines[7].at("queries").as_int64(), 7);
  EXPECT_GE(lines[7].at("seconds").as_double(), 0.0);
}

TEST(CliSym, BatchOfTheProveMix) {
  const std::string path = std::string(SYMTRACE_SOURCE_DIR) + "/tests/sym/data/prove_mix.jsonl";
  auto r = sym({"prove", "--batch", path});
  EXPECT_EQ(r.rc, 0) << r.err;
  auto lines = json_lines(r.out);
  std::ifstream in(path);
  std::string line;
  std::size_t i = 0, right = 0;
  while (std::getline(in, line)) {
    ASSERT_LT(i, lines.size());
    const auto row = boost::json::parse(line).as_object();
    EXPECT_EQ(lines[i].at("id"), row.at("id"));
    const auto got = lines[i].as_object().if_contains("answer");
    ASSERT_TRUE(got) << line;
    if (got->as_string() == row.at("expect").as_string()) {
      ++right;
    } else {
      EXPECT_EQ(got->as_string(), "unknown") << "wrong answer for " << line;
    }
    ++i;
  }
  ASSERT_EQ(lines.size(), i + 1);
  const double seconds = lines.back().at("seconds").as_double();
  std::printf("[ cli sym  ] prove --batch: %zu/%zu answered right, %.2f us per query (wall)\n", right, i,
              seconds / static_cast<double>(i) * 1e6);
  EXPECT_GE(static_cast<double>(right), 0.97 * static_cast<double>(i));
}

}  // namespace
}  // namespace symtrace::cli
