//===- fuzz/ReplayMain.cpp - Runs a fuzz target on saved inputs -----------===//
//
// The main() of the fuzz-replay-NAME tests: calls the target's
// LLVMFuzzerTestOneInput once per file named on the command line, or per
// file of a directory (sorted, not recursive), without libFuzzer, so that
// any compiler and the sanitizer build check the seed corpus and every input
// that once failed. A directory that does not exist is skipped (a target may
// have no regression inputs yet); replaying nothing at all is a failure.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int *argc,
                                                          char ***argv);

namespace fs = std::filesystem;

static bool replay(const fs::path &file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
    return false;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", file.c_str(), bytes.size());
  // A heap block of exactly the input's size, as libFuzzer passes it, so
  // that AddressSanitizer sees any read past its end (a vector's capacity
  // may be larger than its size).
  std::unique_ptr<uint8_t[]> exact(new uint8_t[bytes.size()]);
  std::copy(bytes.begin(), bytes.end(), exact.get());
  LLVMFuzzerTestOneInput(exact.get(), bytes.size());
  return true;
}

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  size_t count = 0;
  for (int a = 1; a < argc; ++a) {
    fs::path p(argv[a]);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (const fs::directory_entry &e : fs::directory_iterator(p, ec))
        if (e.is_regular_file())
          files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const fs::path &f : files)
        count += replay(f) ? 1 : 0;
    } else if (fs::exists(p, ec)) {
      if (!replay(p))
        return 1;
      ++count;
    } else {
      std::fprintf(stderr, "replay: %s does not exist, skipped\n", argv[a]);
    }
  }
  std::printf("replayed %zu inputs\n", count);
  return count > 0 ? 0 : 1;
}
