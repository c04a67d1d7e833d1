"""The approximations a student is trained with, in PyTorch, by the names of
mpcc's approximation registry (runtime/protocols/Approximations.def).

Each form is written the way `mpcc compile` recognises it in an ONNX export
(frontend/patterns: QuadGelu.cpp, TwoQuadSoftmax.cpp) or as plain linear
algebra, so the exported student compiles to the registry entry of the same
name with no --approx flag. The forms are differentiable; the compiler's
float interpreter evaluates the same formulas (tests/lit/tools/distill.test
checks the two agree on a distilled student).
"""
import torch
import torch.nn.functional as F

# MPCFormer's 2Quad shift, the value the compiler's pattern reads from the
# model (frontend/patterns/TwoQuadSoftmax.cpp): softmax(x) ~ (x+c)^2 / sum.
TWO_QUAD_C = 5.0


def gelu_erf(x):
    """GeLU itself; the compiler runs it with its --approx gelu entry
    (accurate by default), which needs no training."""
    return F.gelu(x)


def gelu_quad(x):
    """MPCFormer's quad: 0.125 x^2 + 0.25 x + 0.5 (registry gelu.quad)."""
    return 0.125 * x * x + 0.25 * x + 0.5


def gelu_relu(x):
    """MPCViT+'s linearised GeLU (registry gelu.relu)."""
    return F.relu(x)


# Each softmax form takes the scores, the row length n as a Python int
# (static, so an export writes a constant, not a Shape computation) and the
# attention mask in the form's own convention (None without one): the
# additive (1 - m) * -10000 bias for exact (the mask-bias pattern), the 0/1
# multiplicative mask [B, 1, 1, S] for the others (MASK_IS_ADDITIVE).


def softmax_exact(scores, n, mask=None):
    if mask is not None:
        scores = scores + mask
    return F.softmax(scores, dim=-1)


def softmax_2quad(scores, n, mask=None):
    """MPCFormer's 2Quad (registry softmax.2quad); masked keys get 0."""
    shifted = scores + TWO_QUAD_C
    num = shifted * shifted
    if mask is not None:
        num = num * mask
    return num / torch.sum(num, dim=-1, keepdim=True)


def softmax_scaling(scores, n, mask=None):
    """MPCViT's scaling attention x / n, n the row length (registry
    softmax.scaling); it has no softmax op, so it compiles as linear
    algebra: one truncation by a public 1/n."""
    probs = scores * (1.0 / n)
    return probs if mask is None else probs * mask


MASK_IS_ADDITIVE = {"exact": True, "2quad": False, "scaling": False}


def attention_mask(mask01, softmax):
    """A [B, S] 0/1 padding mask as SOFTMAX's form takes it."""
    ext = mask01[:, None, None, :].to(torch.float32)
    return (1.0 - ext) * -10000.0 if MASK_IS_ADDITIVE[softmax] else ext


GELU = {"erf": gelu_erf, "quad": gelu_quad, "relu": gelu_relu}
SOFTMAX = {"exact": softmax_exact, "2quad": softmax_2quad,
           "scaling": softmax_scaling}

# Students by their source. secformer's softmax is 2Quad followed by a
# Goldschmidt division (the same trained form); its GeLU needs no training.
PRESETS = {
    "teacher": {"gelu": "erf", "softmax": "exact"},
    "mpcformer": {"gelu": "quad", "softmax": "2quad"},
    "secformer": {"gelu": "erf", "softmax": "2quad"},
    "mpcvit": {"gelu": "relu", "softmax": "scaling"},
}


def parse(spec):
    """'mpcformer' or 'gelu=quad,softmax=2quad' (unnamed kinds keep the
    teacher's form) -> {"gelu": name, "softmax": name}."""
    if spec in PRESETS:
        return dict(PRESETS[spec])
    choice = dict(PRESETS["teacher"])
    for item in spec.split(","):
        kind, sep, name = item.partition("=")
        table = {"gelu": GELU, "softmax": SOFTMAX}.get(kind)
        if not sep or table is None:
            raise ValueError(
                f"--approx '{item}': expected a preset ({', '.join(PRESETS)}) "
                "or KIND=NAME with KIND gelu or softmax")
        if name not in table:
            raise ValueError(f"--approx {kind}={name}: no such {kind} form "
                             f"(have: {', '.join(table)})")
        choice[kind] = name
    return choice


def describe(choice):
    return ",".join(f"{k}={v}" for k, v in sorted(choice.items()))
