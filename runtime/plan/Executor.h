//===- runtime/plan/Executor.h - Run a plan as a party or dealer -*- C++ -*-==//
//
// One run of a validated plan, in four phases:
//
//   handshake  each party and the dealer, and the two parties, exchange a
//              hello with the plan digest (a mismatch fails on both sides);
//              party 0 sends party 1 the common PRG seed, the dealer sends
//              each party its seed and party 0 the weight-mask seed.
//   set-up     party 0 sends W - B for every weight the private-weight
//              kernels read, all in one round (per session).
//   offline    the dealer runs every op's deal() in plan order and streams
//              its corrections to party 1, exactly cost(op).dealerBytes1
//              bytes per op; both parties run deal() in their role.
//   online     ops grouped by schedule step: the step's local ops run
//              first, then its interactive ops run together with one
//              StepRunner, so their exchanges share rounds.
// With RunOptions::materialWindowMiB the parties alternate offline and
// online per window of steps (the dealer, blocked by TCP flow control,
// simply runs ahead by what the socket buffers hold).
//
// Every op is profiled (rounds, bytes each way, dealer bytes, seconds), so
// the measured profile can be compared with the cost formulas exactly.
// Inputs and the weights are checked before any network I/O (encodeInputs,
// readWeightsFile); channel failures come back as errors that name the
// party, the phase and the op.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Channel.h"
#include "runtime/plan/PlanReader.h"
#include "runtime/plan/Weights.h"
#include "support/Tensor.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mpc::rt {

/// Where a long run has got to (for progress output).
struct Progress {
  llvm::StringRef phase; ///< "set-up", "offline", "online".
  size_t done = 0, total = 0;
  double elapsedSeconds = 0;
};

struct RunOptions {
  /// Party 1 sends party 0 every output party 0 cannot see, after the
  /// online phase (one more round). Both parties must agree (checked in
  /// the handshake).
  bool revealToBoth = false;
  /// Bounds the dealer material a party holds at once: the schedule steps
  /// are cut into windows of at most this many MiB of party 1's dealer
  /// bytes (at least one step each), and each window's offline phase runs
  /// just before its online steps, so peak memory no longer grows with the
  /// whole model's material. 0 deals everything before the online phase.
  /// Online and offline seconds, bytes and rounds are the same either way
  /// (summed over the windows). Both parties must agree (handshake).
  uint32_t materialWindowMiB = 0;
  /// Called after each schedule step / offline op; may be empty.
  std::function<void(const Progress &)> progress;
};

/// Schedule steps [first, last) (indices into LoadedPlan::steps).
using StepRange = std::pair<size_t, size_t>;

/// The schedule steps cut into windows of at most \p windowMiB MiB of party
/// 1's dealer bytes (at least one step each); one window of all steps when
/// \p windowMiB is 0. (RunOptions::materialWindowMiB.)
std::vector<StepRange> materialWindows(const LoadedPlan &plan,
                                       uint32_t windowMiB);

/// What one role of a run holds at once, estimated from the plan before
/// any allocation (8 bytes per ring element). The executor's own
/// bookkeeping is followed: values live from their definition (weights,
/// constants and inputs from the start) to their last reader, outputs to
/// the end; party 1 keeps W - B of every set-up weight; dealer material is
/// held per material window, about twice party 1's dealer bytes on party 1
/// (the corrections and its own PRG shares), once on party 0, and the
/// dealer holds one op's corrections and material at a time. A kernel's
/// temporaries are not counted, so the real peak is somewhat higher.
struct MemoryNeed {
  uint64_t total = 0;    ///< Values + material at the worst step.
  uint64_t values = 0;   ///< Of which live values (weights included).
  uint64_t material = 0; ///< Of which dealer material.
  int op = -1;           ///< The first op of the worst step (-1: before any).
};
MemoryNeed memoryNeed(const LoadedPlan &plan, int role, uint32_t windowMiB);

/// 3/4 of this machine's physical memory (the default of --max-memory).
uint64_t defaultMemoryBudget();

/// An error naming \p role, the need and its parts when memoryNeed exceeds
/// \p budgetBytes: a plan too large for the machine is refused at load,
/// not ended by a failed allocation half-way through a run.
llvm::Error checkMemoryBudget(const LoadedPlan &plan, int role,
                              uint32_t windowMiB, uint64_t budgetBytes);

/// One op's measured cost, in the rows of the cost report.
struct OpProfile {
  int index = 0;
  std::string node;   ///< ONNX node (provenance).
  std::string onnxOp; ///< ONNX op type.
  std::string kernel; ///< Runtime kernel (protocol).
  int step = 0;
  uint64_t rounds = 0, bytes01 = 0, bytes10 = 0, dealerBytes = 0;
  /// Local compute time of the op plus its share (by bytes) of its step's
  /// communication time.
  double seconds = 0;
  double offlineSeconds = 0; ///< Time in deal().
  /// The op's local work by the cost formulas (Cost::macs, elemOps),
  /// written with the profile so that it alone can calibrate `mpcc report`.
  double macs = 0, elemOps = 0;
};

/// A party's (or the dealer's) measurement of one run.
struct RunProfile {
  int party = 0; ///< 0, 1, or 2 for the dealer.
  std::vector<OpProfile> ops;
  double handshakeSeconds = 0, setupSeconds = 0, offlineSeconds = 0,
         onlineSeconds = 0;
  uint64_t setupRounds = 0, setupBytes01 = 0;
  uint64_t onlineRounds = 0, onlineBytes01 = 0, onlineBytes10 = 0;
  /// Online bytes on the dealer's links (the embedding lookups): party 1 ->
  /// dealer as party 1 and the dealer measure it, dealer -> party 0 as
  /// party 0 and the dealer do.
  uint64_t onlineBytes1D = 0, onlineBytesD0 = 0;
  /// Offline bytes received from (parties) or sent by (dealer) the dealer.
  uint64_t dealerBytes0 = 0, dealerBytes1 = 0;
  /// The --reveal-to-both transfer after the online phase.
  uint64_t outputRounds = 0, outputBytes10 = 0;
  uint64_t peakRssBytes = 0;
  /// The links the run was measured on: "loopback", an --emulate-net spec,
  /// or empty where unknown (processes on separate machines).
  std::string network;
  /// A session of several requests (--requests): each request's online
  /// figures, in order (the rows and totals above are the first's). Empty
  /// for a single request.
  struct Request {
    double onlineSeconds = 0;
    uint64_t onlineRounds = 0, onlineBytes01 = 0, onlineBytes10 = 0;
  };
  std::vector<Request> requests;
  /// This profile's own online figures, as one entry of requests.
  Request onlineFigures() const {
    return {onlineSeconds, onlineRounds, onlineBytes01, onlineBytes10};
  }
};

struct PartyResult {
  /// Outputs this party may see, decoded: fixed point as float32, integers
  /// as int64.
  std::map<std::string, HostTensor> outputs;
  RunProfile profile;
};

/// What a party brings to the run (wiped when destroyed: runtime/Wipe.h).
struct PartyData {
  WeightMap weights;                ///< Party 0: readWeightsFile's result.
  std::map<int, RingTensor> inputs; ///< encodeInputs' result.
  PartyData() = default;
  PartyData(PartyData &&) = default;
  PartyData &operator=(PartyData &&) = default;
  ~PartyData();
};

/// "[1,16]": a shape in messages about user tensors (numpy style).
std::string dims(llvm::ArrayRef<int64_t> shape);

/// Whether a host tensor of type \p t may feed a plan input of \p dtype:
/// int64 takes int64, int32 and bool (an attention mask as 0/1); float32
/// takes float32 and float64.
bool inputDtypeAccepts(llvm::StringRef dtype, HostType t);

/// Checks and encodes the plan inputs \p party owns from host tensors by
/// input name: shape and dtype as the plan declares ("input 'input_ids':
/// expected int64[1,16], got int64[1,12]"); int64 stays integer, floats
/// are encoded at the value's frac; token ids fed to a onehot or an
/// embed_lookup must be in range. Every input the party owns must be
/// given, and no other.
llvm::Expected<std::map<int, RingTensor>>
encodeInputs(const LoadedPlan &plan, int party,
             const std::map<std::string, HostTensor> &given);

/// Runs \p plan as party 0 or 1 over connected channels to the other party
/// and to the dealer: a session of one request (party 0 serves as many as
/// party 1 asks for and returns the first one's result).
llvm::Expected<PartyResult> runParty(int party, const LoadedPlan &plan,
                                     PartyData data, Channel &peer,
                                     Channel &dealer,
                                     const RunOptions &opts = {});

/// Runs the dealer over connected channels to both parties, in either
/// order (the hello says which is which), for a whole session; returns
/// the first request's profile.
llvm::Expected<RunProfile> runDealer(const LoadedPlan &plan, Channel &a,
                                     Channel &b, const RunOptions &opts = {});

// --- Sessions of several requests
//
// One connection triple, one handshake and one W - B set-up serve several
// inferences ("requests"). Before each request party 1 sends party 0 one
// word: kRequestMore or kRequestLast. Party 0 answers party 1 and the
// dealer with its decision: kRequestRefused (no request is run; the
// session ends), kRequestMore, or kRequestLast (this request is the
// session's last: party 1 asked so, or party 0 is stopping). Each request
// then runs the embedding lookups, the offline phase and the online phase
// as a one-request run does, drawing every mask and every correlation
// further along the session's PRG streams (the dealer's two, the parties'
// common one), which are never rewound: no mask of one request is reused
// by another. Only B, the weight mask, is the session's (W - B is sent
// once), exactly as within one request, where every op reading a weight
// uses the same B with fresh input masks.
//
// In the session's last request party 1 also tells the dealer how far its
// offline phase got: the index of an op it has dealt, at most
// kDealerBeatInterval apart, and always the plan's last op. The dealer,
// done dealing, reads them up to the last op's, so it succeeds only once
// party 1 holds all its material and fails, naming party 1, when that
// link ends first (bytes sent may still sit in socket buffers when a party
// dies); the words keep that wait alive however long the phase takes.

/// The most time between two of party 1's offline heartbeats to the
/// dealer (far below any sensible --timeout; a few words a second).
constexpr std::chrono::milliseconds kDealerBeatInterval{100};

/// The parties' offline heartbeats to each other are op indices. Party 1,
/// its link to the dealer lost, sends this word instead of its next one,
/// so that party 0, which has no link of its own to the dealer then, names
/// the dealer rather than party 1 hanging up; party 1 then waits at most
/// kPeerLostDealerDrain for party 0 to hang up first, reading what it
/// sends meanwhile (a socket closed with unread bytes resets the
/// connection, and a reset can discard the word before party 0 reads it).
constexpr uint64_t kPeerLostDealer = ~uint64_t(0) - 1;
constexpr std::chrono::milliseconds kPeerLostDealerDrain{2000};

/// Control words before each request (one ring word each).
enum : uint64_t {
  kRequestRefused = 0,
  kRequestMore = 1,
  kRequestLast = 2,
};

/// One request's inputs, as a party's session hook supplies them
/// (encodeInputs' result; wiped when destroyed).
struct Request {
  std::map<int, RingTensor> inputs;
  /// Party 1: no request follows. Party 0: serve no request after this.
  bool last = true;
  Request() = default;
  Request(Request &&) = default;
  Request &operator=(Request &&) = default;
  ~Request();
};

/// How a party takes part in a session (runPartySession).
struct SessionHooks {
  /// Request \p k's inputs (k from 0). Party 0 may answer std::nullopt to
  /// refuse it (the session then ends without error); party 1 must answer.
  std::function<llvm::Expected<std::optional<Request>>(size_t k)> next;
  /// Request \p k's outputs and profile; the handshake and the set-up
  /// are in request 0's profile only. May be empty.
  std::function<llvm::Error(size_t k, PartyResult)> done;
};

/// Runs a session as party 0 or 1. Party 0's \p weights serve every
/// request. Party 1 gets an error when party 0 refuses or ends the session
/// before its last request (the requests already done were handed to
/// hooks.done).
llvm::Error runPartySession(int party, const LoadedPlan &plan,
                            WeightMap weights, Channel &peer, Channel &dealer,
                            const RunOptions &opts, SessionHooks &hooks);

/// The dealer's side of a session: one handshake, then each request party
/// 0 announces is dealt; \p done (may be empty) gets each request's
/// profile.
llvm::Error
runDealerSession(const LoadedPlan &plan, Channel &a, Channel &b,
                 const RunOptions &opts,
                 const std::function<llvm::Error(size_t k, RunProfile)> &done);

/// Peak resident set size of this process (VmHWM), in bytes.
uint64_t peakRssBytes();

} // namespace mpc::rt
