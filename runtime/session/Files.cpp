//===- runtime/session/Files.cpp - Inputs, outputs and profiles -----------===//
//
// The files a run reads and writes besides the plan and the weights:
// --input NAME=FILE tensors, --output FILE or NAME=FILE resolved against
// the outputs a party may see, and the measured profile as JSON (written
// atomically, in the schema `mpcc report --format json` uses).
//
//===----------------------------------------------------------------------===//
#include "runtime/session/SessionImpl.h"

#include "runtime/plan/Profile.h"
#include "support/Diag.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Allocator.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/StringSaver.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace mpc;
using namespace mpc::rt;

/// mpc-run reads .npy only: ONNX TensorProto needs ONNX's protobuf
/// classes, which the runtime does not link (mpcc reads .pb).
static llvm::Expected<HostTensor> readInputFile(llvm::StringRef path) {
  llvm::StringRef ext = llvm::sys::path::extension(path);
  if (ext.equals_insensitive(".npy"))
    return readNpy(path);
  return mpc::error("{}: mpc-run reads NumPy .npy inputs, not '{}' files; "
                    "save the tensor with numpy.save{}",
                    path.str(), ext.str(),
                    ext.equals_insensitive(".pb")
                        ? " (onnx.numpy_helper.to_array reads a .pb)"
                        : "");
}

llvm::Expected<std::map<std::string, HostTensor>>
mpc::rt::readInputs(const std::vector<std::string> &specs) {
  return readNamedTensorFiles(specs, "--input", readInputFile);
}

llvm::Expected<std::map<std::string, std::string>>
mpc::rt::resolveOutputs(const LoadedPlan &plan, int party, bool revealToBoth,
                        const std::vector<std::string> &specs) {
  std::vector<std::string> visible;
  for (const plan::PlanOutput &out : plan.proto->outputs()) {
    const ValueDesc &v = plan.value(out.value());
    if (v.heldBy(party) || (party == 0 && revealToBoth))
      visible.push_back(out.name());
  }
  std::string names;
  for (const std::string &n : visible)
    names += (names.empty() ? "'" : ", '") + n + "'";
  std::map<std::string, std::string> files;
  for (const std::string &s : specs) {
    if (visible.empty())
      return mpc::error("--output {}: party {} receives no output of this "
                        "plan{}",
                        s, party,
                        party == 0 ? " (both parties may pass --reveal-to-both)"
                                   : "");
    size_t eq = s.find('=');
    std::string name, file = s;
    if (eq != std::string::npos &&
        llvm::is_contained(visible, s.substr(0, eq))) {
      name = s.substr(0, eq);
      file = s.substr(eq + 1);
    } else if (visible.size() == 1) {
      name = visible[0];
    } else {
      return mpc::error("--output {}: name the output as NAME=FILE (party {} "
                        "receives {})",
                        s, party, names.empty() ? "none" : names);
    }
    if (files.count(name))
      return mpc::error("output '{}' is given twice", name);
    files[name] = file;
  }
  return files;
}

llvm::Error mpc::rt::writeProfileFile(const std::string &path,
                                      const RunProfile &p,
                                      const LoadedPlan &plan,
                                      llvm::StringRef network,
                                      const PeakRss *rss) {
  std::vector<Cost> ops = opCosts(plan);
  Cost predicted = planCost(plan, ops);
  RunProfile withWork = p;
  withWork.network = network.str();
  for (OpProfile &row : withWork.ops)
    if (row.index >= 0 && size_t(row.index) < ops.size()) {
      row.macs = ops[size_t(row.index)].macs;
      row.elemOps = ops[size_t(row.index)].elemOps;
    }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", profileToJson(withWork, &predicted, rss))
     << "\n";
  return writeFileAtomic(path, os.str());
}

namespace {

/// Where \p line opens a quote it never closes, read as
/// llvm::cl::TokenizeGNUCommandLine reads it (a backslash escapes the next
/// character, inside quotes too; ' and " quote).
std::optional<size_t> unterminatedQuote(llvm::StringRef line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\') {
      ++i;
      continue;
    }
    if (line[i] != '\'' && line[i] != '"')
      continue;
    size_t open = i;
    for (++i; i < line.size() && line[i] != line[open]; ++i)
      if (line[i] == '\\')
        ++i;
    if (i >= line.size())
      return open;
  }
  return std::nullopt;
}

} // namespace

llvm::Expected<std::vector<RequestFiles>>
mpc::rt::readRequestList(llvm::StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf)
    return mpc::error("--requests {}: {}", path.str(),
                      buf.getError().message());
  std::vector<RequestFiles> list;
  llvm::SmallVector<llvm::StringRef, 64> lines;
  (*buf)->getBuffer().split(lines, '\n');
  for (size_t n = 0; n < lines.size(); ++n) {
    llvm::StringRef line = lines[n].trim();
    if (line.empty() || line.startswith("#"))
      continue;
    // Words as a shell splits them: quotes and backslashes keep spaces
    // in a path (requestListLine writes them so). The tokenizer takes an
    // unterminated quote to the line's end; here it is an error, so that a
    // path with a bare ' is not silently read as another file.
    if (std::optional<size_t> open = unterminatedQuote(line))
      return mpc::error("--requests {}:{}: the quote at column {} is not "
                        "closed (a path with ' or \" in it goes in the "
                        "other quotes, or its quote after a backslash)",
                        path.str(), n + 1, *open + 1);
    llvm::BumpPtrAllocator alloc;
    llvm::StringSaver saver(alloc);
    llvm::SmallVector<const char *, 16> argv;
    llvm::cl::TokenizeGNUCommandLine(line, saver, argv);
    std::vector<llvm::StringRef> words(argv.begin(), argv.end());
    RequestFiles r;
    for (size_t i = 0; i < words.size(); ++i) {
      llvm::StringRef w = words[i], value;
      std::vector<std::string> *into = nullptr;
      for (auto [flag, list] : {std::pair{"--input", &r.inputs},
                                std::pair{"--output", &r.outputs}}) {
        llvm::StringRef f(flag);
        if (w == f && i + 1 < words.size()) {
          into = list;
          value = words[++i];
        } else if (w.consume_front(f) && w.consume_front("=")) {
          into = list;
          value = w;
        }
      }
      if (!into || value.empty())
        return mpc::error("--requests {}:{}: expected --input NAME=FILE or "
                          "--output FILE, not '{}'",
                          path.str(), n + 1, words[i].str());
      into->push_back(value.str());
    }
    if (r.outputs.empty())
      return mpc::error("--requests {}:{}: the request has no --output",
                        path.str(), n + 1);
    list.push_back(std::move(r));
  }
  if (list.empty())
    return mpc::error("--requests {}: no request in the file", path.str());
  return list;
}

std::string mpc::rt::requestListLine(const RequestFiles &r) {
  // A value of plain path characters goes as it is; any other (empty, or
  // holding a space, tab, quote, backslash, ...) in double quotes, its "
  // and \ escaped: what TokenizeGNUCommandLine reads back unchanged.
  auto word = [](llvm::StringRef v) {
    bool plain = !v.empty() && llvm::all_of(v, [](char c) {
      return llvm::isAlnum(c) || llvm::StringRef("_-+./=:@%,").contains(c);
    });
    if (plain)
      return v.str();
    std::string q = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\')
        q += '\\';
      q += c;
    }
    return q + "\"";
  };
  std::string line;
  for (auto [flag, list] :
       {std::pair{"--input", &r.inputs}, std::pair{"--output", &r.outputs}})
    for (const std::string &value : *list)
      line +=
          fmt::format("{}{} {}", line.empty() ? "" : " ", flag, word(value));
  return line + "\n";
}

llvm::Expected<std::vector<RequestFiles>>
mpc::rt::requestFilesOf(const RunConfig &c) {
  if (c.requests.empty())
    return std::vector<RequestFiles>{{c.inputs, c.outputs}};
  return readRequestList(c.requests);
}

std::string mpc::rt::requestContext(const RunConfig &c, size_t k) {
  return c.requests.empty()
             ? ""
             : fmt::format("{}: request {}: ", c.requests, k + 1);
}

uint64_t mpc::rt::currentRssBytes() {
  auto status = llvm::MemoryBuffer::getFileAsStream("/proc/self/status");
  if (!status)
    return 0;
  llvm::SmallVector<llvm::StringRef, 64> lines;
  (*status)->getBuffer().split(lines, '\n');
  for (llvm::StringRef line : lines) {
    uint64_t kb = 0;
    if (line.consume_front("VmRSS:") &&
        !line.trim().split(' ').first.getAsInteger(10, kb))
      return kb * 1024;
  }
  return 0;
}

std::string mpc::rt::requestLogLine(llvm::StringRef who, size_t k,
                                    const RunProfile &p) {
  // Party 0 derives its material from its seed: only party 1 and the
  // dealer count dealer bytes.
  std::string dealt = p.party == 0 ? ""
                                   : fmt::format(", {} dealer bytes to party 1",
                                                 p.dealerBytes1);
  return fmt::format("{}: request {}: online {:.1f} ms, {} rounds, {} bytes "
                     "between the parties{}, rss {:.1f} MiB",
                     who.str(), k + 1, p.onlineSeconds * 1e3, p.onlineRounds,
                     p.onlineBytes01 + p.onlineBytes10, dealt,
                     double(currentRssBytes()) / (1 << 20));
}
