"""Transformers of the zoo, in plain torch: BERT-base, MiniLM-L6 (all-MiniLM-L6-v2's shapes),
ViT-B/16 and GPT-2 small.

Attention is written with explicit ``@`` products so the tracer records ``Q K^T`` and ``P V`` as
``matmul`` layers (``batch * heads`` products each). Shapes follow the published configurations:
BERT-base (12 layers, d = 768, 12 heads, FFN 3072, pooler), all-MiniLM-L6-v2 (6 layers, d = 384,
12 heads, FFN 1536, mean pooling: no pooler), ViT-B/16 (patch 16, 197 tokens at 224x224, 12
layers, d = 768, head to 1000 classes), GPT-2 small (12 layers, d = 768, fused QKV projection,
causal mask, tied LM head to 50,257 tokens).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["bert_base", "minilm_l6", "vit_b16", "gpt2_small"]


class Attention(nn.Module):
    def __init__(self, d: int, heads: int, fused_qkv: bool = False, causal: bool = False):
        super().__init__()
        self.h, self.dh, self.causal = heads, d // heads, causal
        if fused_qkv:
            self.qkv = nn.Linear(d, 3 * d)
        else:
            self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.out = nn.Linear(d, d)

    def forward(self, x):
        b, s, d = x.shape
        if hasattr(self, "qkv"):
            q, k, v = self.qkv(x).split(d, dim=-1)
        else:
            q, k, v = self.q(x), self.k(x), self.v(x)
        q, k, v = (t.view(b, s, self.h, self.dh).transpose(1, 2) for t in (q, k, v))
        scores = (q @ k.transpose(-1, -2)) / self.dh**0.5
        if self.causal:
            mask = torch.ones(s, s, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(mask, float("-inf"))
        ctx = scores.softmax(-1) @ v
        return self.out(ctx.transpose(1, 2).reshape(b, s, d))


class Block(nn.Module):
    def __init__(self, d: int, heads: int, ff: int, pre_norm: bool, fused_qkv: bool = False, causal: bool = False):
        super().__init__()
        self.attn = Attention(d, heads, fused_qkv, causal)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff1, self.ff2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.act = nn.GELU()
        self.pre_norm = pre_norm

    def forward(self, x):
        if self.pre_norm:
            x = x + self.attn(self.ln1(x))
            return x + self.ff2(self.act(self.ff1(self.ln2(x))))
        x = self.ln1(x + self.attn(x))
        return self.ln2(x + self.ff2(self.act(self.ff1(x))))


class Encoder(nn.Module):
    """BERT-style encoder (post-norm), token ids in."""

    def __init__(
        self, layers: int, d: int, heads: int, ff: int, vocab: int = 30522, max_pos: int = 512, pooler: bool = True
    ):
        super().__init__()
        self.tok, self.pos, self.typ = nn.Embedding(vocab, d), nn.Embedding(max_pos, d), nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d)
        self.blocks = nn.ModuleList(Block(d, heads, ff, pre_norm=False) for _ in range(layers))
        self.pooler = nn.Linear(d, d) if pooler else None

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.ln(self.tok(ids) + self.pos(pos)[None] + self.typ(torch.zeros_like(ids)))
        for blk in self.blocks:
            x = blk(x)
        return torch.tanh(self.pooler(x[:, 0])) if self.pooler is not None else x.mean(1)


class ViT(nn.Module):
    def __init__(
        self,
        image: int = 224,
        patch: int = 16,
        d: int = 768,
        layers: int = 12,
        heads: int = 12,
        ff: int = 3072,
        num_classes: int = 1000,
    ):
        super().__init__()
        self.patch = nn.Conv2d(3, d, patch, patch)
        n = (image // patch) ** 2 + 1
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.zeros(1, n, d))
        self.blocks = nn.ModuleList(Block(d, heads, ff, pre_norm=True) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, num_classes)

    def forward(self, img):
        x = self.patch(img).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x)[:, 0])


class GPT2(nn.Module):
    def __init__(self, layers: int = 12, d: int = 768, heads: int = 12, vocab: int = 50257, max_pos: int = 1024):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(max_pos, d)
        self.blocks = nn.ModuleList(
            Block(d, heads, 4 * d, pre_norm=True, fused_qkv=True, causal=True) for _ in range(layers)
        )
        self.ln = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, ids):
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))[None]
        for blk in self.blocks:
            x = blk(x)
        return self.lm_head(self.ln(x))


def bert_base() -> nn.Module:
    return Encoder(12, 768, 12, 3072)


def minilm_l6() -> nn.Module:
    return Encoder(6, 384, 12, 1536, pooler=False)


def vit_b16() -> nn.Module:
    return ViT()


def gpt2_small() -> nn.Module:
    return GPT2()
