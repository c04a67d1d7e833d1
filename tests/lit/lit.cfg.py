# lit configuration for mpcc's golden text tests.
import os
import lit.formats

config.name = "mpcc"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".onnxtext", ".mir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.mpcc_tools_dir, "..", "tests", "lit-out")

config.environment["PATH"] = os.pathsep.join(
    [config.mpcc_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
config.substitutions.append(("%fixtures", os.path.join(config.mpcc_source_dir, "tests", "fixtures")))
config.substitutions.append(("%python", config.python))
