//===- tools/mpcc/ImportOptions.cpp - Options of the model readers --------===//
//
// The options of the subcommands that read an ONNX model (compile, float,
// and eval's --model): the model file, input shapes, constant inputs and
// --no-patterns, and the ImportOptions they make.
//
//===----------------------------------------------------------------------===//

#include "tools/mpcc/Options.h"

#include "frontend/TensorProto.h"
#include "support/Diag.h"
#include "support/Tensor.h"

using namespace llvm;
using namespace mpc::tool;

// Optional for `mpcc compile --approx list`; requireModel checks it.
cl::opt<std::string> mpc::tool::model(cl::Positional,
                                      cl::desc("<model.onnx|model.onnxtext>"),
                                      cl::sub(compileCmd()),
                                      cl::sub(floatCmd()), cl::cat(category()));
cl::list<std::string> mpc::tool::inputShapes(
    "input-shape", cl::ZeroOrMore,
    cl::desc("Bind a model input's shape, NAME=1x128 (its "
             "named dimensions bind every input "
             "that has them)"),
    cl::value_desc("NAME=DIMS"), cl::sub(compileCmd()), cl::sub(floatCmd()),
    cl::cat(category()));
cl::list<std::string> mpc::tool::constants(
    "constant", cl::ZeroOrMore,
    cl::desc("Bind a model input to the value in a .npy or .pb file: it "
             "becomes a public constant of the model (for shape and index "
             "inputs; the value is written into the plan), NAME=FILE"),
    cl::value_desc("NAME=FILE"), cl::sub(compileCmd()), cl::sub(floatCmd()),
    cl::cat(category()));
cl::opt<bool> mpc::tool::noPatterns("no-patterns",
                                    cl::desc("Skip pattern recognition"),
                                    cl::sub(compileCmd()), cl::sub(floatCmd()),
                                    cl::cat(category()));

Error mpc::tool::requireModel() {
  if (model.empty())
    return mpc::error("no model file given (<model.onnx|model.onnxtext>)");
  return Error::success();
}

Expected<mpc::ImportOptions> mpc::tool::importOptions() {
  ImportOptions opts;
  opts.recognisePatterns = !noPatterns;
  for (const std::string &arg : inputShapes)
    if (Error e = parseInputShapeArg(arg, opts.inputShapes))
      return e;
  auto bound = readNamedTensorFiles(constants, "--constant", readTensorFile);
  if (!bound)
    return bound.takeError();
  opts.constantInputs = std::move(*bound);
  return opts;
}
