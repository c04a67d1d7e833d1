//===- runtime/plan/Session.cpp - Handshakes and run inputs ---------------===//
//
// The hello every connection starts with (magic, version, role, flags, plan
// digest; a fixed 56 bytes exchanged both ways at once, so a mismatch is
// seen by both ends and neither waits), the seed distribution, the checking
// and encoding of plan inputs, and the peak-memory probe.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/ExecutorImpl.h"

#include "llvm/Support/MemoryBuffer.h"

#include <sys/resource.h>

#include <cmath>
#include <cstring>
#include <string>

using namespace mpc;
using namespace mpc::rt;

namespace {

constexpr char kHelloMagic[8] = {'M', 'P', 'C', 'C', 'R', 'U', 'N', '1'};
constexpr uint32_t kFlagRevealToBoth = 1;

struct Hello {
  char magic[8];
  uint32_t version;
  uint32_t role; ///< 0, 1, 2 (dealer)
  uint32_t flags;
  uint32_t windowMiB; ///< RunOptions::materialWindowMiB (parties).
  uint8_t digest[32];
};
static_assert(sizeof(Hello) == 56, "the hello is a fixed 56 bytes");

Hello makeHello(int role, uint32_t flags, uint32_t windowMiB,
                const PlanDigest &d) {
  Hello h{};
  std::memcpy(h.magic, kHelloMagic, 8);
  h.version = kPlanFormatVersion;
  h.role = uint32_t(role);
  h.flags = flags;
  h.windowMiB = windowMiB;
  std::memcpy(h.digest, d.data(), d.size());
  return h;
}

/// Exchanges hellos on \p ch and checks the peer's: an mpc-run of the same
/// version running the same plan. Returns the peer's hello.
llvm::Expected<Hello> exchangeHello(Channel &ch, int me, uint32_t flags,
                                    uint32_t windowMiB,
                                    const LoadedPlan &plan) {
  Hello mine = makeHello(me, flags, windowMiB, plan.digest), theirs{};
  if (llvm::Error e =
          ch.exchange(llvm::ArrayRef<uint8_t>(
                          reinterpret_cast<uint8_t *>(&mine), sizeof mine),
                      llvm::MutableArrayRef<uint8_t>(
                          reinterpret_cast<uint8_t *>(&theirs), sizeof theirs)))
    return addContext(std::move(e), "handshake: ");
  if (std::memcmp(theirs.magic, kHelloMagic, 8) != 0)
    return mpc::error("handshake: {} is not an mpc-run peer", ch.peerName());
  if (theirs.version != kPlanFormatVersion)
    return mpc::error("handshake: {} runs plan format version {}, this "
                      "mpc-run {}",
                      ch.peerName(), theirs.version, kPlanFormatVersion);
  if (theirs.role > 2)
    return mpc::error("handshake: {} claims role {}", ch.peerName(),
                      theirs.role);
  if (std::memcmp(theirs.digest, plan.digest.data(), 32) != 0) {
    PlanDigest d;
    std::memcpy(d.data(), theirs.digest, 32);
    return mpc::error("handshake: {} ({}) runs a different plan (its digest "
                      "{}..., {} has {}...)",
                      roleName(int(theirs.role)), ch.peerName(),
                      digestHex(d).substr(0, 16), plan.name,
                      digestHex(plan.digest).substr(0, 16));
  }
  return theirs;
}

llvm::Error sendSeeds(Channel &ch, llvm::ArrayRef<Seed> seeds) {
  std::vector<uint8_t> bytes;
  for (const Seed &s : seeds)
    bytes.insert(bytes.end(), s.begin(), s.end());
  return ch.send(bytes);
}

llvm::Error recvSeeds(Channel &ch, llvm::MutableArrayRef<Seed> seeds) {
  std::vector<uint8_t> bytes(seeds.size() * sizeof(Seed));
  if (llvm::Error e = ch.recv(bytes))
    return e;
  for (size_t i = 0; i < seeds.size(); ++i)
    std::memcpy(seeds[i].data(), bytes.data() + i * sizeof(Seed), sizeof(Seed));
  return llvm::Error::success();
}

} // namespace

llvm::Expected<PartySeeds>
mpc::rt::partyHandshake(int party, const LoadedPlan &plan, Channel &peer,
                        Channel &dealer, const RunOptions &opts) {
  uint32_t flags = opts.revealToBoth ? kFlagRevealToBoth : 0;
  PartySeeds seeds;
  uint32_t window = opts.materialWindowMiB;
  llvm::Expected<Hello> d = exchangeHello(dealer, party, flags, window, plan);
  if (!d)
    return d.takeError();
  if (d->role != 2)
    return mpc::error("handshake: {} is {}, expected the dealer",
                      dealer.peerName(), roleName(int(d->role)));
  if (party == 0) {
    Seed two[2];
    if (llvm::Error e = recvSeeds(dealer, two))
      return addContext(std::move(e), "handshake: seeds from the dealer: ");
    seeds.dealer = two[0];
    seeds.mask = two[1];
  } else if (llvm::Error e = recvSeeds(dealer, {&seeds.dealer, 1})) {
    return addContext(std::move(e), "handshake: seed from the dealer: ");
  }

  llvm::Expected<Hello> p = exchangeHello(peer, party, flags, window, plan);
  if (!p)
    return p.takeError();
  if (int(p->role) != 1 - party)
    return mpc::error("handshake: {} is {}, expected party {}", peer.peerName(),
                      roleName(int(p->role)), 1 - party);
  if (p->flags != flags)
    return mpc::error("handshake: party 0 and party 1 disagree on "
                      "--reveal-to-both (this party: {})",
                      opts.revealToBoth ? "on" : "off");
  // Both parties must cut the offline phase at the same ops: each window
  // ends with a barrier.
  if (p->windowMiB != window)
    return mpc::error("handshake: party 0 and party 1 disagree on the "
                      "material window, --material-window (this party: {} "
                      "MiB, {}: {} MiB)",
                      window, roleName(1 - party), p->windowMiB);
  if (party == 0) {
    seeds.common = randomSeed();
    if (llvm::Error e = sendSeeds(peer, {seeds.common}))
      return addContext(std::move(e), "handshake: ");
  } else if (llvm::Error e = recvSeeds(peer, {&seeds.common, 1})) {
    return addContext(std::move(e), "handshake: common seed: ");
  }
  return seeds;
}

llvm::Expected<DealerSeeds> mpc::rt::dealerHandshake(const LoadedPlan &plan,
                                                     Channel &a, Channel &b) {
  DealerSeeds s;
  Channel *chans[2] = {&a, &b};
  for (Channel *ch : chans) {
    llvm::Expected<Hello> h = exchangeHello(*ch, 2, 0, 0, plan);
    if (!h)
      return h.takeError();
    Channel *&slot = h->role == 0 ? s.toP0 : s.toP1;
    if (h->role == 2 || slot)
      return mpc::error("handshake: {} claims to be {}, which is taken",
                        ch->peerName(), roleName(int(h->role)));
    slot = ch;
  }
  s.toP0->setPeerName("party 0 (" + s.toP0->peerName() + ")");
  s.toP1->setPeerName("party 1 (" + s.toP1->peerName() + ")");
  s.s0 = randomSeed();
  s.s1 = randomSeed();
  s.mask = randomSeed();
  if (llvm::Error e = sendSeeds(*s.toP0, {s.s0, s.mask}))
    return addContext(std::move(e), "handshake: ");
  if (llvm::Error e = sendSeeds(*s.toP1, {s.s1}))
    return addContext(std::move(e), "handshake: ");
  return s;
}

// --- Inputs
// -------------------------------------------------------------------

namespace {

/// "[1,16]", as in numpy-style messages about user tensors.
std::string dims(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

bool dtypeAccepts(llvm::StringRef dtype, HostType t) {
  if (dtype == "int64")
    return t == HostType::I64 || t == HostType::I32 || t == HostType::Bool;
  return t == HostType::F32 || t == HostType::F64;
}

/// Token ids that feed a onehot directly must index its table.
llvm::Error checkIdRanges(const LoadedPlan &plan, const plan::PlanInput &in,
                          const HostTensor &t) {
  for (const OpDesc &op : plan.ops) {
    if (op.kernelName() != "onehot" || op.in[0]->id != in.value())
      continue;
    int64_t depth = op.attrInt("depth");
    for (size_t i = 0; i < t.i.size(); ++i)
      if (t.i[i] < 0 || t.i[i] >= depth)
        return mpc::error("input '{}': id {} at index {} is out of range [0, "
                          "{}) of {}",
                          in.name(), t.i[i], i, depth, op.describe());
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::map<int, RingTensor>>
mpc::rt::encodeInputs(const LoadedPlan &plan, int party,
                      const std::map<std::string, HostTensor> &given) {
  std::map<int, RingTensor> out;
  std::string mine;
  for (const plan::PlanInput &in : plan.proto->inputs())
    if (in.owner() == party)
      mine += (mine.empty() ? "'" : ", '") + in.name() + "'";
  for (const auto &[name, t] : given) {
    const plan::PlanInput *in = nullptr;
    for (const plan::PlanInput &pi : plan.proto->inputs())
      if (pi.name() == name && pi.owner() == party)
        in = &pi;
    if (!in)
      return mpc::error("the plan has no input '{}' for party {} (its "
                        "inputs: {})",
                        name, party, mine.empty() ? "none" : mine);
    const ValueDesc &v = plan.value(in->value());
    bool shapeOk =
        llvm::ArrayRef<int64_t>(t.shape) == llvm::ArrayRef<int64_t>(v.shape);
    if (!shapeOk || !dtypeAccepts(in->dtype(), t.type))
      return mpc::error("input '{}': expected {}{}, got {}{}", name,
                        in->dtype(), dims(v.shape), hostTypeName(t.type).str(),
                        dims(t.shape));
    RingTensor r(v.shape);
    if (v.isInt) {
      if (llvm::Error e = checkIdRanges(plan, *in, t))
        return e;
      for (int64_t i = 0; i < r.size(); ++i)
        r[i] = u64(t.i[i]);
    } else {
      double limit = std::ldexp(1.0, 62 - v.frac);
      for (int64_t i = 0; i < r.size(); ++i) {
        double x = t.f[i];
        if (!std::isfinite(x) || std::fabs(x) >= limit)
          return mpc::error("input '{}': value {} at index {} cannot be "
                            "encoded with {} fractional bits",
                            name, x, i, v.frac);
        r[i] = encodeFixed(x, v.frac);
      }
    }
    out.emplace(v.id, std::move(r));
  }
  for (const plan::PlanInput &in : plan.proto->inputs())
    if (in.owner() == party && !out.count(in.value()))
      return mpc::error("missing input '{}' ({}{}) for party {}", in.name(),
                        in.dtype(), dims(plan.value(in.value()).shape), party);
  return out;
}

uint64_t mpc::rt::peakRssBytes() {
  auto status = llvm::MemoryBuffer::getFileAsStream("/proc/self/status");
  if (status) {
    llvm::SmallVector<llvm::StringRef, 64> lines;
    (*status)->getBuffer().split(lines, '\n');
    for (llvm::StringRef line : lines) {
      uint64_t kb = 0;
      if (line.consume_front("VmHWM:") &&
          !line.trim().split(' ').first.getAsInteger(10, kb))
        return kb * 1024;
    }
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return uint64_t(ru.ru_maxrss) * 1024;
}
