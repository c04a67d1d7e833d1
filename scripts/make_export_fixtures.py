#!/usr/bin/python3
"""make_export_fixtures.py: ONNX exports of common Transformer styles.

Small models written in plain PyTorch the way their libraries write them
(timm and torchvision ViT, HuggingFace GPT-2 / DistilBERT / RoBERTa / LLaMA,
nanoGPT, nn.TransformerEncoderLayer, the original post-LN ReLU Transformer),
exported with torch.onnx.export at opsets 13-17, static and dynamic axes.
Each variant is written to tests/fixtures/exports/<name>/ with its ONNX
file, inputs and PyTorch reference outputs as .npy, and a meta.json.

These are the export styles users bring (issue 11); tests/fixtures/README.md
describes each one and the ONNX ops it contains.

    /usr/bin/python3 scripts/make_export_fixtures.py [--out DIR] [--only NAME]

Run with Debian's interpreter (python3-torch 1.13, python3-onnx 1.12). The
output is byte-for-byte reproducible: each parameter has its own generator
seeded from a fixed seed and its name, inputs come from fixed
numpy.random.RandomState seeds, torch uses one thread. The script stops with
an error when an export no longer has the structure described for it.
"""

import argparse
import dataclasses
import io
import math
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from torch import nn

import make_fixtures as mf

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT_DIR = os.path.join(REPO_ROOT, "tests", "fixtures", "exports")

# All weights are random with the libraries' initialisation scale: every
# weight, bias and embedding N(0, STD); norm gains N(1, STD). Biases and
# gains are not left at exactly 0 / 1 because torch 1.13's exporter merges
# equal-valued initializers into Identity nodes (see make_fixtures.py).
INIT_STD = 0.02
SEED = 20240611

HIDDEN = 32
HEADS = 4
LAYERS = 2
FFN = 64
VOCAB = 256
MAX_POS = 64
LABELS = 2

IMAGE = 32
PATCH = 8
CLASSES = 10

# --------------------------------------------------------------------------
# Initialisation and activation recording
# --------------------------------------------------------------------------


def init_like_libraries(model, seed=SEED, std=INIT_STD):
    """Every parameter from its own generator seeded by (seed, name).

    Norm gains (parameters named weight/a_2 of a norm module) are
    N(1, std); everything else, norm biases included, N(0, std).
    """
    gains = set()
    for mname, m in model.named_modules():
        if isinstance(m, (nn.LayerNorm, RMSNorm, AnnotatedLayerNorm)):
            for pname in ("weight", "a_2"):
                if getattr(m, pname, None) is not None:
                    gains.add(f"{mname}.{pname}" if mname else pname)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            g = torch.Generator().manual_seed(
                (seed * 1000003 + mf._stable_hash(name)) % (2**63))
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            p.copy_((1.0 if name in gains else 0.0) + std * r)


def _record(key, t):
    # Shares make_fixtures' recorder, so its BERT encoder (reused for
    # RoBERTa) records into the same table.
    mf._record(key, t)


_RECORDED_MODULES = {
    nn.Linear: "linear_output",
    nn.Conv2d: "conv_output",
    nn.GELU: "gelu_input",
    nn.ReLU: "relu_input",
    nn.SiLU: "silu_input",
}


def _add_recording_hooks(model):
    """Forward hooks recording the ranges a fixed-point plan must hold."""
    handles = []
    for m in model.modules():
        if isinstance(m, (nn.LayerNorm, RMSNorm, AnnotatedLayerNorm)):
            def pre(mod, args):
                x = args[0].detach()
                _record("norm_input", x)
                _record("norm_input_mean_square", (x * x).mean(dim=-1))
            handles.append(m.register_forward_pre_hook(pre))
        for cls, key in _RECORDED_MODULES.items():
            if type(m) is cls or (cls is nn.Linear and isinstance(m, Conv1D)):
                if key.endswith("_input"):
                    def pre(mod, args, key=key):
                        _record(key, args[0].detach())
                    handles.append(m.register_forward_pre_hook(pre))
                else:
                    def post(mod, args, out, key=key):
                        _record(key, out.detach())
                    handles.append(m.register_forward_hook(post))
    return handles


# --------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------


class Conv1D(nn.Module):
    """HF transformers.pytorch_utils.Conv1D: a linear layer with the weight
    stored transposed, computed with addmm on the flattened input."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


def gelu_new(x):
    # HF NewGELUActivation (GPT-2's "gelu_new").
    return 0.5 * x * (1.0 + torch.tanh(
        math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class RMSNorm(nn.Module):
    """HF LlamaRMSNorm."""

    def __init__(self, hidden, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(
            variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


class AnnotatedLayerNorm(nn.Module):
    """The Annotated Transformer's LayerNorm: unbiased std, eps outside."""

    def __init__(self, features, eps=1e-6):
        super().__init__()
        self.a_2 = nn.Parameter(torch.ones(features))
        self.b_2 = nn.Parameter(torch.zeros(features))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        std = x.std(-1, keepdim=True)
        return self.a_2 * (x - mean) / (std + self.eps) + self.b_2


def sinusoidal_table(max_len, d_model):
    """The original Transformer's positional encoding, [1, max_len, d]."""
    pe = torch.zeros(max_len, d_model)
    position = torch.arange(0, max_len).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2) *
                         -(math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe.unsqueeze(0)


# --------------------------------------------------------------------------
# ViT, timm style (timm.models.vision_transformer)
# --------------------------------------------------------------------------


class PatchEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, HIDDEN, kernel_size=PATCH, stride=PATCH)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class TimmAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.num_heads = HEADS
        self.scale = (HIDDEN // HEADS) ** -0.5
        self.qkv = nn.Linear(HIDDEN, 3 * HIDDEN)
        self.proj = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads,
                                  C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q @ k.transpose(-2, -1)) * self.scale
        _record("attention_scores", attn)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class TimmMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(HIDDEN, FFN)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(FFN, HIDDEN)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TimmBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(HIDDEN, eps=1e-6)
        self.attn = TimmAttention()
        self.norm2 = nn.LayerNorm(HIDDEN, eps=1e-6)
        self.mlp = TimmMlp()

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TimmViT(nn.Module):
    def __init__(self):
        super().__init__()
        num_patches = (IMAGE // PATCH) ** 2
        self.patch_embed = PatchEmbed()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, HIDDEN))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, HIDDEN))
        self.blocks = nn.Sequential(*[TimmBlock() for _ in range(LAYERS)])
        self.norm = nn.LayerNorm(HIDDEN, eps=1e-6)
        self.head = nn.Linear(HIDDEN, CLASSES)

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


# --------------------------------------------------------------------------
# ViT, torchvision style (torchvision.models.vision_transformer), with the
# input normalisation inside the model as mean/std buffers
# --------------------------------------------------------------------------


class Normalize(nn.Module):
    """transforms.Normalize as a module: constants are buffers."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class MLPBlock(nn.Sequential):
    def __init__(self):
        super().__init__(nn.Linear(HIDDEN, FFN), nn.GELU(),
                         nn.Linear(FFN, HIDDEN))


class EncoderBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(HIDDEN, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(HIDDEN, HEADS,
                                                    batch_first=True)
        self.ln_2 = nn.LayerNorm(HIDDEN, eps=1e-6)
        self.mlp = MLPBlock()

    def forward(self, input):
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = x + input
        y = self.ln_2(x)
        return x + self.mlp(y)


class TorchvisionEncoder(nn.Module):
    def __init__(self, seq_length):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, HIDDEN))
        self.layers = nn.Sequential(*[EncoderBlock() for _ in range(LAYERS)])
        self.ln = nn.LayerNorm(HIDDEN, eps=1e-6)

    def forward(self, input):
        return self.ln(self.layers(input + self.pos_embedding))


class TorchvisionViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.normalize = Normalize([0.485, 0.456, 0.406],
                                   [0.229, 0.224, 0.225])
        self.conv_proj = nn.Conv2d(3, HIDDEN, kernel_size=PATCH, stride=PATCH)
        self.class_token = nn.Parameter(torch.zeros(1, 1, HIDDEN))
        self.encoder = TorchvisionEncoder((IMAGE // PATCH) ** 2 + 1)
        self.heads = nn.Sequential()
        self.heads.add_module("head", nn.Linear(HIDDEN, CLASSES))

    def forward(self, x):
        x = self.normalize(x)
        n, _, h, w = x.shape
        x = self.conv_proj(x)
        x = x.reshape(n, HIDDEN, (h // PATCH) * (w // PATCH))
        x = x.permute(0, 2, 1)
        batch_class_token = self.class_token.expand(n, -1, -1)
        x = torch.cat([batch_class_token, x], dim=1)
        x = self.encoder(x)
        return self.heads(x[:, 0])


# --------------------------------------------------------------------------
# GPT-2, HF style (transformers.models.gpt2.modeling_gpt2)
# --------------------------------------------------------------------------


class GPT2Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer(
            "bias", torch.tril(torch.ones((MAX_POS, MAX_POS), dtype=torch.bool))
            .view(1, 1, MAX_POS, MAX_POS), persistent=False)
        self.embed_dim = HIDDEN
        self.num_heads = HEADS
        self.head_dim = HIDDEN // HEADS
        self.split_size = HIDDEN
        self.c_attn = Conv1D(3 * HIDDEN, HIDDEN)
        self.c_proj = Conv1D(HIDDEN, HIDDEN)

    def _attn(self, query, key, value, attention_mask):
        attn_weights = torch.matmul(query, key.transpose(-1, -2))
        attn_weights = attn_weights / torch.full(
            [], value.size(-1) ** 0.5, dtype=attn_weights.dtype)
        _record("attention_scores", attn_weights)
        query_length, key_length = query.size(-2), key.size(-2)
        causal_mask = self.bias[:, :, key_length - query_length:key_length,
                                :key_length]
        mask_value = torch.finfo(attn_weights.dtype).min
        mask_value = torch.full([], mask_value, dtype=attn_weights.dtype)
        attn_weights = torch.where(causal_mask, attn_weights, mask_value)
        if attention_mask is not None:
            attn_weights = attn_weights + attention_mask
        attn_weights = F.softmax(attn_weights, dim=-1)
        return torch.matmul(attn_weights, value)

    def _split_heads(self, tensor):
        new_shape = tensor.size()[:-1] + (self.num_heads, self.head_dim)
        return tensor.view(new_shape).permute(0, 2, 1, 3)

    def _merge_heads(self, tensor):
        tensor = tensor.permute(0, 2, 1, 3).contiguous()
        new_shape = tensor.size()[:-2] + (self.num_heads * self.head_dim,)
        return tensor.view(new_shape)

    def forward(self, hidden_states, attention_mask):
        query, key, value = self.c_attn(hidden_states).split(
            self.split_size, dim=2)
        query = self._split_heads(query)
        key = self._split_heads(key)
        value = self._split_heads(value)
        attn_output = self._attn(query, key, value, attention_mask)
        return self.c_proj(self._merge_heads(attn_output))


class GPT2MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = Conv1D(FFN, HIDDEN)
        self.c_proj = Conv1D(HIDDEN, FFN)

    def forward(self, hidden_states):
        h = self.c_fc(hidden_states)
        _record("gelu_input", h)
        return self.c_proj(gelu_new(h))


class GPT2Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(HIDDEN, eps=1e-5)
        self.attn = GPT2Attention()
        self.ln_2 = nn.LayerNorm(HIDDEN, eps=1e-5)
        self.mlp = GPT2MLP()

    def forward(self, hidden_states, attention_mask):
        hidden_states = hidden_states + self.attn(self.ln_1(hidden_states),
                                                  attention_mask)
        return hidden_states + self.mlp(self.ln_2(hidden_states))


class GPT2LMHeadModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, HIDDEN)
        self.wpe = nn.Embedding(MAX_POS, HIDDEN)
        self.h = nn.ModuleList([GPT2Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(HIDDEN, eps=1e-5)
        # Tied to wte, as GPT2LMHeadModel does.
        self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, input_ids, attention_mask=None):
        input_shape = input_ids.size()
        position_ids = torch.arange(0, input_shape[-1], dtype=torch.long)
        position_ids = position_ids.unsqueeze(0).view(-1, input_shape[-1])
        if attention_mask is not None:
            batch_size = input_ids.shape[0]
            attention_mask = attention_mask.view(batch_size, -1)
            attention_mask = attention_mask[:, None, None, :]
            attention_mask = attention_mask.to(dtype=self.wte.weight.dtype)
            attention_mask = (1.0 - attention_mask) * torch.finfo(
                self.wte.weight.dtype).min
        hidden_states = self.wte(input_ids) + self.wpe(position_ids)
        for block in self.h:
            hidden_states = block(hidden_states, attention_mask)
        return self.lm_head(self.ln_f(hidden_states))


# --------------------------------------------------------------------------
# GPT-2, nanoGPT layout with an inline triu causal mask and masked_fill(-inf)
# --------------------------------------------------------------------------


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(HIDDEN, 3 * HIDDEN)
        self.c_proj = nn.Linear(HIDDEN, HIDDEN)
        self.n_head = HEADS
        self.n_embd = HIDDEN

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        _record("attention_scores", att)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        att = att.masked_fill(mask, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class NanoMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = nn.Linear(HIDDEN, FFN)
        self.c_proj = nn.Linear(FFN, HIDDEN)

    def forward(self, x):
        h = self.c_fc(x)
        _record("gelu_input", h)
        return self.c_proj(F.gelu(h, approximate="tanh"))


class NanoBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(HIDDEN)
        self.attn = CausalSelfAttention()
        self.ln_2 = nn.LayerNorm(HIDDEN)
        self.mlp = NanoMLP()

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class NanoGPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, HIDDEN)
        self.wpe = nn.Embedding(MAX_POS, HIDDEN)
        self.h = nn.ModuleList([NanoBlock() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(HIDDEN)
        self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx):
        t = idx.size(1)
        pos = torch.arange(0, t, dtype=torch.long).unsqueeze(0)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


# --------------------------------------------------------------------------
# DistilBERT, HF style (transformers.models.distilbert.modeling_distilbert)
# --------------------------------------------------------------------------


class DistilEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding(VOCAB, HIDDEN, padding_idx=0)
        self.position_embeddings = nn.Embedding(MAX_POS, HIDDEN)
        self.LayerNorm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.register_buffer("position_ids",
                             torch.arange(MAX_POS).expand((1, -1)),
                             persistent=False)

    def forward(self, input_ids):
        seq_length = input_ids.size(1)
        position_ids = self.position_ids[:, :seq_length]
        embeddings = (self.word_embeddings(input_ids) +
                      self.position_embeddings(position_ids))
        return self.LayerNorm(embeddings)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.n_heads = HEADS
        self.dim = HIDDEN
        self.q_lin = nn.Linear(HIDDEN, HIDDEN)
        self.k_lin = nn.Linear(HIDDEN, HIDDEN)
        self.v_lin = nn.Linear(HIDDEN, HIDDEN)
        self.out_lin = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, query, key, value, mask):
        bs, q_length, dim = query.size()
        k_length = key.size(1)
        dim_per_head = self.dim // self.n_heads
        mask_reshp = (bs, 1, 1, k_length)

        def shape(x):
            return x.view(bs, -1, self.n_heads, dim_per_head).transpose(1, 2)

        def unshape(x):
            return x.transpose(1, 2).contiguous().view(
                bs, -1, self.n_heads * dim_per_head)

        q = shape(self.q_lin(query))
        k = shape(self.k_lin(key))
        v = shape(self.v_lin(value))
        q = q / math.sqrt(dim_per_head)
        scores = torch.matmul(q, k.transpose(2, 3))
        _record("attention_scores", scores)
        mask = (mask == 0).view(mask_reshp).expand_as(scores)
        scores = scores.masked_fill(
            mask, torch.tensor(torch.finfo(scores.dtype).min))
        weights = F.softmax(scores, dim=-1)
        context = unshape(torch.matmul(weights, v))
        return self.out_lin(context)


class DistilFFN(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin1 = nn.Linear(HIDDEN, FFN)
        self.lin2 = nn.Linear(FFN, HIDDEN)
        self.activation = nn.GELU()

    def forward(self, x):
        return self.lin2(self.activation(self.lin1(x)))


class DistilTransformerBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = MultiHeadSelfAttention()
        self.sa_layer_norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.ffn = DistilFFN()
        self.output_layer_norm = nn.LayerNorm(HIDDEN, eps=1e-12)

    def forward(self, x, attn_mask):
        sa_output = self.attention(query=x, key=x, value=x, mask=attn_mask)
        sa_output = self.sa_layer_norm(sa_output + x)
        ffn_output = self.ffn(sa_output)
        return self.output_layer_norm(ffn_output + sa_output)


class DistilBertModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = DistilEmbeddings()
        self.layer = nn.ModuleList(
            [DistilTransformerBlock() for _ in range(LAYERS)])

    def forward(self, input_ids, attention_mask):
        hidden = self.embeddings(input_ids)
        for layer in self.layer:
            hidden = layer(hidden, attention_mask)
        return hidden


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self):
        super().__init__()
        self.distilbert = DistilBertModel()
        self.pre_classifier = nn.Linear(HIDDEN, HIDDEN)
        self.classifier = nn.Linear(HIDDEN, LABELS)

    def forward(self, input_ids, attention_mask):
        hidden_state = self.distilbert(input_ids, attention_mask)
        pooled_output = hidden_state[:, 0]
        pooled_output = self.pre_classifier(pooled_output)
        pooled_output = nn.ReLU()(pooled_output)
        return self.classifier(pooled_output)


# --------------------------------------------------------------------------
# RoBERTa, HF style (transformers.models.roberta.modeling_roberta): BERT's
# encoder (make_fixtures.BertEncoder) with RoBERTa's embeddings and head
# --------------------------------------------------------------------------

ROBERTA_PAD = 1


def create_position_ids_from_input_ids(input_ids, padding_idx):
    mask = input_ids.ne(padding_idx).int()
    incremental_indices = torch.cumsum(mask, dim=1).type_as(mask) * mask
    return incremental_indices.long() + padding_idx


class RobertaEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.padding_idx = ROBERTA_PAD
        self.word_embeddings = nn.Embedding(VOCAB, HIDDEN,
                                            padding_idx=ROBERTA_PAD)
        self.position_embeddings = nn.Embedding(MAX_POS + ROBERTA_PAD + 1,
                                                HIDDEN,
                                                padding_idx=ROBERTA_PAD)
        self.token_type_embeddings = nn.Embedding(1, HIDDEN)
        self.LayerNorm = nn.LayerNorm(HIDDEN, eps=1e-5)
        self.register_buffer("token_type_ids",
                             torch.zeros((1, MAX_POS), dtype=torch.long),
                             persistent=False)

    def forward(self, input_ids):
        input_shape = input_ids.size()
        seq_length = input_shape[1]
        position_ids = create_position_ids_from_input_ids(input_ids,
                                                          self.padding_idx)
        buffered = self.token_type_ids[:, :seq_length]
        token_type_ids = buffered.expand(input_shape[0], seq_length)
        embeddings = (self.word_embeddings(input_ids) +
                      self.token_type_embeddings(token_type_ids))
        embeddings += self.position_embeddings(position_ids)
        return self.LayerNorm(embeddings)


class RobertaClassificationHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(HIDDEN, HIDDEN)
        self.out_proj = nn.Linear(HIDDEN, LABELS)

    def forward(self, features):
        x = features[:, 0, :]
        x = torch.tanh(self.dense(x))
        return self.out_proj(x)


class RobertaModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = RobertaEmbeddings()
        self.encoder = mf.BertEncoder(mf.BertConfig(
            vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
            num_attention_heads=HEADS, intermediate_size=FFN,
            layer_norm_eps=1e-5))

    def forward(self, input_ids, attention_mask):
        dtype = self.embeddings.word_embeddings.weight.dtype
        ext = attention_mask[:, None, None, :].to(dtype=dtype)
        # Current HF get_extended_attention_mask.
        ext = (1.0 - ext) * torch.finfo(dtype).min
        return self.encoder(self.embeddings(input_ids), ext)


class RobertaForSequenceClassification(nn.Module):
    def __init__(self):
        super().__init__()
        self.roberta = RobertaModel()
        self.classifier = RobertaClassificationHead()

    def forward(self, input_ids, attention_mask):
        return self.classifier(self.roberta(input_ids, attention_mask))


# --------------------------------------------------------------------------
# nn.TransformerEncoder classifier (the PyTorch tutorial's layout)
# --------------------------------------------------------------------------

PAD = 0


class TorchEncoderClassifier(nn.Module):
    """Embedding * sqrt(d) + sinusoidal positions, nn.TransformerEncoder,
    a linear head on the first token. The key padding mask is a bool graph
    input, or computed from the ids (input_ids == PAD) inside the model."""

    def __init__(self, activation, norm_first, mask_input):
        super().__init__()
        self.mask_input = mask_input
        self.embedding = nn.Embedding(VOCAB, HIDDEN)
        self.register_buffer("pe", sinusoidal_table(MAX_POS, HIDDEN))
        layer = nn.TransformerEncoderLayer(
            HIDDEN, HEADS, FFN, dropout=0.0, activation=activation,
            batch_first=True, norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(
            layer, LAYERS,
            norm=nn.LayerNorm(HIDDEN) if norm_first else None,
            enable_nested_tensor=False)
        self.head = nn.Linear(HIDDEN, LABELS)

    def forward(self, input_ids, src_key_padding_mask=None):
        if not self.mask_input:
            src_key_padding_mask = input_ids == PAD
        x = self.embedding(input_ids) * math.sqrt(HIDDEN)
        x = x + self.pe[:, :input_ids.size(1)]
        x = self.encoder(x, src_key_padding_mask=src_key_padding_mask)
        return self.head(x[:, 0])


# --------------------------------------------------------------------------
# The original Transformer's encoder (post-LN, ReLU FFN), written as the
# Annotated Transformer writes its pieces
# --------------------------------------------------------------------------


class MultiHeadedAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.d_k = HIDDEN // HEADS
        self.h = HEADS
        self.linears = nn.ModuleList(
            [nn.Linear(HIDDEN, HIDDEN) for _ in range(4)])

    def forward(self, query, key, value, mask):
        mask = mask.unsqueeze(1)
        nbatches = query.size(0)
        query, key, value = [
            lin(x).view(nbatches, -1, self.h, self.d_k).transpose(1, 2)
            for lin, x in zip(self.linears, (query, key, value))]
        scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(
            self.d_k)
        _record("attention_scores", scores)
        scores = scores.masked_fill(mask == 0, -1e9)
        p_attn = scores.softmax(dim=-1)
        x = torch.matmul(p_attn, value)
        x = x.transpose(1, 2).contiguous().view(nbatches, -1,
                                                self.h * self.d_k)
        return self.linears[-1](x)


class PositionwiseFeedForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.w_1 = nn.Linear(HIDDEN, FFN)
        self.w_2 = nn.Linear(FFN, HIDDEN)

    def forward(self, x):
        h = self.w_1(x)
        _record("relu_input", h)
        return self.w_2(h.relu())


class PostLNEncoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = MultiHeadedAttention()
        self.feed_forward = PositionwiseFeedForward()
        self.norm1 = AnnotatedLayerNorm(HIDDEN)
        self.norm2 = AnnotatedLayerNorm(HIDDEN)

    def forward(self, x, mask):
        x = self.norm1(x + self.self_attn(x, x, x, mask))
        return self.norm2(x + self.feed_forward(x))


class VaswaniEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.lut = nn.Embedding(VOCAB, HIDDEN)
        self.register_buffer("pe", sinusoidal_table(MAX_POS, HIDDEN))
        self.layers = nn.ModuleList(
            [PostLNEncoderLayer() for _ in range(LAYERS)])

    def forward(self, src):
        src_mask = (src != PAD).unsqueeze(-2)
        x = self.lut(src) * math.sqrt(HIDDEN)
        x = x + self.pe[:, :src.size(1)]
        for layer in self.layers:
            x = layer(x, src_mask)
        return x


# --------------------------------------------------------------------------
# LLaMA, HF style (transformers.models.llama.modeling_llama): RMSNorm,
# rotary embeddings computed from the positions, SwiGLU, causal mask
# --------------------------------------------------------------------------

LLAMA_FFN = 88  # 8/3 * hidden, rounded up to a multiple of 8


class LlamaRotaryEmbedding(nn.Module):
    def __init__(self, dim, base=10000.0):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, position_ids):
        inv_freq_expanded = self.inv_freq[None, :, None].expand(
            position_ids.shape[0], -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded @ position_ids_expanded).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()


def rotate_half(x):
    x1 = x[..., :x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    cos = cos.unsqueeze(1)
    sin = sin.unsqueeze(1)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) *
                                                            sin)


class LlamaAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.num_heads = HEADS
        self.head_dim = HIDDEN // HEADS
        self.q_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.k_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.v_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.o_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)

    def forward(self, hidden_states, causal_mask, cos, sin):
        bsz, q_len, _ = hidden_states.size()

        def heads(x):
            return x.view(bsz, q_len, self.num_heads,
                          self.head_dim).transpose(1, 2)

        query_states = heads(self.q_proj(hidden_states))
        key_states = heads(self.k_proj(hidden_states))
        value_states = heads(self.v_proj(hidden_states))
        query_states, key_states = apply_rotary_pos_emb(query_states,
                                                        key_states, cos, sin)
        attn_weights = torch.matmul(query_states, key_states.transpose(
            2, 3)) / math.sqrt(self.head_dim)
        _record("attention_scores", attn_weights)
        attn_weights = attn_weights + causal_mask
        attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous()
        return self.o_proj(attn_output.reshape(bsz, q_len, HIDDEN))


class LlamaMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate_proj = nn.Linear(HIDDEN, LLAMA_FFN, bias=False)
        self.up_proj = nn.Linear(HIDDEN, LLAMA_FFN, bias=False)
        self.down_proj = nn.Linear(LLAMA_FFN, HIDDEN, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = LlamaAttention()
        self.mlp = LlamaMLP()
        self.input_layernorm = RMSNorm(HIDDEN)
        self.post_attention_layernorm = RMSNorm(HIDDEN)

    def forward(self, hidden_states, causal_mask, cos, sin):
        residual = hidden_states
        hidden_states = self.self_attn(self.input_layernorm(hidden_states),
                                       causal_mask, cos, sin)
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = self.mlp(self.post_attention_layernorm(hidden_states))
        return residual + hidden_states


def make_causal_mask(bsz, tgt_len, dtype):
    """HF's _make_causal_mask: finfo.min above the diagonal, 0 elsewhere."""
    mask = torch.full((tgt_len, tgt_len), torch.finfo(dtype).min)
    mask_cond = torch.arange(mask.size(-1))
    mask.masked_fill_(mask_cond < (mask_cond + 1).view(mask.size(-1), 1), 0)
    mask = mask.to(dtype)
    return mask[None, None, :, :].expand(bsz, 1, tgt_len, tgt_len)


class LlamaForCausalLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding(VOCAB, HIDDEN)
        self.layers = nn.ModuleList(
            [LlamaDecoderLayer() for _ in range(LAYERS)])
        self.norm = RMSNorm(HIDDEN)
        self.rotary_emb = LlamaRotaryEmbedding(HIDDEN // HEADS)
        self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)

    def forward(self, input_ids):
        bsz, seq_length = input_ids.shape
        position_ids = torch.arange(0, seq_length, dtype=torch.long)
        position_ids = position_ids.unsqueeze(0)
        hidden_states = self.embed_tokens(input_ids)
        causal_mask = make_causal_mask(bsz, seq_length, hidden_states.dtype)
        cos, sin = self.rotary_emb(position_ids)
        for layer in self.layers:
            hidden_states = layer(hidden_states, causal_mask, cos, sin)
        return self.lm_head(self.norm(hidden_states))


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------


def make_image(rng, batch):
    """Smooth-ish images in [0, 1]: 4x4 colour blocks upsampled to the
    patch grid's scale plus noise, so every patch differs."""
    blocks = rng.rand(batch, 3, 4, 4)
    img = np.kron(blocks, np.ones((1, 1, IMAGE // 4, IMAGE // 4)))
    img = img + 0.1 * rng.randn(batch, 3, IMAGE, IMAGE)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def make_ids(rng, real_lens, total_len, first, pad, low, last=None):
    """Token ids: row i has real_lens[i] real tokens (first id `first`,
    then random in [low, VOCAB), optionally `last` at the end), padded
    with `pad`; and the matching 0/1 attention mask."""
    b = len(real_lens)
    ids = rng.randint(low, VOCAB, size=(b, total_len)).astype(np.int64)
    mask = np.zeros((b, total_len), dtype=np.int64)
    for i, n in enumerate(real_lens):
        ids[i, 0] = first
        if last is not None:
            ids[i, n - 1] = last
        ids[i, n:] = pad
        mask[i, :n] = 1
    return ids, mask


# --------------------------------------------------------------------------
# Variants
# --------------------------------------------------------------------------


@dataclasses.dataclass
class Variant:
    name: str
    family: str
    opset: int
    dynamic: bool
    build: object  # () -> nn.Module
    inputs: object  # (rng, set) -> {name: array}; set is "a" or "b"
    output: str
    style: str  # what export style this is (README, meta.json)
    expect_ops: tuple  # ops the export must contain
    # "padded": set a has padding; outputs must match the unpadded run on
    # real positions. "causal": changing the last token must leave the
    # outputs of earlier positions unchanged.
    checks: tuple = ()
    dynamic_axes: dict = None
    seed: int = 0  # input RandomState seed


def _image_inputs(rng, s):
    img = make_image(rng, 1 if s == "a" else 2)
    return {"pixel_values": img}


def _timm_inputs(rng, s):
    # timm's ViT preprocessing: mean = std = 0.5, applied by the caller.
    img = make_image(rng, 1 if s == "a" else 2)
    return {"pixel_values": ((img - 0.5) / 0.5).astype(np.float32)}


def _lm_inputs(rng, s):
    shape = (1, 16) if s == "a" else (2, 12)
    return {"input_ids": rng.randint(0, VOCAB,
                                     size=shape).astype(np.int64)}


def _padded(s):
    return ([12], 16) if s == "a" else ([10, 7], 12)


def _gpt2_masked_inputs(rng, s):
    lens, total = _padded(s)
    ids, mask = make_ids(rng, lens, total, first=rng.randint(VOCAB), pad=0,
                         low=0)
    return {"input_ids": ids, "attention_mask": mask}


def _distilbert_inputs(rng, s):
    lens, total = _padded(s)
    ids, mask = make_ids(rng, lens, total, first=1, pad=0, low=3, last=2)
    return {"input_ids": ids, "attention_mask": mask}


def _roberta_inputs(rng, s):
    lens, total = _padded(s)
    ids, mask = make_ids(rng, lens, total, first=0, pad=ROBERTA_PAD, low=3,
                         last=2)
    return {"input_ids": ids, "attention_mask": mask}


def _ids_only_inputs(rng, s):
    lens, total = _padded(s)
    ids, _ = make_ids(rng, lens, total, first=1, pad=PAD, low=1)
    return {"input_ids": ids}


def _ids_bool_mask_inputs(rng, s):
    lens, total = _padded(s)
    ids, mask = make_ids(rng, lens, total, first=1, pad=PAD, low=1)
    return {"input_ids": ids, "src_key_padding_mask": mask == 0}


def _src_inputs(rng, s):
    return {"src": _ids_only_inputs(rng, s)["input_ids"]}


def _axes(names, batch_only=False, out="logits", out_seq=False):
    axes = {n: ({0: "batch"} if batch_only else {0: "batch", 1: "seq"})
            for n in names}
    axes[out] = {0: "batch", 1: "seq"} if out_seq else {0: "batch"}
    return axes


VARIANTS = [
    Variant("vit_17_conv_static", "vit", 17, False, TimmViT, _timm_inputs,
            "logits",
            "timm VisionTransformer: Conv2d patch embedding (kernel = stride "
            "= 8), flatten/transpose, cls token expand + concat, position "
            "embedding, pre-LN blocks with one fused qkv Linear "
            "(reshape/permute/unbind), erf GeLU MLP, head on the cls token",
            ("Conv", "Concat", "Expand", "LayerNormalization", "Softmax",
             "Erf"), seed=11),
    Variant("vit_13_conv_dynamic", "vit", 13, True, TimmViT, _timm_inputs,
            "logits", "timm VisionTransformer as vit_17_conv_static, batch "
            "axis dynamic, LayerNorm decomposed (opset 13)",
            ("Conv", "Shape", "ReduceMean", "Sqrt", "Softmax", "Erf"),
            dynamic_axes=_axes(["pixel_values"], batch_only=True), seed=12),
    Variant("vit_14_mha_normalize_static", "vit", 14, False, TorchvisionViT,
            _image_inputs, "logits",
            "torchvision VisionTransformer: in-model normalisation (x - mean) "
            "/ std with mean/std as [1,3,1,1] buffers, Conv2d conv_proj, "
            "class token, nn.MultiheadAttention (batch_first, "
            "need_weights=False), erf GeLU MLP, decomposed LayerNorm",
            ("Conv", "Sub", "Div", "Softmax", "Erf", "ReduceMean"), seed=13),
    Variant("gpt2_17_where_static", "gpt2", 17, False, GPT2LMHeadModel,
            _lm_inputs, "logits",
            "HF GPT2LMHeadModel: bool tril buffer sliced and "
            "torch.where(mask, w, finfo.min), gelu_new (tanh form), Conv1D "
            "linears (addmm on the flattened input), tied lm_head; logits "
            "for every position",
            ("Where", "Gemm", "Tanh", "Pow", "Split"), checks=("causal",),
            seed=21),
    Variant("gpt2_16_where_dynamic", "gpt2", 16, True, GPT2LMHeadModel,
            _gpt2_masked_inputs, "logits",
            "gpt2_17_where_static with an attention_mask input (HF: "
            "(1 - mask) * finfo.min added to the scores after the causal "
            "where), batch and seq dynamic, right padding",
            ("Where", "Gemm", "Tanh", "Shape", "Range"),
            checks=("causal", "padded"),
            dynamic_axes=_axes(["input_ids", "attention_mask"],
                               out_seq=True), seed=22),
    Variant("gpt2_14_triu_static", "gpt2", 14, False, NanoGPT, _lm_inputs,
            "logits",
            "nanoGPT layout: fused c_attn nn.Linear + split, causal mask "
            "torch.triu(ones(T, T, bool), 1) + masked_fill(-inf), "
            "F.gelu(approximate='tanh'), tied lm_head",
            ("Trilu", "Where", "Tanh", "Split"), checks=("causal",), seed=23),
    Variant("distilbert_17_static", "distilbert", 17, False,
            DistilBertForSequenceClassification, _distilbert_inputs,
            "logits",
            "HF DistilBertForSequenceClassification: (mask == 0).view()."
            "expand_as(scores) + masked_fill(finfo.min), q / sqrt(d) before "
            "QK^T, post-LN, erf GeLU, pre_classifier + ReLU + classifier",
            ("Equal", "Expand", "Where", "Relu", "LayerNormalization"),
            checks=("padded",), seed=31),
    Variant("distilbert_15_dynamic", "distilbert", 15, True,
            DistilBertForSequenceClassification, _distilbert_inputs,
            "logits", "distilbert_17_static, batch and seq dynamic, "
            "LayerNorm decomposed (opset 15)",
            ("Equal", "Expand", "Where", "Relu", "ReduceMean", "Shape"),
            checks=("padded",),
            dynamic_axes=_axes(["input_ids", "attention_mask"]), seed=32),
    Variant("roberta_17_static", "roberta", 17, False,
            RobertaForSequenceClassification, _roberta_inputs, "logits",
            "HF RobertaForSequenceClassification: position ids "
            "input_ids.ne(pad).int().cumsum(1) * mask + pad, buffered zero "
            "token types, additive mask (1 - m) * finfo.min, BERT encoder, "
            "classification head dense + tanh + out_proj",
            ("Not", "CumSum", "LayerNormalization", "Tanh", "Erf"),
            checks=("padded",), seed=41),
    Variant("roberta_14_dynamic", "roberta", 14, True,
            RobertaForSequenceClassification, _roberta_inputs, "logits",
            "roberta_17_static, batch and seq dynamic, LayerNorm decomposed",
            ("Not", "CumSum", "ReduceMean", "Shape"), checks=("padded",),
            dynamic_axes=_axes(["input_ids", "attention_mask"]), seed=42),
    Variant("torchenc_17_relu_postln_static", "torchenc", 17, False,
            lambda: TorchEncoderClassifier("relu", False, True),
            _ids_bool_mask_inputs, "logits",
            "nn.TransformerEncoder(nn.TransformerEncoderLayer(relu, "
            "norm_first=False, batch_first)) with src_key_padding_mask as a "
            "bool graph input; embedding * sqrt(d) + sinusoidal table",
            ("Relu", "Where", "LayerNormalization", "Softmax"),
            checks=("padded",), seed=51),
    Variant("torchenc_14_gelu_preln_static", "torchenc", 14, False,
            lambda: TorchEncoderClassifier("gelu", True, False),
            _ids_only_inputs, "logits",
            "nn.TransformerEncoderLayer(gelu, norm_first=True) with a final "
            "LayerNorm; src_key_padding_mask computed in the model as "
            "input_ids == 0",
            ("Erf", "Equal", "Where", "ReduceMean", "Softmax"),
            checks=("padded",), seed=52),
    Variant("torchenc_16_relu_preln_dynamic", "torchenc", 16, True,
            lambda: TorchEncoderClassifier("relu", True, True),
            _ids_bool_mask_inputs, "logits",
            "nn.TransformerEncoderLayer(relu, norm_first=True), bool "
            "src_key_padding_mask input, batch and seq dynamic",
            ("Relu", "Where", "Shape", "Softmax"), checks=("padded",),
            dynamic_axes=_axes(["input_ids", "src_key_padding_mask"]),
            seed=53),
    Variant("vaswani_13_relu_static", "vaswani", 13, False, VaswaniEncoder,
            _src_inputs, "memory",
            "the original Transformer encoder, post-LN, ReLU FFN, written as "
            "the Annotated Transformer: mask (src != pad) + masked_fill("
            "mask == 0, -1e9), LayerNorm a_2 * (x - mean) / (std + eps) + "
            "b_2 with the unbiased std, embedding * sqrt(d) + sinusoidal "
            "table; output the encoder memory [B, S, 32]",
            ("Relu", "Equal", "Not", "Where", "Sqrt", "ReduceMean"),
            checks=("padded",), seed=61),
    Variant("llama_17_static", "llama", 17, False, LlamaForCausalLM,
            _lm_inputs, "logits",
            "HF LlamaForCausalLM: RMSNorm (pow, mean, rsqrt), rotary "
            "embeddings cos/sin of inv_freq x positions with rotate_half, "
            "causal mask full(finfo.min).masked_fill(arange < arange + 1, 0) "
            "added, SwiGLU MLP (SiLU), no biases, untied lm_head",
            ("Sigmoid", "Sin", "Cos", "Pow", "Sqrt", "ReduceMean"),
            checks=("causal",), seed=71),
    Variant("llama_14_dynamic", "llama", 14, True, LlamaForCausalLM,
            _lm_inputs, "logits",
            "llama_17_static, batch and seq dynamic: positions, cos/sin and "
            "the causal mask are computed from the runtime shape",
            ("Sigmoid", "Sin", "Cos", "Range", "Shape"), checks=("causal",),
            dynamic_axes=_axes(["input_ids"], out_seq=True), seed=72),
]

# --------------------------------------------------------------------------
# Reference, checks, export
# --------------------------------------------------------------------------


def forward(model, inputs, names):
    # No torch.no_grad(): under it nn.MultiheadAttention and
    # nn.TransformerEncoderLayer take their fused fast path, which is not
    # the computation the exporter traces.
    out = model(*[torch.from_numpy(inputs[n]) for n in names])
    return out.detach().numpy().astype(np.float32)


def run_reference(model, inputs, names):
    rec = mf.Recorder()
    mf._RECORDER = rec
    handles = _add_recording_hooks(model)
    try:
        out = forward(model, inputs, names)
    finally:
        for h in handles:
            h.remove()
        mf._RECORDER = None
    return out, rec.ranges


def check_padded(v, model, inputs, names, out):
    """Row 0 of set a has padding: running only its real tokens must give
    the same outputs (classifier logits, or the real positions' rows)."""
    mask_name = next((n for n in names if "mask" in n), None)
    if mask_name == "src_key_padding_mask":
        real = int((~inputs[mask_name][0]).sum())
    elif mask_name is not None:
        real = int(inputs[mask_name][0].sum())
    else:
        real = int((inputs[names[0]][0] != PAD).sum())
    total = inputs[names[0]].shape[1]
    if real >= total:
        raise RuntimeError(f"{v.name}: set a has no padding to check")
    cut = {n: inputs[n][:, :real] for n in names}
    ref = forward(model, cut, names)
    got = out if out.ndim == 2 else out[:, :real]
    diff = float(np.abs(got - ref).max())
    if diff > 1e-5:
        raise RuntimeError(f"{v.name}: padding changes the outputs by {diff}")


def check_causal(v, model, inputs, names, out):
    """A new last token must not change the outputs of earlier positions."""
    changed = dict(inputs)
    ids = inputs["input_ids"].copy()
    ids[:, -1] = (ids[:, -1] + 97) % VOCAB
    changed["input_ids"] = ids
    new = forward(model, changed, names)
    before = float(np.abs(new[:, :-1] - out[:, :-1]).max())
    last = float(np.abs(new[:, -1] - out[:, -1]).max())
    if before > 1e-5 or last < 1e-4:
        raise RuntimeError(f"{v.name}: not causal (earlier positions moved "
                           f"{before}, last {last})")


def argmax_margin(out):
    """Smallest gap between the largest and second largest output of a
    row: how far a computed output may move before its argmax changes."""
    s = np.sort(out.reshape(-1, out.shape[-1]), axis=-1)
    return float((s[:, -1] - s[:, -2]).min())


def export_onnx(v, model, inputs, names):
    args = tuple(torch.from_numpy(inputs[n]) for n in names)
    buf = io.BytesIO()
    # Not under torch.no_grad(): see forward().
    torch.onnx.export(model, args, buf, opset_version=v.opset,
                      do_constant_folding=True, input_names=list(names),
                      output_names=[v.output], dynamic_axes=v.dynamic_axes)
    return buf.getvalue()


def check_structure(v, proto):
    ops = mf.op_inventory(proto)
    problems = [f"missing {op}" for op in v.expect_ops if op not in ops]
    for d in proto.graph.input:
        dims = d.type.tensor_type.shape.dim
        has_param = any(x.HasField("dim_param") for x in dims)
        if v.dynamic != has_param:
            problems.append(f"input {d.name}: symbolic dims {has_param}")
    if problems:
        raise RuntimeError(f"{v.name}: " + "; ".join(problems))


def write_variant(v, out_root):
    out_dir = os.path.join(out_root, v.name)
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.RandomState(1000 + v.seed)
    sets = {"a": v.inputs(rng, "a")}
    if v.dynamic:
        sets["b"] = v.inputs(rng, "b")
    names = list(sets["a"])

    torch.manual_seed(0)
    model = v.build().eval()
    init_like_libraries(model)

    outs, ranges = {}, {}
    for s, inputs in sets.items():
        outs[s], ranges[s] = run_reference(model, inputs, names)
    if "padded" in v.checks:
        check_padded(v, model, sets["a"], names, outs["a"])
    if "causal" in v.checks:
        check_causal(v, model, sets["a"], names, outs["a"])

    data = export_onnx(v, model, sets["a"], names)
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    check_structure(v, proto)
    with open(os.path.join(out_dir, "model.onnx"), "wb") as f:
        f.write(data)

    files = ["model.onnx"]
    meta_sets = {}
    for s, inputs in sets.items():
        suffix = "" if s == "a" else f".{s}"
        entry = {"inputs": [], "outputs": []}
        for n in names:
            fname = f"{n}{suffix}.npy"
            np.save(os.path.join(out_dir, fname), inputs[n])
            files.append(fname)
            entry["inputs"].append({"name": n, "file": fname,
                                    "shape": list(inputs[n].shape),
                                    "dtype": str(inputs[n].dtype)})
        fname = f"{v.output}{suffix}.npy"
        np.save(os.path.join(out_dir, fname), outs[s])
        files.append(fname)
        entry["outputs"].append({"name": v.output, "file": fname,
                                 "shape": list(outs[s].shape),
                                 "dtype": "float32"})
        meta_sets[s] = entry

    meta = {
        "name": v.name,
        "family": v.family,
        "style": v.style,
        "opset": v.opset,
        "dynamic": v.dynamic,
        "config": {"hidden": HIDDEN, "heads": HEADS, "layers": LAYERS,
                   "ffn": LLAMA_FFN if v.family == "llama" else FFN,
                   "vocab": VOCAB, "max_positions": MAX_POS,
                   "image": IMAGE, "patch": PATCH, "classes": CLASSES,
                   "labels": LABELS},
        "init": {"seed": SEED, "std": INIT_STD,
                 "rule": "weights, biases, embeddings N(0, std); norm "
                         "gains N(1, std)"},
        "checks": list(v.checks),
        "set_a": meta_sets["a"],
        "set_b": meta_sets.get("b"),
        "output_abs_max": float(np.abs(outs["a"]).max()),
        "argmax_margin": (argmax_margin(outs["a"])
                          if v.output == "logits" else None),
        "observed_ranges": mf.round_ranges(ranges["a"]),
        "observed_ranges_b": (mf.round_ranges(ranges["b"])
                              if "b" in ranges else None),
        "files": files,
    }
    return mf.write_meta(out_dir, meta, proto)


def summarize(meta, out_dir):
    size = sum(os.path.getsize(os.path.join(out_dir, f))
               for f in meta["files"])
    ops = ", ".join(f"{k} {n}" for k, n in meta["op_types"].items())
    return (f"| `{meta['name']}` | {meta['num_nodes']} | {size // 1024} KB "
            f"| {ops} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT_DIR,
                    help="output directory (default tests/fixtures/exports)")
    ap.add_argument("--only", action="append", default=[],
                    help="write only this variant (repeatable)")
    args = ap.parse_args()
    known = {v.name for v in VARIANTS}
    for n in args.only:
        if n not in known:
            ap.error(f"unknown variant {n}; known: {', '.join(sorted(known))}")
    torch.set_num_threads(1)
    for v in VARIANTS:
        if args.only and v.name not in args.only:
            continue
        meta = write_variant(v, args.out)
        print(summarize(meta, os.path.join(args.out, v.name)))


if __name__ == "__main__":
    main()
