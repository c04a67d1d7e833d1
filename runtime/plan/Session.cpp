//===- runtime/plan/Session.cpp - Handshakes and run inputs ---------------===//
//
// The hello of every link (Handshake.h: encoding, parsing, checks), the
// handshakes of the parties and the dealer built on it with the seed
// distribution, the checking and encoding of plan inputs, and the
// peak-memory probe.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/ExecutorImpl.h"
#include "runtime/plan/Handshake.h"

#include "llvm/Support/MemoryBuffer.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <sys/resource.h>

#include <cmath>
#include <cstring>
#include <string>

using namespace mpc;
using namespace mpc::rt;

namespace {

static_assert(kHelloVersion < 10, "the magic's last byte is the digit");
constexpr char kHelloMagic[8] = {'M', 'P', 'C', 'C',
                                 'R', 'U', 'N', char('0' + kHelloVersion)};

void putU32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = uint8_t(v >> (8 * i));
}

uint32_t getU32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= uint32_t(p[i]) << (8 * i);
  return v;
}

std::string roleText(int role) {
  return role == kAnyRole ? "any role" : roleName(role);
}

bool allZero(llvm::ArrayRef<uint8_t> b) {
  return llvm::all_of(b, [](uint8_t x) { return x == 0; });
}

} // namespace

std::array<uint8_t, kHelloBytes> mpc::rt::encodeHello(const Hello &h) {
  std::array<uint8_t, kHelloBytes> b{};
  uint8_t *p = b.data();
  std::memcpy(p, kHelloMagic, 8);
  putU32(p + 8, kHelloVersion);
  putU32(p + 12, kPlanFormatVersion);
  p[16] = uint8_t(h.role);
  p[17] = uint8_t(h.peerRole);
  putU32(p + 20, h.flags);
  putU32(p + 24, h.windowMiB);
  std::memcpy(p + 28, h.digest.data(), 32);
  std::memcpy(p + 60, h.session.data(), 32);
  std::memcpy(p + 92, h.binding.data(), 32);
  return b;
}

llvm::Expected<Hello> mpc::rt::parseHello(llvm::ArrayRef<uint8_t> b) {
  if (b.size() != kHelloBytes)
    return mpc::error("a hello is {} bytes, not {}", kHelloBytes, b.size());
  if (std::memcmp(b.data(), kHelloMagic, 7) != 0)
    return mpc::error("not an mpc-run peer");
  const uint8_t *p = b.data();
  // The magic's last byte is the version's digit (before version 2, the
  // only version number there); only this version's digit is accepted,
  // the number after it must then agree.
  auto otherVersion = [](uint32_t v) {
    return mpc::error("the peer speaks hello version {}, this mpc-run {}: "
                      "run the same mpc-run version everywhere",
                      v, kHelloVersion);
  };
  if (p[7] != kHelloMagic[7])
    return p[7] >= '0' && p[7] <= '9' ? otherVersion(uint32_t(p[7] - '0'))
                                      : mpc::error("not an mpc-run peer");
  if (uint32_t version = getU32(p + 8); version != kHelloVersion)
    return otherVersion(version);
  if (uint32_t f = getU32(p + 12); f != kPlanFormatVersion)
    return mpc::error("the peer runs plan format version {}, this mpc-run {}",
                      f, kPlanFormatVersion);
  Hello h;
  h.role = p[16];
  h.peerRole = p[17];
  if (h.role > kDealerRole)
    return mpc::error("the peer claims role {}", h.role);
  if (h.peerRole > kDealerRole && h.peerRole != kAnyRole)
    return mpc::error("the peer names role {} for this end", h.peerRole);
  if (p[18] != 0 || p[19] != 0)
    return mpc::error("the hello's reserved bytes are not zero");
  h.flags = getU32(p + 20);
  if (h.flags & ~kHelloRevealToBoth)
    return mpc::error("the hello has unknown flags {:#x}", h.flags);
  h.windowMiB = getU32(p + 24);
  std::memcpy(h.digest.data(), p + 28, 32);
  std::memcpy(h.session.data(), p + 60, 32);
  std::memcpy(h.binding.data(), p + 92, 32);
  return h;
}

llvm::Error mpc::rt::checkHello(const Hello &theirs, const HelloExpectation &e,
                                llvm::StringRef peerName) {
  std::string who = peerName.str();
  bool roleOk = e.peer == kAnyRole
                    ? theirs.role != kDealerRole && theirs.role != e.me
                    : theirs.role == e.peer;
  if (!roleOk)
    return mpc::error("{} is {}, expected {}{}", who, roleText(theirs.role),
                      roleText(e.peer),
                      e.authenticated ? " (its certificate says so)" : "");
  bool peerRoleOk = theirs.peerRole == e.me ||
                    (theirs.peerRole == kAnyRole &&
                     theirs.role == kDealerRole && !e.authenticated);
  if (!peerRoleOk)
    return mpc::error("{} believes it talks to {}, but this is {}", who,
                      roleText(theirs.peerRole), roleName(e.me));
  if (theirs.binding != e.binding)
    return mpc::error("{} sent a hello bound to another connection (TLS "
                      "exporter mismatch): refusing a relayed handshake",
                      who);
  if (e.digest && theirs.digest != *e.digest) {
    return mpc::error("{} runs a different plan (its digest {}..., this "
                      "one's {}...)",
                      who, digestHex(theirs.digest).substr(0, 16),
                      digestHex(*e.digest).substr(0, 16));
  }
  if (theirs.role == kDealerRole && allZero(theirs.session))
    return mpc::error("{} sent no session id", who);
  if (e.session && theirs.session != *e.session)
    return mpc::error("{} is in another session of the dealer (session id "
                      "{:02x}{:02x}{:02x}{:02x}..., this party's "
                      "{:02x}{:02x}{:02x}{:02x}...)",
                      who, theirs.session[0], theirs.session[1],
                      theirs.session[2], theirs.session[3], (*e.session)[0],
                      (*e.session)[1], (*e.session)[2], (*e.session)[3]);
  return llvm::Error::success();
}

namespace {

/// Sends \p mine on \p ch and receives, parses and checks the peer's.
llvm::Expected<Hello> exchangeHello(Channel &ch, const Hello &mine,
                                    const HelloExpectation &e) {
  std::array<uint8_t, kHelloBytes> out = encodeHello(mine), in{};
  if (llvm::Error err = ch.exchange(out, in))
    return addContext(std::move(err), "handshake: ");
  llvm::Expected<Hello> theirs = parseHello(in);
  if (!theirs)
    return addContext(theirs.takeError(),
                      fmt::format("handshake: {}: ", ch.peerName()));
  if (llvm::Error err = checkHello(*theirs, e, ch.peerName()))
    return addContext(std::move(err), "handshake: ");
  return theirs;
}

/// The expectation for a link whose peer is \p peer (or, for the dealer
/// without TLS, kAnyRole).
HelloExpectation expect(int me, int peer, const Channel &ch,
                        const LoadedPlan &plan) {
  HelloExpectation e;
  e.me = me;
  e.authenticated = ch.authenticatedRole() >= 0;
  e.peer = e.authenticated ? ch.authenticatedRole() : peer;
  e.digest = &plan.digest;
  e.binding = ch.binding();
  return e;
}

llvm::Error sendSeeds(Channel &ch, llvm::ArrayRef<Seed> seeds) {
  std::vector<uint8_t> bytes;
  for (const Seed &s : seeds)
    bytes.insert(bytes.end(), s.begin(), s.end());
  llvm::Error e = ch.send(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return e;
}

llvm::Error recvSeeds(Channel &ch, llvm::MutableArrayRef<Seed> seeds) {
  std::vector<uint8_t> bytes(seeds.size() * sizeof(Seed));
  llvm::Error e = ch.recv(bytes);
  if (!e)
    for (size_t i = 0; i < seeds.size(); ++i)
      std::memcpy(seeds[i].data(), bytes.data() + i * sizeof(Seed),
                  sizeof(Seed));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return e;
}

} // namespace

PartySeeds::~PartySeeds() {
  OPENSSL_cleanse(dealer.data(), dealer.size());
  OPENSSL_cleanse(mask.data(), mask.size());
  OPENSSL_cleanse(common.data(), common.size());
}

DealerSeeds::~DealerSeeds() {
  OPENSSL_cleanse(s0.data(), s0.size());
  OPENSSL_cleanse(s1.data(), s1.size());
  OPENSSL_cleanse(mask.data(), mask.size());
}

llvm::Expected<std::unique_ptr<PartySeeds>>
mpc::rt::partyHandshake(int party, const LoadedPlan &plan, Channel &peer,
                        Channel &dealer, const RunOptions &opts) {
  auto seeds = std::make_unique<PartySeeds>();
  Hello mine;
  mine.role = party;
  mine.flags = opts.revealToBoth ? kHelloRevealToBoth : 0;
  mine.windowMiB = opts.materialWindowMiB;
  mine.digest = plan.digest;

  // The dealer: its hello carries the session id.
  mine.peerRole = kDealerRole;
  mine.binding = dealer.binding();
  llvm::Expected<Hello> d =
      exchangeHello(dealer, mine, expect(party, kDealerRole, dealer, plan));
  if (!d)
    return d.takeError();
  if (party == 0) {
    Seed two[2];
    llvm::Error e = recvSeeds(dealer, two);
    seeds->dealer = two[0];
    seeds->mask = two[1];
    OPENSSL_cleanse(two, sizeof two);
    if (e)
      return addContext(std::move(e), "handshake: seeds from the dealer: ");
  } else if (llvm::Error e = recvSeeds(dealer, {&seeds->dealer, 1})) {
    return addContext(std::move(e), "handshake: seed from the dealer: ");
  }

  // The other party: the same session, the same options.
  mine.peerRole = 1 - party;
  mine.session = d->session;
  mine.binding = peer.binding();
  HelloExpectation e = expect(party, 1 - party, peer, plan);
  e.session = &d->session;
  llvm::Expected<Hello> p = exchangeHello(peer, mine, e);
  if (!p)
    return p.takeError();
  if (p->flags != mine.flags)
    return mpc::error("handshake: party 0 and party 1 disagree on "
                      "--reveal-to-both (this party: {})",
                      opts.revealToBoth ? "on" : "off");
  // Both parties must cut the offline phase at the same ops: each window
  // ends with a barrier.
  if (p->windowMiB != mine.windowMiB)
    return mpc::error("handshake: party 0 and party 1 disagree on the "
                      "material window, --material-window (this party: {} "
                      "MiB, {}: {} MiB)",
                      mine.windowMiB, roleName(1 - party), p->windowMiB);
  if (party == 0) {
    seeds->common = randomSeed();
    if (llvm::Error err = sendSeeds(peer, {seeds->common}))
      return addContext(std::move(err), "handshake: ");
  } else if (llvm::Error err = recvSeeds(peer, {&seeds->common, 1})) {
    return addContext(std::move(err), "handshake: common seed: ");
  }
  return seeds;
}

llvm::Expected<std::unique_ptr<DealerSeeds>>
mpc::rt::dealerHandshake(const LoadedPlan &plan, Channel &a, Channel &b) {
  auto s = std::make_unique<DealerSeeds>();
  Hello mine;
  mine.role = kDealerRole;
  mine.digest = plan.digest;
  if (RAND_bytes(mine.session.data(), int(mine.session.size())) != 1)
    return mpc::error("handshake: no randomness for a session id");
  for (Channel *ch : {&a, &b}) {
    // Over TLS the certificate has already said which party this is.
    int known = ch->authenticatedRole();
    mine.peerRole = known >= 0 ? known : kAnyRole;
    mine.binding = ch->binding();
    llvm::Expected<Hello> h =
        exchangeHello(*ch, mine, expect(kDealerRole, kAnyRole, *ch, plan));
    if (!h)
      return h.takeError();
    Channel *&slot = h->role == 0 ? s->toP0 : s->toP1;
    if (slot)
      return mpc::error("handshake: {} claims to be {}, which is taken",
                        ch->peerName(), roleName(h->role));
    slot = ch;
    if (known < 0)
      ch->setPeerName(roleName(h->role) + " (" + ch->peerName() + ")");
  }
  s->s0 = randomSeed();
  s->s1 = randomSeed();
  s->mask = randomSeed();
  if (llvm::Error e = sendSeeds(*s->toP0, {s->s0, s->mask}))
    return addContext(std::move(e), "handshake: ");
  if (llvm::Error e = sendSeeds(*s->toP1, {s->s1}))
    return addContext(std::move(e), "handshake: ");
  return s;
}

// --- Inputs
// -------------------------------------------------------------------

std::string mpc::rt::dims(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

bool mpc::rt::inputDtypeAccepts(llvm::StringRef dtype, HostType t) {
  if (dtype == "int64")
    return t == HostType::I64 || t == HostType::I32 || t == HostType::Bool;
  return t == HostType::F32 || t == HostType::F64;
}

namespace {

/// Token ids that feed a onehot or an embedding lookup directly must index
/// its table.
llvm::Error checkIdRanges(const LoadedPlan &plan, const plan::PlanInput &in,
                          const HostTensor &t) {
  for (const OpDesc &op : plan.ops) {
    if (op.in.empty() || op.in[0]->id != in.value())
      continue;
    int64_t depth = 0;
    if (op.kernel->id() == KernelId::OneHot)
      depth = op.attrInt("depth");
    else if (op.kernel->id() == KernelId::EmbedLookup)
      depth = op.in[1]->shape[0];
    else
      continue;
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
    if (!shapeOk || !inputDtypeAccepts(in->dtype(), t.type))
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
      return mpc::error("missing input '{}' ({}{}) for party {}: give it "
                        "with --input {}=FILE (.npy)",
                        in.name(), in.dtype(),
                        dims(plan.value(in.value()).shape), party, in.name());
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
