"""mmseg open-vocabulary segmenters (SAN first) as AFOV teachers.

Builds an mmseg ``MultimodalEncoderDecoder`` from an mmseg config inside mmseg's registry
scope (``../shared/STACK.md`` trap 8: an mmdet3d process stays in its own scope), replaces the
vocabulary by the class dictionary's prompts, loads the checkpoint through AFOV's safe loader
(``weights_only=True`` kept) and extracts, per image (SPEC §2):

- per-pixel label: argmax over prompts of Σ_q softmax(cls_q)[prompt] · sigmoid(mask_q),
  background column dropped; one region per distinct label. The (B, P, H, W) score tensor
  is never built: scores are made ``prompt_chunk`` prompts at a time and reduced to a
  running max + argmax (:func:`chunked_argmax`, the same labels as ``argmax`` over all
  prompts, first index on ties), so memory does not grow with the vocabulary;
- region feature: normalise(Σ_q (Σ_{pixels of the region} sigmoid(mask_q)) · emb_q), i.e.
  the normalised sum over the region's pixels of the per-pixel feature Σ_q sigmoid(mask_q)·emb_q,
  with emb_q the query's CLIP-space embedding (the one compared to the text embeddings);
- text bank: the text encoder's embedding of every prompt (templates averaged), normalised.

``mode='tensor'`` of SAN is broken upstream, so the submodules are called directly.
"""
import hashlib
import os
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmdet3d.registry import MODELS

from ..compat import safe_torch_load
from ..vocabulary import load_class_dictionary
from .base import BaseOVTeacher, TeacherOutput, regions_from_labels


def chunked_argmax(scores: Callable[[int, int], torch.Tensor], num: int, chunk: int,
                   dim: int = 1) -> torch.Tensor:
    """``torch.cat([scores(0, num)], dim).argmax(dim)`` without the concatenation:
    ``scores(lo, hi)`` gives the scores of candidates ``lo..hi-1`` (stacked along ``dim``),
    ``chunk`` at a time, reduced into a running max and argmax (peak memory: one chunk's
    scores). Bit-identical to ``torch.argmax``: a later chunk replaces the running max only
    when strictly greater, so ties keep the first index, and NaN counts as the maximum (the
    first NaN wins), as in argmax."""
    if num < 1 or chunk < 1:
        raise ValueError(f'chunked_argmax needs num >= 1 and chunk >= 1, got {num}, {chunk}')
    best = arg = None
    for lo in range(0, num, chunk):
        # max(dim) returns the first maximal index, and a NaN as the maximum (as argmax)
        val, idx = scores(lo, min(lo + chunk, num)).max(dim)
        if best is None:
            best, arg = val, idx
            continue
        # strictly greater, or a NaN where the running max is none (the first NaN stays)
        better = ~(val <= best) & (best == best)
        best = torch.where(better, val, best)
        arg = torch.where(better, idx + lo, arg)
        del val, idx, better
    return arg


def seeded_clip_text_init(model: torch.nn.Module) -> None:
    """``init_fn`` for a SAN without a checkpoint (tests, benchmarks): random init leaves
    CLIP's text positional embedding and projection non-finite; fill them with small seeded
    noise so the teacher gives finite outputs."""
    g = torch.Generator().manual_seed(0)
    te = model.text_encoder
    te.positional_embedding.data = torch.randn(te.positional_embedding.shape, generator=g) * 0.01
    te.text_projection.data = torch.randn(te.text_projection.shape, generator=g) * 0.05


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


@MODELS.register_module()
class MMSegOVTeacher(BaseOVTeacher):
    """Args:
        config: mmseg config path (``configs/afov/teachers/san-vit-b16_mmseg.py`` or any
            ``mmseg::`` config of ``MultimodalEncoderDecoder``).
        checkpoint: mmseg checkpoint (official SAN weights) or None (random weights: tests).
        dictionary: class dictionary name or path; its prompts become the vocabulary.
        short_side: images are resized so that their short side is this (mmseg's SAN test
            pipeline uses 640); outputs are returned at the original image size.
        device: 'cuda', 'cpu' or None (CUDA when available).
        init_fn: optional callable(model) run after building (tests fill CLIP's text
            positional embedding / projection, which random init leaves non-finite).
        batch_size: images of the same size run through the network together, this many at
            a time (a nuScenes frame's six cameras: one forward).
        prompt_chunk: prompts scored at a time in the per-pixel argmax (peak memory of the
            argmax: B x prompt_chunk x H x W floats, whatever the vocabulary size).
    """

    @classmethod
    def name_from_config(cls, config: str, name: Optional[str] = None, **kwargs) -> str:
        return name or f'mmseg-{os.path.splitext(os.path.basename(config))[0]}'

    def __init__(self, config: str, checkpoint: Optional[str] = None,
                 dictionary: str = 'nuscenes', short_side: int = 640,
                 device: Optional[str] = None, init_fn=None, name: Optional[str] = None,
                 batch_size: int = 6, prompt_chunk: int = 16) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        if prompt_chunk < 1:
            raise ValueError(f'prompt_chunk must be >= 1, got {prompt_chunk}')
        self.batch_size = batch_size
        self.prompt_chunk = prompt_chunk
        from mmengine.registry import DefaultScope
        from mmseg.registry import MODELS as SEG_MODELS
        from mmseg.utils import register_all_modules
        self.dictionary = load_class_dictionary(dictionary)
        cfg = Config.fromfile(config)
        model_cfg = cfg.model
        model_cfg.pretrained = None
        model_cfg.text_encoder.dataset_name = None
        model_cfg.text_encoder.vocabulary = list(self.dictionary.prompts)
        model_cfg.decode_head.num_classes = len(self.dictionary.prompts)
        if 'loss_decode' in model_cfg.decode_head:  # class weights follow num_classes
            for loss in model_cfg.decode_head.loss_decode:
                if 'class_weight' in loss:
                    loss['class_weight'] = [1.0] * len(self.dictionary.prompts) + [0.1]
        register_all_modules(init_default_scope=False)
        with DefaultScope.overwrite_default_scope('mmseg'):
            self.model = SEG_MODELS.build(model_cfg)
        if checkpoint is not None:
            if not os.path.isfile(checkpoint):
                raise FileNotFoundError(f'teacher checkpoint {checkpoint} not found; see README '
                                        '"Real teachers" for the download links')
            state = safe_torch_load(checkpoint, map_location='cpu')
            state = state.get('state_dict', state)
            missing, unexpected = self.model.load_state_dict(state, strict=False)
            missing = [k for k in missing if 'text_encoder' not in k or 'cache' not in k]
            if unexpected or missing:
                raise RuntimeError(f'{checkpoint} does not fit {config}: missing {missing[:5]}, '
                                   f'unexpected {unexpected[:5]}')
            self.checkpoint_sha256 = _sha256(checkpoint)
        else:
            self.checkpoint_sha256 = 'random-init'
        if init_fn is not None:
            init_fn(self.model)
        self.device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
        self.model.to(self.device).eval()
        self.short_side = short_side
        self.name = self.name_from_config(config=config, name=name)
        self.config_text = cfg.pretty_text
        self.feature_dim = int(model_cfg.text_encoder.output_dims)
        self._text: Optional[np.ndarray] = None

    @torch.no_grad()
    def _class_embeds(self) -> torch.Tensor:
        """(P + 1, D) text embeddings, background last (as SAN's ``cat_bg``)."""
        return self.model.text_encoder()

    def text_bank(self) -> np.ndarray:
        if self._text is None:
            emb = self._class_embeds()[:len(self.dictionary.prompts)].float()
            self._text = F.normalize(emb, dim=-1).cpu().numpy().astype(np.float32)
        return self._text

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """mmseg's CLIP text encoder over its templates (averaged), as the text bank."""
        emb = self.model.text_encoder.template_encode(list(texts))
        return F.normalize(emb.float(), dim=-1).cpu().numpy().astype(np.float32)

    def _normalise(self, images: Sequence[np.ndarray], h: int, w: int) -> torch.Tensor:
        """B RGB uint8 (H0, W0, 3) images of one size → (B, 3, h', w') normalised, resized to
        (h, w) and padded to the preprocessor's test ``size_divisor`` (what
        SegDataPreProcessor does at test)."""
        pre = self.model.data_preprocessor
        x = torch.from_numpy(np.ascontiguousarray(np.stack(images))).to(self.device)
        x = F.interpolate(x.permute(0, 3, 1, 2).float(), size=(h, w), mode='bilinear',
                          align_corners=False)
        x = (x - pre.mean.view(1, 3, 1, 1)) / pre.std.view(1, 3, 1, 1)
        div = (pre.test_cfg or {}).get('size_divisor', pre.size_divisor) or 1
        pad_h, pad_w = (-h) % div, (-w) % div
        return F.pad(x, (0, pad_w, 0, pad_h), value=0.0)

    @torch.no_grad()
    def predict(self, images: Sequence[np.ndarray], metas: Sequence[dict]) -> List[TeacherOutput]:
        """Images of the same size are batched (``batch_size`` at a time); outputs keep the
        input order."""
        outputs: List[Optional[TeacherOutput]] = [None] * len(images)
        groups = {}
        for i, image in enumerate(images):
            groups.setdefault(image.shape[:2], []).append(i)
        for idx in groups.values():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start:start + self.batch_size]
                for i, out in zip(chunk, self._predict_same_size([images[i] for i in chunk])):
                    outputs[i] = out
        return outputs

    def _predict_same_size(self, images: Sequence[np.ndarray]) -> List[TeacherOutput]:
        """One forward of B images of one size (H0, W0) → B outputs."""
        model = self.model
        head = model.decode_head
        class_embeds = self._class_embeds()
        num_prompts = len(self.dictionary.prompts)
        h0, w0 = images[0].shape[:2]
        scale = self.short_side / min(h0, w0)
        h, w = int(round(h0 * scale)), int(round(w0 * scale))
        inputs = self._normalise(images, h, w)                               # (B, 3, h', w')
        clip_in = F.interpolate(inputs, scale_factor=model.encoder_resolution,
                                mode='bilinear') if model.asymetric_input else inputs
        feats = model.image_encoder(clip_in)
        mask_props, attn_biases = head.side_adapter_network(inputs, feats, [])
        mask_embeds = head.rec_with_attnbias(attn_biases[-1], feats[-1])      # (B, Q, D)
        cls = torch.einsum('bqc,nc->bqn', mask_embeds, class_embeds).softmax(-1)
        cls = cls[..., :num_prompts]  # drop the background column
        masks = F.interpolate(mask_props[-1], size=inputs.shape[-2:], mode='bilinear',
                              align_corners=False)[..., :h, :w].sigmoid()    # (B, Q, h, w)
        # labels = einsum('bqn,bqhw->bnhw', cls, masks).argmax(1), prompt_chunk at a time
        cls_t = cls.transpose(1, 2).contiguous()                             # (B, P, Q)
        flat = masks.flatten(2)                                              # (B, Q, h*w)
        labels = chunked_argmax(
            lambda lo, hi: torch.bmm(cls_t[:, lo:hi], flat), num_prompts,
            self.prompt_chunk).view(masks.shape[0], *masks.shape[2:])        # (B, h, w)
        outputs = []
        for b in range(len(images)):
            region_small, prompts = regions_from_labels(labels[b].cpu().numpy())
            k = len(prompts)
            # region features: Σ_q (Σ_{pixels in r} m_q) · emb_q, normalised
            region_idx = torch.from_numpy(region_small.astype(np.int64)).to(self.device)
            weights = torch.zeros(k + 1, masks.shape[1], device=self.device)
            weights.index_add_(0, region_idx.view(-1), masks[b].flatten(1).T)
            emb = F.normalize(mask_embeds[b].float(), dim=-1)
            feat = F.normalize(weights[1:] @ emb, dim=-1)
            region_map = torch.from_numpy(region_small[None, None].astype(np.float32))
            region_map = F.interpolate(region_map, size=(h0, w0), mode='nearest')[0, 0]
            outputs.append(TeacherOutput(region_map.numpy().astype(region_small.dtype),
                                         prompts.astype(np.int64), feat.cpu().numpy()))
        return outputs
