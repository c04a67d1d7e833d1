#!/usr/bin/python3
"""make_fixtures.py: BERT-style ONNX fixture models for mpcc.

Defines a BERT encoder classifier in plain PyTorch, laid out like
HuggingFace's BertForSequenceClassification (same module and parameter names,
same forward code paths), so that torch.onnx.export produces graphs shaped
like a real HF export. Writes, per model variant, the ONNX file, inputs and
PyTorch reference logits as .npy, and a meta.json describing it.

Two modes:
  make_fixtures.py                    regenerate the committed fixtures in
                                      tests/fixtures (tiny config, 8 variants)
  make_fixtures.py --preset bert-base --seq 128 --out DIR
                                      write one benchmark-sized model (not
                                      committed): opset 17, erf GeLU, mask,
                                      static [1, seq]

Run with Debian's interpreter (/usr/bin/python3: python3-torch 1.13,
python3-onnx 1.12, python3-numpy). Output is deterministic: same seed, same
weights, inputs, outputs and (with the same torch/onnx versions) same bytes.
"""

import argparse
import dataclasses
import io
import json
import math
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import nn

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FIXTURES_DIR = os.path.join(REPO_ROOT, "tests", "fixtures")

# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------


@dataclasses.dataclass
class BertConfig:
    vocab_size: int = 256
    hidden_size: int = 32
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 64
    max_position_embeddings: int = 64
    type_vocab_size: int = 2
    num_labels: int = 2
    layer_norm_eps: float = 1e-12
    gelu: str = "erf"  # erf | tanh | quad
    softmax: str = "exp"  # exp | 2quad


@dataclasses.dataclass
class InitSpec:
    """Standard deviations of the deterministic random initialisation."""

    seed: int = 20240601
    linear_weight_std: float = 0.2
    linear_bias_std: float = 0.1
    embedding_std: float = 0.5
    ln_gamma_std: float = 0.1  # gamma ~ N(1, std)
    ln_beta_std: float = 0.1  # beta ~ N(0, std)


TINY = dict(vocab_size=256, hidden_size=32, num_hidden_layers=2,
            num_attention_heads=4, intermediate_size=64,
            max_position_embeddings=64, type_vocab_size=2, num_labels=2)

PRESETS = {
    "bert-tiny": dict(num_hidden_layers=2, hidden_size=128,
                      num_attention_heads=2, intermediate_size=512),
    "bert-mini": dict(num_hidden_layers=4, hidden_size=256,
                      num_attention_heads=4, intermediate_size=1024),
    "bert-base": dict(num_hidden_layers=12, hidden_size=768,
                      num_attention_heads=12, intermediate_size=3072),
}
PRESET_COMMON = dict(vocab_size=30522, max_position_embeddings=512,
                     type_vocab_size=2, num_labels=2)

# The committed variants: (name, opset, gelu, softmax, with_mask, dynamic).
VARIANTS = [
    ("bert_17_erf_mask_static", 17, "erf", "exp", True, False),
    ("bert_17_erf_mask_dynamic", 17, "erf", "exp", True, True),
    ("bert_14_erf_mask_static", 14, "erf", "exp", True, False),
    ("bert_13_erf_mask_static", 13, "erf", "exp", True, False),
    ("bert_13_tanh_mask_dynamic", 13, "tanh", "exp", True, True),
    ("bert_17_tanh_nomask_static", 17, "tanh", "exp", False, False),
    ("bert_14_erf_nomask_dynamic", 14, "erf", "exp", False, True),
    ("bert_17_mpcformer_mask_static", 17, "quad", "2quad", True, False),
]
MAIN_VARIANT = "bert_17_erf_mask_static"

# --------------------------------------------------------------------------
# Activation statistics (recorded during the reference forward pass only;
# the recorder is off while exporting, so it never touches the graph)
# --------------------------------------------------------------------------

_RECORDER = None


class Recorder:
    def __init__(self):
        self.ranges = {}

    def minmax(self, key, t):
        lo, hi = float(t.min()), float(t.max())
        old = self.ranges.get(key)
        if old is not None:
            lo, hi = min(lo, old[0]), max(hi, old[1])
        self.ranges[key] = [lo, hi]


def _record(key, t):
    if _RECORDER is not None:
        _RECORDER.minmax(key, t.detach())


# --------------------------------------------------------------------------
# Model (names follow transformers.models.bert.modeling_bert)
# --------------------------------------------------------------------------


class RecordingLayerNorm(nn.LayerNorm):
    """nn.LayerNorm that records the per-row variance of its input."""

    def forward(self, x):
        if _RECORDER is not None:
            _record("layernorm_input_variance",
                    x.detach().var(dim=-1, unbiased=False))
            _record("layernorm_input", x)
        return super().forward(x)


def gelu_erf(x):
    return F.gelu(x)


def gelu_tanh(x):
    # HF NewGELUActivation ("gelu_new"), written out.
    return 0.5 * x * (1.0 + torch.tanh(
        math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gelu_quad(x):
    # MPCFormer's "quad" GeLU replacement.
    return 0.125 * x * x + 0.25 * x + 0.5


GELUS = {"erf": gelu_erf, "tanh": gelu_tanh, "quad": gelu_quad}

# MPCFormer's 2Quad softmax shift: softmax(x) ~ (x + c)^2 / sum((x + c)^2).
TWO_QUAD_C = 5.0


class BertEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings,
                                                cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size,
                                                  cfg.hidden_size)
        self.LayerNorm = RecordingLayerNorm(cfg.hidden_size,
                                            eps=cfg.layer_norm_eps)
        self.register_buffer(
            "position_ids",
            torch.arange(cfg.max_position_embeddings).expand((1, -1)))
        self.register_buffer(
            "token_type_ids",
            torch.zeros(self.position_ids.size(), dtype=torch.long),
            persistent=False)

    def forward(self, input_ids, token_type_ids=None):
        input_shape = input_ids.size()
        seq_length = input_shape[1]
        position_ids = self.position_ids[:, 0:seq_length]
        if token_type_ids is None:
            buffered = self.token_type_ids[:, :seq_length]
            token_type_ids = buffered.expand(input_shape[0], seq_length)
        inputs_embeds = self.word_embeddings(input_ids)
        token_type_embeddings = self.token_type_embeddings(token_type_ids)
        embeddings = inputs_embeds + token_type_embeddings
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.LayerNorm(embeddings)


class BertSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.num_attention_heads = cfg.num_attention_heads
        self.attention_head_size = cfg.hidden_size // cfg.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(cfg.hidden_size, self.all_head_size)
        self.key = nn.Linear(cfg.hidden_size, self.all_head_size)
        self.value = nn.Linear(cfg.hidden_size, self.all_head_size)
        self.softmax_kind = cfg.softmax

    def transpose_for_scores(self, x):
        new_x_shape = x.size()[:-1] + (self.num_attention_heads,
                                       self.attention_head_size)
        x = x.view(new_x_shape)
        return x.permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask):
        query_layer = self.transpose_for_scores(self.query(hidden_states))
        key_layer = self.transpose_for_scores(self.key(hidden_states))
        value_layer = self.transpose_for_scores(self.value(hidden_states))
        scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
        scores = scores / math.sqrt(self.attention_head_size)
        _record("attention_scores", scores)
        if self.softmax_kind == "exp":
            # attention_mask is the additive mask (0 or -10000).
            scores = scores + attention_mask
            probs = F.softmax(scores, dim=-1)
        else:
            # MPCFormer 2Quad: attention_mask is the 0/1 multiplicative mask
            # [B,1,1,S]; masked keys get weight exactly 0.
            shifted = scores + TWO_QUAD_C
            _record("two_quad_shifted", shifted)
            num = shifted * shifted * attention_mask
            probs = num / torch.sum(num, dim=-1, keepdim=True)
        context = torch.matmul(probs, value_layer)
        context = context.permute(0, 2, 1, 3).contiguous()
        new_shape = context.size()[:-2] + (self.all_head_size,)
        return context.view(new_shape)


class BertSelfOutput(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.LayerNorm = RecordingLayerNorm(cfg.hidden_size,
                                            eps=cfg.layer_norm_eps)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dense(hidden_states) + input_tensor)


class BertAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self = BertSelfAttention(cfg)
        self.output = BertSelfOutput(cfg)

    def forward(self, hidden_states, attention_mask):
        return self.output(self.self(hidden_states, attention_mask),
                           hidden_states)


class BertIntermediate(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.act = GELUS[cfg.gelu]

    def forward(self, hidden_states):
        x = self.dense(hidden_states)
        _record("gelu_input", x)
        return self.act(x)


class BertOutput(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg.intermediate_size, cfg.hidden_size)
        self.LayerNorm = RecordingLayerNorm(cfg.hidden_size,
                                            eps=cfg.layer_norm_eps)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dense(hidden_states) + input_tensor)


class BertLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = BertAttention(cfg)
        self.intermediate = BertIntermediate(cfg)
        self.output = BertOutput(cfg)

    def forward(self, hidden_states, attention_mask):
        attention_output = self.attention(hidden_states, attention_mask)
        return self.output(self.intermediate(attention_output),
                           attention_output)


class BertEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList(
            [BertLayer(cfg) for _ in range(cfg.num_hidden_layers)])

    def forward(self, hidden_states, attention_mask):
        for layer in self.layer:
            hidden_states = layer(hidden_states, attention_mask)
        return hidden_states


class BertPooler(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states):
        x = self.dense(hidden_states[:, 0])
        _record("pooler_tanh_input", x)
        return self.activation(x)


class BertModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.config = cfg
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = BertEncoder(cfg)
        self.pooler = BertPooler(cfg)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None):
        input_shape = input_ids.size()
        if attention_mask is None:
            # As HF does: an all-ones mask when none is given.
            attention_mask = torch.ones(input_shape, device=input_ids.device)
        dtype = self.embeddings.word_embeddings.weight.dtype
        ext = attention_mask[:, None, None, :].to(dtype=dtype)
        if self.config.softmax == "exp":
            # Older HF get_extended_attention_mask.
            ext = (1.0 - ext) * -10000.0
        hidden = self.embeddings(input_ids, token_type_ids)
        hidden = self.encoder(hidden, ext)
        return self.pooler(hidden)


class BertForSequenceClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.bert = BertModel(cfg)
        self.classifier = nn.Linear(cfg.hidden_size, cfg.num_labels)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None):
        pooled = self.bert(input_ids, token_type_ids, attention_mask)
        return self.classifier(pooled)


def init_weights(model, spec):
    """Deterministic initialisation, parameter by parameter in a fixed order.

    Each parameter gets its own generator seeded from (seed, its name), so
    the weights do not depend on which other variants were built before, and
    models of the same shape with different activations share weights.
    """
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            g = torch.Generator().manual_seed(
                (spec.seed * 1000003 + _stable_hash(name)) % (2**63))
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name.endswith("LayerNorm.weight"):
                p.copy_(1.0 + spec.ln_gamma_std * r)
            elif name.endswith("LayerNorm.bias"):
                p.copy_(spec.ln_beta_std * r)
            elif "embeddings" in name:
                p.copy_(spec.embedding_std * r)
            elif name.endswith(".weight"):
                p.copy_(spec.linear_weight_std * r)
            elif name.endswith(".bias"):
                p.copy_(spec.linear_bias_std * r)
            else:
                raise RuntimeError(f"unexpected parameter {name}")


def _stable_hash(s):
    h = 1469598103934665603  # FNV-1a 64
    for b in s.encode():
        h = ((h ^ b) * 1099511628211) % (2**64)
    return h


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------


def make_batch(rng, vocab, total_len, real_lens, segment_starts):
    """One batch: row i has real_lens[i] real tokens, padded to total_len.

    input_ids: position 0 is a CLS-like id 1, then random ids in [2, vocab),
    padding id 0. token_type_ids: 1 from segment_starts[i] up to the real
    length, else 0. attention_mask: 1 on real tokens, 0 on padding.
    """
    b = len(real_lens)
    ids = rng.randint(2, vocab, size=(b, total_len)).astype(np.int64)
    tt = np.zeros((b, total_len), dtype=np.int64)
    mask = np.zeros((b, total_len), dtype=np.int64)
    for i, (n, s) in enumerate(zip(real_lens, segment_starts)):
        ids[i, 0] = 1
        ids[i, n:] = 0
        tt[i, s:n] = 1
        mask[i, :n] = 1
    return {"input_ids": ids, "token_type_ids": tt, "attention_mask": mask}


# --------------------------------------------------------------------------
# Export and inspection
# --------------------------------------------------------------------------


def run_reference(model, inputs, names):
    global _RECORDER
    _RECORDER = Recorder()
    try:
        with torch.no_grad():
            out = model(*[torch.from_numpy(inputs[n]) for n in names])
        ranges = _RECORDER.ranges
    finally:
        _RECORDER = None
    return out.numpy().astype(np.float32), ranges


def check_mask_invariance(model, inputs, names, logits):
    """Padding must not matter: new ids at masked positions, same logits."""
    changed = dict(inputs)
    ids = inputs["input_ids"].copy()
    pad = inputs["attention_mask"] == 0
    ids[pad] = (ids[pad] + 97) % model.bert.config.vocab_size
    changed["input_ids"] = ids
    with torch.no_grad():
        out = model(*[torch.from_numpy(changed[n]) for n in names]).numpy()
    diff = float(np.abs(out - logits).max())
    if not pad.any() or diff > 1e-5:
        raise RuntimeError(f"mask check failed: padding changed logits by "
                           f"{diff} (padded positions: {int(pad.sum())})")


def export_onnx(model, inputs, names, opset, dynamic):
    args = tuple(torch.from_numpy(inputs[n]) for n in names)
    dynamic_axes = None
    if dynamic:
        dynamic_axes = {n: {0: "batch", 1: "seq"} for n in names}
        dynamic_axes["logits"] = {0: "batch"}
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, args, buf, opset_version=opset,
                          do_constant_folding=True, input_names=list(names),
                          output_names=["logits"], dynamic_axes=dynamic_axes)
    return buf.getvalue()


def op_inventory(proto):
    counts = {}
    for node in proto.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


def check_structure(name, proto, opset, gelu, softmax, dynamic):
    """Fail loudly if the export is not shaped as the fixtures promise."""
    ops = op_inventory(proto)
    problems = []

    def need(op, why):
        if op not in ops:
            problems.append(f"missing {op} ({why})")

    def forbid(op, why):
        if op in ops:
            problems.append(f"unexpected {op} ({why})")

    if opset >= 17:
        need("LayerNormalization", "opset 17 LayerNorm")
    else:
        forbid("LayerNormalization", "opset < 17 decomposes LayerNorm")
        for op in ("ReduceMean", "Sub", "Pow", "Sqrt", "Div"):
            need(op, "decomposed LayerNorm")
    if gelu == "erf":
        need("Erf", "erf GeLU")
    elif gelu == "tanh":
        need("Pow", "tanh GeLU x^3")
        forbid("Erf", "tanh GeLU")
    else:
        forbid("Erf", "quad GeLU")
    if softmax == "exp":
        need("Softmax", "exp softmax")
    else:
        forbid("Softmax", "2Quad softmax")
        need("ReduceSum", "2Quad denominator")
    need("Tanh", "pooler")
    need("Gemm", "pooler/classifier")
    need("MatMul", "3-D linears")
    if dynamic:
        for op in ("Shape", "Slice"):
            need(op, "dynamic position-id slice")
    for d in proto.graph.input:
        dims = d.type.tensor_type.shape.dim
        has_param = any(x.HasField("dim_param") for x in dims)
        if dynamic and not has_param:
            problems.append(f"input {d.name} has no symbolic dims")
        if not dynamic and has_param:
            problems.append(f"input {d.name} has symbolic dims")
    if problems:
        raise RuntimeError(f"{name}: " + "; ".join(problems))


def shape_info(proto):
    def dims(v):
        out = []
        for x in v.type.tensor_type.shape.dim:
            out.append(x.dim_param if x.HasField("dim_param") else x.dim_value)
        return out

    return {
        "inputs": [{"name": v.name, "shape": dims(v),
                    "elem_type": onnx.TensorProto.DataType.Name(
                        v.type.tensor_type.elem_type)}
                   for v in proto.graph.input],
        "outputs": [{"name": v.name, "shape": dims(v),
                     "elem_type": onnx.TensorProto.DataType.Name(
                         v.type.tensor_type.elem_type)}
                    for v in proto.graph.output],
    }


def write_meta(out_dir, meta, proto):
    """Writes meta.json: `meta` plus the facts read from the exported
    graph (inputs/outputs, op-type counts, sizes) and the tool versions."""
    meta = dict(meta)
    meta.update({
        "graph": shape_info(proto),
        "op_types": op_inventory(proto),
        "num_nodes": len(proto.graph.node),
        "num_initializers": len(proto.graph.initializer),
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__,
                     "numpy": np.__version__},
    })
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")
    return meta


def round_ranges(ranges):
    return {k: [float(f"{v[0]:.6g}"), float(f"{v[1]:.6g}")]
            for k, v in sorted(ranges.items())}


# --------------------------------------------------------------------------
# Writing one variant
# --------------------------------------------------------------------------


def write_variant(out_dir, name, cfg, spec, opset, with_mask, dynamic,
                  inputs_a, inputs_b=None, write_pb=False):
    os.makedirs(out_dir, exist_ok=True)
    names = ["input_ids", "token_type_ids"]
    if with_mask:
        names.append("attention_mask")

    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg).eval()
    init_weights(model, spec)

    logits_a, ranges_a = run_reference(model, inputs_a, names)
    logits_b = ranges_b = None
    if inputs_b is not None:
        logits_b, ranges_b = run_reference(model, inputs_b, names)

    if with_mask:
        check_mask_invariance(model, inputs_a, names, logits_a)

    data = export_onnx(model, inputs_a, names, opset, dynamic)
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    check_structure(name, proto, opset, cfg.gelu, cfg.softmax, dynamic)
    with open(os.path.join(out_dir, "model.onnx"), "wb") as f:
        f.write(data)

    files = ["model.onnx"]
    for n in names:
        np.save(os.path.join(out_dir, f"{n}.npy"), inputs_a[n])
        files.append(f"{n}.npy")
        if inputs_b is not None:
            np.save(os.path.join(out_dir, f"{n}.b.npy"), inputs_b[n])
            files.append(f"{n}.b.npy")
    np.save(os.path.join(out_dir, "logits.npy"), logits_a)
    files.append("logits.npy")
    if logits_b is not None:
        np.save(os.path.join(out_dir, "logits.b.npy"), logits_b)
        files.append("logits.b.npy")

    if write_pb:
        pb_dir = os.path.join(out_dir, "pb")
        os.makedirs(pb_dir, exist_ok=True)
        for i, n in enumerate(names):
            t = numpy_helper.from_array(inputs_a[n], name=n)
            with open(os.path.join(pb_dir, f"input_{i}.pb"), "wb") as f:
                f.write(t.SerializeToString())
            files.append(f"pb/input_{i}.pb")
        t = numpy_helper.from_array(logits_a, name="logits")
        with open(os.path.join(pb_dir, "output_0.pb"), "wb") as f:
            f.write(t.SerializeToString())
        files.append("pb/output_0.pb")

    def input_sets(inputs, suffix, logits):
        return {
            "inputs": [{"name": n, "file": f"{n}{suffix}.npy",
                        "shape": list(inputs[n].shape),
                        "dtype": str(inputs[n].dtype)} for n in names],
            "outputs": [{"name": "logits", "file": f"logits{suffix}.npy",
                         "shape": list(logits.shape), "dtype": "float32"}],
        }

    meta = {
        "name": name,
        "config": dataclasses.asdict(cfg),
        "init": dataclasses.asdict(spec),
        "opset": opset,
        "gelu": cfg.gelu,
        "softmax": cfg.softmax,
        "two_quad_c": TWO_QUAD_C if cfg.softmax == "2quad" else None,
        "mask": with_mask,
        "mask_form": ("multiplicative 0/1 inside 2Quad"
                      if cfg.softmax == "2quad" else
                      "additive (1 - mask) * -10000") if with_mask else
                     "none given: all-ones mask built in-graph (as HF)",
        "dynamic": dynamic,
        "set_a": input_sets(inputs_a, "", logits_a),
        "set_b": (input_sets(inputs_b, ".b", logits_b)
                  if inputs_b is not None else None),
        "observed_ranges": round_ranges(ranges_a),
        "observed_ranges_b": (round_ranges(ranges_b)
                              if ranges_b is not None else None),
        "files": files,
    }
    return write_meta(out_dir, meta, proto)


def summarize(meta):
    r = meta["observed_ranges"]
    lines = [f"{meta['name']}: opset {meta['opset']}, "
             f"{meta['num_nodes']} nodes, logits {meta['set_a']['outputs']}"]
    lines.append("  ops: " + ", ".join(
        f"{k}x{v}" for k, v in meta["op_types"].items()))
    for k, v in r.items():
        lines.append(f"  {k}: [{v[0]:.4g}, {v[1]:.4g}]")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Modes
# --------------------------------------------------------------------------


def make_committed(out_root):
    torch.set_num_threads(1)
    spec = InitSpec()
    rng = np.random.RandomState(1234)
    # Set a: [1,16], last 4 positions padding, segment B from position 7.
    inputs_a = make_batch(rng, TINY["vocab_size"], 16, [12], [7])
    # Set b: [2,12], different padding per row.
    inputs_b = make_batch(rng, TINY["vocab_size"], 12, [10, 7], [6, 3])
    for name, opset, gelu, softmax, with_mask, dynamic in VARIANTS:
        cfg = BertConfig(**TINY, gelu=gelu, softmax=softmax)
        meta = write_variant(os.path.join(out_root, name), name, cfg, spec,
                             opset, with_mask, dynamic, inputs_a,
                             inputs_b if dynamic else None,
                             write_pb=(name == MAIN_VARIANT))
        print(summarize(meta))


def make_preset(preset, seq, out_dir, init_std, seed):
    cfg = BertConfig(**PRESET_COMMON, **PRESETS[preset])
    # Biases and LayerNorm gamma/beta are perturbed too (not 0 / 1): torch
    # 1.13's exporter deduplicates equal-valued initializers into Identity
    # nodes, which a trained model would never show.
    spec = InitSpec(seed=seed, linear_weight_std=init_std,
                    linear_bias_std=init_std, embedding_std=init_std,
                    ln_gamma_std=init_std, ln_beta_std=init_std)
    if seq > cfg.max_position_embeddings:
        sys.exit(f"--seq {seq} exceeds max_position_embeddings "
                 f"{cfg.max_position_embeddings}")
    rng = np.random.RandomState(1234)
    real = max(1, seq - seq // 4)  # last quarter is padding
    inputs = make_batch(rng, cfg.vocab_size, seq, [real], [real // 2])
    name = f"{preset}_seq{seq}"
    meta = write_variant(out_dir, name, cfg, spec, 17, True, False, inputs)
    print(summarize(meta))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS),
                    help="benchmark-sized model instead of the fixtures")
    ap.add_argument("--seq", type=int, default=128,
                    help="sequence length for --preset (default 128)")
    ap.add_argument("--out", help="output directory (default: tests/fixtures"
                    " for fixtures; required with --preset)")
    ap.add_argument("--init-std", type=float, default=0.02,
                    help="std of all random weights for --preset: dense and "
                    "embedding weights ~N(0,s), biases ~N(0,s), LayerNorm "
                    "gamma ~N(1,s), beta ~N(0,s) (default 0.02)")
    ap.add_argument("--seed", type=int, default=InitSpec.seed,
                    help="weight seed for --preset")
    args = ap.parse_args()
    if args.preset:
        if not args.out:
            ap.error("--preset needs --out DIR")
        make_preset(args.preset, args.seq, args.out, args.init_std, args.seed)
    else:
        make_committed(args.out or DEFAULT_FIXTURES_DIR)


if __name__ == "__main__":
    main()
