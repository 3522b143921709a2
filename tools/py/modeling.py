"""Tiny ViT / CLIP / ViT-MAE in plain PyTorch, following the transformers implementations.

Forward passes match ViTForImageClassification, CLIPVisionModelWithProjection,
CLIPTextModelWithProjection, CLIPModel and ViTMAEForPreTraining (pre-LayerNorm encoder layers,
CLS token, learned or fixed 2-D sin-cos position embeddings, argsort-of-noise masking), so the
exported ONNX graphs have the same inputs, outputs and semantics as Optimum exports of the real
models.
"""

import math

import numpy as np
import torch
from torch import nn

NEG_INF = -1e9  # additive attention mask value; finite so fully masked rows cannot turn into NaN


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


def activation(name):
    if name == "gelu":
        return nn.GELU()
    if name == "quick_gelu":
        return QuickGELU()
    raise ValueError(f"unknown activation {name!r}")


class SelfAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = width // heads
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.out = nn.Linear(width, width)

    def forward(self, x, additive_mask=None):
        b, n, w = x.shape

        def split(t):
            return t.reshape(b, n, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        if additive_mask is not None:
            scores = scores + additive_mask
        context = torch.matmul(scores.softmax(dim=-1), v)
        return self.out(context.transpose(1, 2).reshape(b, n, w))


class EncoderLayer(nn.Module):
    """Pre-LayerNorm transformer block (ViT, CLIP and MAE all use this form)."""

    def __init__(self, width, heads, mlp_width, act, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=eps)
        self.attention = SelfAttention(width, heads)
        self.norm2 = nn.LayerNorm(width, eps=eps)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_width), activation(act), nn.Linear(mlp_width, width))

    def forward(self, x, additive_mask=None):
        x = x + self.attention(self.norm1(x), additive_mask)
        return x + self.mlp(self.norm2(x))


class Encoder(nn.Module):
    def __init__(self, width, layers, heads, mlp_width, act, eps):
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(width, heads, mlp_width, act, eps) for _ in range(layers)])

    def forward(self, x, additive_mask=None):
        for layer in self.layers:
            x = layer(x, additive_mask)
        return x


class PatchEmbeddings(nn.Module):
    def __init__(self, patch_size, width, bias=True):
        super().__init__()
        self.projection = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=bias)

    def forward(self, pixel_values):
        return self.projection(pixel_values).flatten(2).transpose(1, 2)


class ViTForImageClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w = cfg["hidden_size"]
        patches = (cfg["image_size"] // cfg["patch_size"]) ** 2
        self.patch_embeddings = PatchEmbeddings(cfg["patch_size"], w)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, w))
        self.position_embeddings = nn.Parameter(torch.randn(1, patches + 1, w) * 0.02)
        self.encoder = Encoder(w, cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["intermediate_size"],
                               cfg["hidden_act"], cfg["layer_norm_eps"])
        self.layernorm = nn.LayerNorm(w, eps=cfg["layer_norm_eps"])
        self.classifier = nn.Linear(w, len(cfg["id2label"]))

    def forward(self, pixel_values):
        x = self.patch_embeddings(pixel_values)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.position_embeddings
        x = self.layernorm(self.encoder(x))
        return self.classifier(x[:, 0])


class CLIPVisionModelWithProjection(nn.Module):
    def __init__(self, vcfg, projection_dim):
        super().__init__()
        w = vcfg["hidden_size"]
        patches = (vcfg["image_size"] // vcfg["patch_size"]) ** 2
        self.patch_embeddings = PatchEmbeddings(vcfg["patch_size"], w, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(w) * 0.02)
        self.position_embedding = nn.Parameter(torch.randn(1, patches + 1, w) * 0.02)
        self.pre_layrnorm = nn.LayerNorm(w, eps=vcfg["layer_norm_eps"])
        self.encoder = Encoder(w, vcfg["num_hidden_layers"], vcfg["num_attention_heads"], vcfg["intermediate_size"],
                               vcfg["hidden_act"], vcfg["layer_norm_eps"])
        self.post_layernorm = nn.LayerNorm(w, eps=vcfg["layer_norm_eps"])
        self.visual_projection = nn.Linear(w, projection_dim, bias=False)

    def forward(self, pixel_values):
        x = self.patch_embeddings(pixel_values)
        cls = self.class_embedding.reshape(1, 1, -1).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.position_embedding
        last_hidden_state = self.encoder(self.pre_layrnorm(x))
        image_embeds = self.visual_projection(self.post_layernorm(last_hidden_state[:, 0]))
        return image_embeds, last_hidden_state


class CLIPTextModelWithProjection(nn.Module):
    def __init__(self, tcfg, projection_dim):
        super().__init__()
        w = tcfg["hidden_size"]
        self.eos_token_id = tcfg["eos_token_id"]
        self.token_embedding = nn.Embedding(tcfg["vocab_size"], w)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.position_embedding = nn.Parameter(torch.randn(1, tcfg["max_position_embeddings"], w) * 0.01)
        self.encoder = Encoder(w, tcfg["num_hidden_layers"], tcfg["num_attention_heads"], tcfg["intermediate_size"],
                               tcfg["hidden_act"], tcfg["layer_norm_eps"])
        self.final_layer_norm = nn.LayerNorm(w, eps=tcfg["layer_norm_eps"])
        self.text_projection = nn.Linear(w, projection_dim, bias=False)

    def forward(self, input_ids, attention_mask):
        b, n = input_ids.shape
        x = self.token_embedding(input_ids) + self.position_embedding[:, :n]
        positions = torch.arange(n, device=input_ids.device)
        # Causal mask (a token sees itself and earlier tokens) plus the padding mask, as in CLIP.
        future = (positions[None, :] > positions[:, None]).to(x.dtype)
        padding = (1.0 - attention_mask.to(x.dtype))[:, None, None, :]
        additive = (future[None, None] + padding).clamp(max=1.0) * NEG_INF
        last_hidden_state = self.final_layer_norm(self.encoder(x, additive))
        # Pool at the first end-of-text token (transformers' CLIPTextTransformer with eos_token_id).
        eos_position = (input_ids == self.eos_token_id).to(torch.float32).argmax(dim=-1)
        pooled = last_hidden_state[torch.arange(b, device=input_ids.device), eos_position]
        return self.text_projection(pooled), last_hidden_state


class CLIPModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.vision_model = CLIPVisionModelWithProjection(cfg["vision_config"], cfg["projection_dim"])
        self.text_model = CLIPTextModelWithProjection(cfg["text_config"], cfg["projection_dim"])
        self.logit_scale = nn.Parameter(torch.tensor(float(cfg["logit_scale_init_value"])))

    def forward(self, input_ids, pixel_values, attention_mask):
        image_embeds = self.vision_model(pixel_values)[0]
        text_embeds = self.text_model(input_ids, attention_mask)[0]
        image_embeds = image_embeds / image_embeds.norm(dim=-1, keepdim=True)
        text_embeds = text_embeds / text_embeds.norm(dim=-1, keepdim=True)
        logits_per_text = torch.matmul(text_embeds, image_embeds.t()) * self.logit_scale.exp()
        return logits_per_text.t(), logits_per_text, text_embeds, image_embeds


class VisionExport(nn.Module):
    """vision_model.onnx: pixel_values -> (image_embeds, last_hidden_state)."""

    def __init__(self, vision_model):
        super().__init__()
        self.vision_model = vision_model

    def forward(self, pixel_values):
        return self.vision_model(pixel_values)


class TextExport(nn.Module):
    """text_model.onnx: (input_ids, attention_mask) -> (text_embeds, last_hidden_state)."""

    def __init__(self, text_model):
        super().__init__()
        self.text_model = text_model

    def forward(self, input_ids, attention_mask):
        return self.text_model(input_ids, attention_mask)


def sincos_position_embeddings(width, grid_size, add_cls_token=True):
    """transformers' get_2d_sincos_pos_embed (MAE's fixed position embeddings)."""
    grid_h = np.arange(grid_size, dtype=np.float32)
    grid_w = np.arange(grid_size, dtype=np.float32)
    grid = np.stack(np.meshgrid(grid_w, grid_h), axis=0).reshape(2, 1, grid_size, grid_size)

    def one_d(dim, pos):
        omega = np.arange(dim // 2, dtype=float) / (dim / 2.0)
        omega = 1.0 / 10000**omega
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    emb = np.concatenate([one_d(width // 2, grid[0]), one_d(width // 2, grid[1])], axis=1)
    if add_cls_token:
        emb = np.concatenate([np.zeros([1, width]), emb], axis=0)
    return torch.from_numpy(emb).float().unsqueeze(0)


def patchify(pixel_values, patch_size):
    """[B, C, H, W] -> [B, L, p*p*C] in transformers' (p, q, c) order."""
    b, c, h, w = pixel_values.shape
    gh, gw = h // patch_size, w // patch_size
    x = pixel_values.reshape(b, c, gh, patch_size, gw, patch_size)
    x = torch.einsum("nchpwq->nhwpqc", x)
    return x.reshape(b, gh * gw, patch_size * patch_size * c)


class ViTMAEForPreTraining(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w, dw = cfg["hidden_size"], cfg["decoder_hidden_size"]
        grid = cfg["image_size"] // cfg["patch_size"]
        self.patch_size = cfg["patch_size"]
        self.num_patches = grid * grid
        self.len_keep = int(self.num_patches * (1 - cfg["mask_ratio"]))
        self.norm_pix_loss = cfg["norm_pix_loss"]
        self.patch_embeddings = PatchEmbeddings(cfg["patch_size"], w)
        self.cls_token = nn.Parameter(torch.randn(1, 1, w) * 0.02)
        self.register_buffer("position_embeddings", sincos_position_embeddings(w, grid))
        self.encoder = Encoder(w, cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["intermediate_size"],
                               cfg["hidden_act"], cfg["layer_norm_eps"])
        self.layernorm = nn.LayerNorm(w, eps=cfg["layer_norm_eps"])
        self.decoder_embed = nn.Linear(w, dw)
        self.mask_token = nn.Parameter(torch.randn(1, 1, dw) * 0.02)
        self.register_buffer("decoder_position_embeddings", sincos_position_embeddings(dw, grid))
        self.decoder = Encoder(dw, cfg["decoder_num_hidden_layers"], cfg["decoder_num_attention_heads"],
                               cfg["decoder_intermediate_size"], cfg["hidden_act"], cfg["layer_norm_eps"])
        self.decoder_norm = nn.LayerNorm(dw, eps=cfg["layer_norm_eps"])
        self.decoder_pred = nn.Linear(dw, cfg["patch_size"] ** 2 * 3)

    def forward(self, pixel_values, noise):
        x = self.patch_embeddings(pixel_values) + self.position_embeddings[:, 1:, :]
        b, n, w = x.shape
        # ViTMAEEmbeddings.random_masking: keep the patches with the smallest noise.
        ids_shuffle = torch.argsort(noise, dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        ids_keep = ids_shuffle[:, : self.len_keep]
        kept = torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, w))
        mask_shuffled = torch.cat([torch.zeros_like(noise[:, : self.len_keep]),
                                   torch.ones_like(noise[:, self.len_keep:])], dim=1)
        mask = torch.gather(mask_shuffled, 1, ids_restore)
        cls = (self.cls_token + self.position_embeddings[:, :1, :]).expand(b, -1, -1)
        latent = self.layernorm(self.encoder(torch.cat([cls, kept], dim=1)))

        y = self.decoder_embed(latent)
        dw = y.shape[2]
        mask_tokens = self.mask_token.expand(b, n - self.len_keep, -1)
        y_ = torch.cat([y[:, 1:, :], mask_tokens], dim=1)
        y_ = torch.gather(y_, 1, ids_restore.unsqueeze(-1).expand(-1, -1, dw))
        y = torch.cat([y[:, :1, :], y_], dim=1) + self.decoder_position_embeddings
        logits = self.decoder_pred(self.decoder_norm(self.decoder(y)))[:, 1:, :]
        return logits, mask

    def targets(self, pixel_values):
        target = patchify(pixel_values, self.patch_size)
        if self.norm_pix_loss:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)  # unbiased, as in transformers' forward_loss
            target = (target - mean) / (var + 1.0e-6) ** 0.5
        return target

    def per_image_loss(self, pixel_values, logits, mask):
        """transformers' forward_loss, kept per image: mean squared error over masked patches."""
        per_patch = ((logits - self.targets(pixel_values)) ** 2).mean(dim=-1)
        return (per_patch * mask).sum(dim=1) / mask.sum(dim=1)
