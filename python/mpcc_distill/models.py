"""The model families a student is built from: a ViT (patch embedding by a
strided Conv2d, a class token, pre-LN blocks, timm-style) whose attention
and MLP take their softmax and GeLU forms by registry name.

A model returns its logits; `internals=True` also returns what layer-wise
distillation compares (MPCFormer's stage 1): every block's output hidden
states and every head's attention scores before the softmax.
"""
import dataclasses
import math

import torch
import torch.nn as nn

from . import approx


@dataclasses.dataclass
class ViTConfig:
    image: int = 28
    channels: int = 1
    patch: int = 7
    hidden: int = 64
    heads: int = 4
    layers: int = 4
    ffn: int = 128
    classes: int = 10
    gelu: str = "erf"
    softmax: str = "exact"

    @property
    def tokens(self):
        return (self.image // self.patch) ** 2 + 1


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.heads = cfg.heads
        self.scale = 1.0 / math.sqrt(cfg.hidden // cfg.heads)
        self.qkv = nn.Linear(cfg.hidden, 3 * cfg.hidden)
        self.proj = nn.Linear(cfg.hidden, cfg.hidden)
        self.softmax = approx.SOFTMAX[cfg.softmax]
        self.rows = cfg.tokens

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads,
                                  c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        scores = (q @ k.transpose(-2, -1)) * self.scale
        out = (self.softmax(scores, self.rows) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out), scores


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.hidden, eps=1e-6)
        self.attn = Attention(cfg)
        self.norm2 = nn.LayerNorm(cfg.hidden, eps=1e-6)
        self.fc1 = nn.Linear(cfg.hidden, cfg.ffn)
        self.act = approx.GELU[cfg.gelu]
        self.fc2 = nn.Linear(cfg.ffn, cfg.hidden)

    def forward(self, x):
        a, scores = self.attn(self.norm1(x))
        x = x + a
        return x + self.fc2(self.act(self.fc1(self.norm2(x)))), scores


class ViT(nn.Module):
    family = "vit"
    input_names = ["pixel_values"]

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = nn.Conv2d(cfg.channels, cfg.hidden,
                                     kernel_size=cfg.patch, stride=cfg.patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.hidden))
        self.pos_embed = nn.Parameter(
            torch.randn(1, cfg.tokens, cfg.hidden) * 0.02)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.hidden, eps=1e-6)
        self.head = nn.Linear(cfg.hidden, cfg.classes)

    def forward(self, pixel_values, internals=False):
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.pos_embed
        hidden, scores = [], []
        for block in self.blocks:
            x, s = block(x)
            hidden.append(x)
            scores.append(s)
        logits = self.head(self.norm(x)[:, 0])
        return (logits, hidden, scores) if internals else logits


FAMILIES = {"vit": (ViT, ViTConfig)}


def build(family, config):
    """A model of FAMILY from a config dict (unknown keys are an error)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family '{family}' "
                         f"(have: {', '.join(FAMILIES)})")
    cls, cfg_cls = FAMILIES[family]
    fields = {f.name for f in dataclasses.fields(cfg_cls)}
    unknown = sorted(set(config) - fields)
    if unknown:
        raise ValueError(f"{family} config: unknown keys {unknown} "
                         f"(have: {sorted(fields)})")
    return cls(cfg_cls(**config))


def save(model, path):
    torch.save({"family": model.family,
                "config": dataclasses.asdict(model.cfg),
                "state_dict": model.state_dict()}, path)


def load(path):
    try:
        ckpt = torch.load(path, map_location="cpu")
    except Exception as err:  # torch raises RuntimeError, pickle others
        raise ValueError(f"{path}: not a PyTorch checkpoint ({err})") from err
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path}: not an mpcc_distill checkpoint")
    for key in ("family", "config", "state_dict"):
        if key not in ckpt:
            raise ValueError(f"{path}: not an mpcc_distill checkpoint "
                             f"(no '{key}')")
    model = build(ckpt["family"], ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    return model


def student_of(teacher, choice):
    """The teacher's architecture and weights with CHOICE's forms."""
    config = dataclasses.asdict(teacher.cfg)
    config.update(choice)
    student = build(teacher.family, config)
    student.load_state_dict(teacher.state_dict())
    return student
