//===- tests/unit/session/RequestListTests.cpp - --requests files -------===//
//
// A request list is read as a shell splits words, so what requestListLine
// writes (mpcc eval's lists) reads back the same, whatever the paths hold.
//
//===----------------------------------------------------------------------===//

#include "../TempFiles.h"
#include "../plan/PlanTestUtil.h"

#include "runtime/session/Run.h"

#include <catch2/catch.hpp>

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::rt::testing;
using Catch::Matchers::Contains;
using mpc::test::TempDir;

TEST_CASE("a request list keeps paths with spaces, quotes and backslashes",
          "[plan][mpc-run]") {
  TempDir dir("mpcc-requests");
  std::vector<RequestFiles> want = {
      {{"input_ids=/tmp/my data/ids 0.npy", "mask=plain.npy"},
       {"logits=/tmp/out dir/it's \"quoted\" $HOME \\ back.npy"}},
      {{"x=a.npy"}, {"y.npy", "z=b c.npy"}},
      // A bare quote, a tab, a trailing backslash: no space to give them
      // away, and each special to the tokenizer.
      {{"x=bob's.npy", "t=tab\there.npy"}, {"o=dir\\", "p=\"q\".npy"}}};
  std::string list = "# written by requestListLine\n";
  for (const RequestFiles &r : want)
    list += requestListLine(r);
  // A plain line is left as it was written.
  CHECK(requestListLine(want[1]) == "--input x=a.npy --output y.npy "
                                    "--output \"z=b c.npy\"\n");
  REQUIRE(errorOf(writeFileAtomic(dir.file("list.txt"), list)) == "");
  auto got = readRequestList(dir.file("list.txt"));
  REQUIRE(errorOf(got.takeError()) == "");
  REQUIRE(got->size() == want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    CHECK((*got)[k].inputs == want[k].inputs);
    CHECK((*got)[k].outputs == want[k].outputs);
  }
}

TEST_CASE("a request list line with an unterminated quote is an error",
          "[session]") {
  // Read as the tokenizer reads it, the ' would take the rest of the line
  // into one word: y.npy would be read as another file name, silently.
  TempDir dir("mpcc-requests");
  REQUIRE(errorOf(writeFileAtomic(dir.file("list.txt"),
                                  "--input x=a.npy --output y.npy\n"
                                  "--input x=bob's.npy --output y.npy\n")) ==
          "");
  std::string err = errorOf(readRequestList(dir.file("list.txt")).takeError());
  CHECK_THAT(err, Contains("list.txt:2: the quote at column 14 is not closed"));
  // Quoted, or after a backslash, it is a path.
  REQUIRE(errorOf(writeFileAtomic(dir.file("ok.txt"),
                                  "--input \"x=bob's.npy\" --output y.npy\n"
                                  "--input x=bob\\'s.npy --output z.npy\n")) ==
          "");
  auto got = readRequestList(dir.file("ok.txt"));
  REQUIRE(errorOf(got.takeError()) == "");
  REQUIRE(got->size() == 2);
  CHECK((*got)[0].inputs == std::vector<std::string>{"x=bob's.npy"});
  CHECK((*got)[1].inputs == std::vector<std::string>{"x=bob's.npy"});
}

TEST_CASE("a request list line that is not a request is named", "[session]") {
  TempDir dir("mpcc-requests");
  REQUIRE(errorOf(writeFileAtomic(dir.file("list.txt"),
                                  "--input x=a.npy --output y.npy\n"
                                  "--input x=b.npy \"--output y.npy\"\n")) ==
          "");
  std::string err = errorOf(readRequestList(dir.file("list.txt")).takeError());
  CHECK_THAT(err, Contains("list.txt:2: expected --input NAME=FILE or "
                           "--output FILE, not '--output y.npy'"));
}
