//===- tests/unit/e2e/FixtureInputs.h - A fixture's inputs ------*- C++ -*-===//
//
// The BERT fixtures' input tensors by ONNX input name, and the largest
// difference of two float outputs: what the simulation and --approx auto
// tests compare.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Tensor.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>

namespace mpc::testing {

/// input_ids, token_type_ids and attention_mask from \p dir, those present.
inline std::map<std::string, HostTensor> fixtureInputs(const std::string &dir) {
  std::map<std::string, HostTensor> in;
  for (const char *name : {"input_ids", "token_type_ids", "attention_mask"}) {
    std::string path = dir + "/" + name + ".npy";
    if (!std::filesystem::exists(path))
      continue;
    auto t = readNpy(path);
    REQUIRE(bool(t));
    in[name] = std::move(*t);
  }
  return in;
}

/// max |a - b| of two float tensors of one shape.
inline double maxAbsDiff(const HostTensor &a, const HostTensor &b) {
  REQUIRE(a.shape == b.shape);
  double m = 0;
  for (size_t i = 0; i < a.f.size(); ++i)
    m = std::max(m, std::abs(a.f[i] - b.f[i]));
  return m;
}

} // namespace mpc::testing
