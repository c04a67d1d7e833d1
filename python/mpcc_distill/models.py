"""The model families a student is built from, whose attention and MLP take
their softmax and GeLU forms by registry name:
- vit: patch embedding by a strided Conv2d, a class token, pre-LN blocks
  (timm-style); input pixel_values;
- bert: HuggingFace's BertForSequenceClassification (post-LN, pooler,
  classifier) with HF's parameter names, so an HF or scripts/make_fixtures.py
  state dict loads; inputs input_ids, token_type_ids, attention_mask.

A model returns its logits; `internals=True` also returns what layer-wise
distillation compares (MPCFormer's stage 1): every block's output hidden
states and every head's attention scores before the softmax.
"""
import dataclasses
import math

import numpy as np
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
        probs = self.softmax(scores, self.rows, None)
        out = (probs @ v).transpose(1, 2).reshape(b, n, c)
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

    def example_inputs(self):
        c = self.cfg
        return [np.zeros((1, c.channels, c.image, c.image), np.float32)]

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


@dataclasses.dataclass
class BertConfig:
    vocab_size: int = 4096
    hidden_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    intermediate_size: int = 512
    max_position_embeddings: int = 128
    type_vocab_size: int = 2
    num_labels: int = 2
    layer_norm_eps: float = 1e-12
    gelu: str = "erf"
    softmax: str = "exact"


class _Dense(nn.Module):
    """dense + LayerNorm(residual), HF's BertSelfOutput / BertOutput."""

    def __init__(self, cfg, width):
        super().__init__()
        self.dense = nn.Linear(width, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class BertSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.heads = cfg.num_attention_heads
        self.head_size = cfg.hidden_size // cfg.num_attention_heads
        self.query = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.key = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.value = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.softmax = approx.SOFTMAX[cfg.softmax]

    def _split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), \
            self._split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(
            self.head_size)
        probs = self.softmax(scores, int(x.shape[1]), mask)
        out = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return out.view(out.shape[0], out.shape[1], -1), scores


class BertAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self = BertSelfAttention(cfg)
        self.output = _Dense(cfg, cfg.hidden_size)

    def forward(self, x, mask):
        out, scores = self.self(x, mask)
        return self.output(out, x), scores


class BertIntermediate(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.act = approx.GELU[cfg.gelu]

    def forward(self, x):
        return self.act(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = BertAttention(cfg)
        self.intermediate = BertIntermediate(cfg)
        self.output = _Dense(cfg, cfg.intermediate_size)

    def forward(self, x, mask):
        a, scores = self.attention(x, mask)
        return self.output(self.intermediate(a), a), scores


class BertEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings,
                                                cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size,
                                                  cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.register_buffer(
            "position_ids",
            torch.arange(cfg.max_position_embeddings).expand((1, -1)))

    def forward(self, input_ids, token_type_ids):
        positions = self.position_ids[:, :input_ids.shape[1]]
        x = self.word_embeddings(input_ids) + \
            self.token_type_embeddings(token_type_ids)
        return self.LayerNorm(x + self.position_embeddings(positions))


class _BertEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList(
            BertLayer(cfg) for _ in range(cfg.num_hidden_layers))


class _BertPooler(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)


class _BertModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = _BertEncoder(cfg)
        self.pooler = _BertPooler(cfg)


class Bert(nn.Module):
    family = "bert"
    input_names = ["input_ids", "token_type_ids", "attention_mask"]

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.bert = _BertModel(cfg)
        self.classifier = nn.Linear(cfg.hidden_size, cfg.num_labels)

    def example_inputs(self):
        shape = (1, self.cfg.max_position_embeddings)
        return [np.zeros(shape, np.int64), np.zeros(shape, np.int64),
                np.ones(shape, np.int64)]

    def forward(self, input_ids, token_type_ids, attention_mask,
                internals=False):
        mask = approx.attention_mask(attention_mask, self.cfg.softmax)
        x = self.bert.embeddings(input_ids, token_type_ids)
        hidden, scores = [], []
        for layer in self.bert.encoder.layer:
            x, s = layer(x, mask)
            hidden.append(x)
            scores.append(s)
        pooled = torch.tanh(self.bert.pooler.dense(x[:, 0]))
        logits = self.classifier(pooled)
        return (logits, hidden, scores) if internals else logits


FAMILIES = {"vit": (ViT, ViTConfig), "bert": (Bert, BertConfig)}


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
