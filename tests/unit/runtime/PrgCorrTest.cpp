//===- tests/unit/runtime/PrgCorrTest.cpp - PRG and dealer material -------===//
//
// The PRG is a function of the seed and the position in the stream only (and
// can start anywhere in it); the dealer and the two parties draw aligned
// streams, and party 1's correction stream makes every dealt sharing
// reconstruct to the dealer's value.
//
//===----------------------------------------------------------------------===//

#include "runtime/Corr.h"
#include "runtime/Prg.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>

using namespace mpc::rt;

namespace {

Seed seedOf(uint8_t b) {
  Seed s;
  s.fill(b);
  return s;
}

std::vector<uint8_t> drawChunked(const Seed &seed, size_t total,
                                 llvm::ArrayRef<size_t> chunks) {
  Prg prg(seed);
  std::vector<uint8_t> out(total);
  size_t pos = 0, c = 0;
  while (pos < total) {
    size_t n = std::min(chunks[c++ % chunks.size()], total - pos);
    prg.fill(out.data() + pos, n);
    pos += n;
  }
  return out;
}

} // namespace

TEST_CASE("PRG output depends only on seed and position", "[prg]") {
  Seed seed = seedOf(42);
  size_t total = 300000;
  std::vector<uint8_t> whole = drawChunked(seed, total, {total});
  CHECK(drawChunked(seed, total, {1}) == whole);
  CHECK(drawChunked(seed, total, {7, 8, 3, 16384, 1, 100000}) == whole);
  CHECK(drawChunked(seed, total, {16383, 16385, 65536 * 2 + 5}) == whole);

  // next() and tensor() continue the same stream.
  Prg p(seed);
  u64 first = p.next();
  RingTensor t = p.tensor({3, 5});
  u64 w[2];
  p.fillWords(w, 2);
  std::vector<u64> expect(18);
  std::memcpy(expect.data(), whole.data(), 18 * 8);
  CHECK(first == expect[0]);
  CHECK(std::equal(t.vec().begin(), t.vec().end(), expect.begin() + 1));
  CHECK(w[0] == expect[16]);
  CHECK(w[1] == expect[17]);
}

TEST_CASE("PRG drawn from an offset continues the stream there", "[prg]") {
  Seed seed = seedOf(9);
  size_t total = 65536 * 16 + 4000;
  std::vector<uint8_t> whole = drawChunked(seed, total, {total});
  // Offsets inside and at a block's edge, past the 16 KiB buffer, and past
  // 2^16 blocks (the counter's carry into its next byte).
  for (size_t start :
       {size_t(0), size_t(1), size_t(8), size_t(15), size_t(16), size_t(17),
        size_t(16384 + 3), size_t(65536 * 16 - 8), size_t(65536 * 16 + 24)}) {
    CAPTURE(start);
    Prg p(seed, start);
    std::vector<uint8_t> part(total - start);
    p.fill(part.data(), 5); // a small draw, then a large one
    p.fill(part.data() + 5, part.size() - 5);
    CHECK(std::equal(part.begin(), part.end(), whole.begin() + start));
  }
}

TEST_CASE("PRG is AES-128-CTR of zeros", "[prg]") {
  // FIPS-197 Appendix C.1 key; block 0 of CTR with IV 0 is AES_k(0).
  Seed key = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
              0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
  Prg p(key);
  uint8_t block[16];
  p.fill(block, 16);
  // AES-128(key 000102..0f, plaintext 0) = c6a13b37 878f5b82 6f4f8162 a1c8d879
  const uint8_t expect[16] = {0xc6, 0xa1, 0x3b, 0x37, 0x87, 0x8f, 0x5b, 0x82,
                              0x6f, 0x4f, 0x81, 0x62, 0xa1, 0xc8, 0xd8, 0x79};
  CHECK(std::memcmp(block, expect, 16) == 0);
}

TEST_CASE("Different seeds give different streams", "[prg]") {
  Prg a(seedOf(1)), b(seedOf(2));
  RingTensor ta = a.tensor({64}), tb = b.tensor({64});
  int equal = 0;
  for (int i = 0; i < 64; ++i)
    equal += ta[i] == tb[i];
  CHECK(equal == 0);
  Seed r1 = randomSeed(), r2 = randomSeed();
  CHECK(r1 != r2);
}

TEST_CASE("Dealer and parties produce reconstructing shares", "[corr]") {
  Seed s0 = randomSeed(), s1 = randomSeed();
  std::vector<u64> toP1;
  Corr dealer = Corr::dealer(s0, s1, &toP1);
  Corr p0 = Corr::party(0, s0), p1 = Corr::party(1, s1);
  CHECK(dealer.isDealer());
  CHECK(p0.role() == Role::P0);
  CHECK(p1.role() == Role::P1);

  // The same deal sequence in all three roles.
  struct Out {
    Dealt r, v, bits, xv;
    RingTensor priv0, priv1;
  };
  auto deal = [](Corr &c) {
    Out o;
    o.r = c.random({4, 3});
    o.v = c.shareOf({2, 2}, [&] {
      RingTensor v = Corr::value(o.r).reshaped({12});
      return RingTensor({2, 2}, {v[0] * 3, v[1] + 1, 5, u64(-7)});
    });
    o.priv0 = c.privateRandom(0, {3});
    o.bits = c.randomBits({5});
    o.priv1 = c.privateRandom(1, {2});
    o.xv = c.xorShareOf({3}, [&] {
      return RingTensor({3}, {Corr::xorValue(o.bits)[0], 0xff, 1});
    });
    return o;
  };
  Out d = deal(dealer);
  p1.setInput(toP1);
  Out a = deal(p0);
  Out b = deal(p1);

  CHECK(toP1.size() == 4 + 3);
  CHECK(dealer.correctionWords() == 7);
  CHECK(p1.correctionWords() == 7);
  CHECK(p0.correctionWords() == 0);
  CHECK(p1.remainingInput() == 0);
  CHECK_FALSE(p1.outOfSync());

  // Each party holds exactly the dealer's share for its index.
  CHECK(a.r.s[0].vec() == d.r.s[0].vec());
  CHECK(b.r.s[1].vec() == d.r.s[1].vec());
  CHECK(a.r.s[1].empty());
  CHECK(b.r.s[0].empty());
  RingTensor rv = add(a.r.s[0], b.r.s[1]);
  CHECK(rv.vec() == Corr::value(d.r).vec());

  RingTensor v = add(a.v.s[0], b.v.s[1]);
  CHECK(v.shape() == Shape{2, 2});
  CHECK(v.vec() == std::vector<u64>{rv[0] * 3, rv[1] + 1, 5, u64(-7)});
  CHECK(v.vec() == Corr::value(d.v).vec());

  RingTensor bits = Corr::xorValue(d.bits);
  for (int i = 0; i < 5; ++i)
    CHECK((a.bits.s[0][i] ^ b.bits.s[1][i]) == bits[i]);
  RingTensor xv = Corr::xorValue(d.xv);
  CHECK(xv.vec() == std::vector<u64>{bits[0], 0xff, 1});
  for (int i = 0; i < 3; ++i)
    CHECK((a.xv.s[0][i] ^ b.xv.s[1][i]) == xv[i]);

  // Private randomness: known to its owner and the dealer only.
  CHECK(a.priv0.vec() == d.priv0.vec());
  CHECK(b.priv0.empty());
  CHECK(b.priv1.vec() == d.priv1.vec());
  CHECK(a.priv1.empty());
  CHECK(d.priv0.size() == 3);
}

TEST_CASE("Party 1 reading past its corrections is reported", "[corr]") {
  Seed s0 = randomSeed(), s1 = randomSeed();
  std::vector<u64> toP1;
  Corr dealer = Corr::dealer(s0, s1, &toP1);
  (void)dealer.shareOf({2}, [] { return RingTensor({2}, {1, 2}); });
  Corr p1 = Corr::party(1, s1);
  p1.setInput(toP1);
  Dealt ok = p1.shareOf({2}, [] { return RingTensor(); });
  CHECK_FALSE(p1.outOfSync());
  CHECK(ok.s[1].vec() == toP1);
  Dealt bad = p1.shareOf({3}, [] { return RingTensor(); });
  CHECK(p1.outOfSync());
  CHECK(bad.s[1].vec() == std::vector<u64>(3, 0));
  CHECK(p1.correctionWords() == 2);

  // Leftover input is visible too (the party dealt less than the dealer).
  Corr q1 = Corr::party(1, s1);
  q1.setInput(toP1);
  CHECK(q1.remainingInput() == 2);
  CHECK_FALSE(q1.outOfSync());
}

TEST_CASE("Corrections stream through a sink and a source as they are made",
          "[corr]") {
  Seed s0 = randomSeed(), s1 = randomSeed();
  // The dealer's sink sees each correction as it is dealt, in order.
  std::vector<std::vector<u64>> sent;
  Corr dealer = Corr::dealer(s0, s1, [&](llvm::ArrayRef<u64> w) {
    sent.emplace_back(w.begin(), w.end());
    return llvm::Error::success();
  });
  Dealt a = dealer.shareOf({2}, [] { return RingTensor({2}, {1, 2}); });
  (void)dealer.random({5}); // no correction
  Dealt b = dealer.shareOf({3}, [] { return RingTensor({3}, {3, 4, 5}); });
  REQUIRE(sent.size() == 2);
  CHECK(sent[0] == a.s[1].vec());
  CHECK(sent[1] == b.s[1].vec());
  CHECK_FALSE(bool(dealer.takeStreamError()));

  // Party 1's source fills each tensor, reading no more than it was given.
  Corr p1 = Corr::party(1, s1);
  std::vector<size_t> reads;
  size_t next = 0;
  p1.setSource(5, [&](llvm::MutableArrayRef<u64> w) {
    reads.push_back(w.size());
    std::copy_n(sent[next++].begin(), w.size(), w.begin());
    return llvm::Error::success();
  });
  CHECK(p1.shareOf({2}, [] { return RingTensor(); }).s[1].vec() ==
        a.s[1].vec());
  (void)p1.random({5});
  CHECK(p1.shareOf({3}, [] { return RingTensor(); }).s[1].vec() ==
        b.s[1].vec());
  CHECK(reads == std::vector<size_t>{2, 3});
  CHECK(p1.remainingInput() == 0);
  CHECK_FALSE(bool(p1.takeStreamError()));

  // A failing source is reported once; later deals read nothing.
  Corr q1 = Corr::party(1, s1);
  int calls = 0;
  q1.setSource(5, [&](llvm::MutableArrayRef<u64>) {
    ++calls;
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the dealer closed the connection");
  });
  (void)q1.shareOf({2}, [] { return RingTensor(); });
  (void)q1.shareOf({3}, [] { return RingTensor(); });
  CHECK(calls == 1);
  CHECK(llvm::toString(q1.takeStreamError()) ==
        "the dealer closed the connection");
  CHECK_FALSE(bool(q1.takeStreamError()));

  // So is a failing sink.
  Corr d2 = Corr::dealer(s0, s1, [&](llvm::ArrayRef<u64>) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "party 1 closed the connection");
  });
  (void)d2.shareOf({2}, [] { return RingTensor({2}, {1, 2}); });
  CHECK(llvm::toString(d2.takeStreamError()) ==
        "party 1 closed the connection");
}
