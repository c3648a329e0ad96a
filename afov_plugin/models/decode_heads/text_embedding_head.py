"""Stage-2 head whose classifier is the teacher's text: logits = cos(point, class text) / τ."""
import os
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmdet3d.registry import MODELS

from ...vocabulary import load_class_dictionary
from .afov_minkunet_head import AFOVMinkUNetHead

# logit of a class the test-time vocabulary leaves out (never the argmax, 0 after softmax)
ABSENT_LOGIT = -1e4

Vocabulary = Union[None, str, Sequence[str], Dict[str, Sequence[str]]]


@MODELS.register_module()
class TextEmbeddingHead(AFOVMinkUNetHead):
    """A drop-in for :class:`AFOVMinkUNetHead` whose classifier is frozen text: voxel features
    (V, channels) → ``conv_seg`` (a Linear to the teacher's space, D) → L2 normalisation →
    cosine with each class embedding (C, D) → divided by ``tau``: logits (V, C).

    Class embedding (the pooling): the mean of the L2-normalised text embeddings of the
    class's prompts in the class dictionary (prompts of ignore groups left out), normalised
    again (CLIP's prompt ensembling). The prompt embeddings are the teacher's text bank in its
    cache (``text_cache``, filled with ``dictionary`` and ``teacher`` by the teacher setting,
    ``engine/teacher_setting.py``), kept in the ``text_bank`` buffer (P, D) and so in every
    checkpoint: testing needs no cache.

    Args:
        channels: backbone output channels.
        num_classes: the dataset's classes (filled by the class setting); must be the
            dictionary's.
        feature_dim: D, the teacher's feature dimension (CLIP ViT-B/16: 512).
        dictionary: class dictionary of the cache (prompt → class).
        text_cache: teacher cache folder to read the text bank from at build time; when it
            does not exist (testing elsewhere) the bank comes from the checkpoint.
        teacher: teacher name the cache must hold (refuses a cache of another teacher).
        tau: temperature of the cosine logits (CLIP's learnt 0.01; 0.07 as TMP).
        vocabulary: the classes scored at prediction (training always uses the dictionary's):
            None (the dictionary's), another dictionary (built-in name or JSON path; its
            classes matched by name, their prompts looked up in the bank), a list of class
            names (a subset: the others are never predicted), or ``{class: [prompts]}``.
            Prompts must be in the bank (the simulated teacher encodes only its dictionary's
            prompts; other text is refused). Output columns stay the dataset's classes, so
            evaluation stays correct; a class outside them is an error.
        distill_weight: weight of an optional feature-distillation term (0: off), the mean
            over paired points of 1 − cos(point embedding, the teacher's region feature at its
            pixel) (OpenScene-style), so that the embedding carries what the teacher's
            features know beyond the 16 classes (text queries). Needs ``pts_superpoint`` and
            ``superpoint_feat`` packed (the MCFA pipeline packs them).
    """

    def __init__(self, channels: int, num_classes: int, feature_dim: int = 512,
                 dictionary: str = 'nuscenes', text_cache: Optional[str] = None,
                 teacher: Optional[str] = None, tau: float = 0.07,
                 vocabulary: Vocabulary = None, distill_weight: float = 0.0,
                 **kwargs) -> None:
        self.feature_dim = feature_dim  # build_conv_seg (called by the base) needs it
        super().__init__(channels, num_classes, **kwargs)
        self.dictionary = load_class_dictionary(dictionary)
        if num_classes != self.dictionary.num_classes:
            raise ValueError(f'TextEmbeddingHead: num_classes={num_classes}, but dictionary '
                             f'{self.dictionary.name!r} has {self.dictionary.num_classes} '
                             'classes: use the dictionary of the dataset')
        self.tau = tau
        self.vocabulary = vocabulary
        self.distill_weight = distill_weight
        self.register_buffer('text_bank', torch.zeros(len(self.dictionary.prompts), feature_dim))
        if text_cache is not None and os.path.isdir(text_cache):
            self.load_text_bank(text_cache, teacher)

    def build_conv_seg(self, channels: int, num_classes: int, kernel_size: int) -> nn.Module:
        return nn.Linear(channels, self.feature_dim)

    def load_text_bank(self, cache_dir: str, teacher: Optional[str] = None) -> None:
        """Copy the cache's (P, D) prompt embeddings into the ``text_bank`` buffer."""
        from ...teachers.cache import TeacherCache
        bank = torch.as_tensor(TeacherCache.open(cache_dir, self.dictionary, teacher)
                               .text_bank())
        if bank.shape != self.text_bank.shape:
            raise ValueError(f'text bank of {cache_dir} has shape {tuple(bank.shape)}; the head '
                             f'needs {tuple(self.text_bank.shape)} (prompts of '
                             f'{self.dictionary.name!r} × feature_dim): set feature_dim to '
                             'the teacher\'s')
        self.text_bank.copy_(bank)

    def _prompts_of(self, vocabulary: Vocabulary) -> List[Optional[List[int]]]:
        """Per dataset class, the bank rows of its prompts (None: left out)."""
        d = self.dictionary
        index = {}
        for j, p in enumerate(d.prompts):
            index.setdefault(p, j)
        own = [[j for j, c in enumerate(d.prompt_class) if c == k] for k in range(d.num_classes)]
        if vocabulary is None:
            return own
        if isinstance(vocabulary, str):
            other = load_class_dictionary(vocabulary)
            vocabulary = {name: [p for p, c in zip(other.prompts, other.prompt_class) if c == k]
                          for k, name in enumerate(other.eval_classes)}
        if not isinstance(vocabulary, dict):  # a class list: the dictionary's prompts
            vocabulary = {name: None for name in vocabulary}
        rows: List[Optional[List[int]]] = [None] * d.num_classes
        for name, prompts in vocabulary.items():
            if name not in d.eval_classes:
                raise ValueError(f'vocabulary class {name!r} is not one of the dataset classes '
                                 f'{d.eval_classes}: the output columns are the dataset\'s '
                                 '(for other text, query the teacher\'s text encoder)')
            k = d.eval_classes.index(name)
            if prompts is None:
                rows[k] = own[k]
                continue
            missing = [p for p in prompts if p not in index]
            if missing or not prompts:
                raise ValueError(
                    f'vocabulary class {name!r}: prompts {missing or prompts} have no text '
                    f'embedding in this head\'s bank (the teacher\'s prompts of dictionary '
                    f'{d.name!r}); the simulated teacher encodes only those')
            rows[k] = [index[p] for p in prompts]
        return rows

    def class_embedding(self, vocabulary: Vocabulary = None) -> Tensor:
        """(C, D) unit class embeddings (rows of zeros: classes the vocabulary leaves out)."""
        if not self.text_bank.abs().sum() > 0:
            raise RuntimeError(
                'TextEmbeddingHead has no text embeddings: cache the teacher first '
                '(python tools/cache_teacher.py CONFIG; the teacher setting points the head '
                'at the cache) or load a checkpoint trained with this head')
        text = F.normalize(self.text_bank, dim=1)
        out = text.new_zeros(self.num_classes, text.shape[1])
        for k, rows in enumerate(self._prompts_of(vocabulary)):
            if rows:
                out[k] = F.normalize(text[rows].mean(0), dim=0)
        return out

    def embed(self, x: Tensor) -> Tensor:
        """(V, channels) → (V, D) unit embeddings in the teacher's text space (text queries:
        cosine with a query's text embedding)."""
        return F.normalize(self.conv_seg(x), dim=1)

    def loss(self, inputs: Tensor, batch_data_samples, train_cfg) -> Dict[str, Tensor]:
        losses = super().loss(inputs, batch_data_samples, train_cfg)
        if self.distill_weight:
            losses['loss_distill'] = self.distill_weight * self.distillation_loss(
                inputs, batch_data_samples)
        return losses

    def distillation_loss(self, x: Tensor, batch_data_samples) -> Tensor:
        """Mean over the points with a teacher region of 1 − cos(embed(voxel of the point),
        region feature); 0 (with a graph) when no point has one."""
        for s in batch_data_samples:
            if 'superpoint_feat' not in s or 'pts_superpoint' not in s.gt_pts_seg:
                raise KeyError('distill_weight needs the teacher regions: pack pts_superpoint '
                               'and superpoint_feat (PseudoLabelsAndSuperpoints)')
        emb = self.embed(x)
        terms, start = [], 0
        for s in batch_data_samples:
            v = s.batch_idx.numel()
            m, sp = s.point2voxel_map, s.gt_pts_seg.pts_superpoint.to(emb.device)
            ok = (sp >= 0) & (m >= 0)
            target = F.normalize(s.superpoint_feat.to(emb)[sp[ok]], dim=1)
            terms.append(1 - (emb[start:start + v][m[ok]] * target).sum(1))
            start += v
        t = torch.cat(terms)
        return t.mean() if t.numel() else emb.sum() * 0.0

    def forward(self, x: Tensor) -> Tensor:
        """(V, channels) → (V, C) logits: over the dictionary's classes in training, over
        the ``vocabulary``'s in eval mode (what ``predict`` gives per point).

        cos(W·x + b, e_c) / τ, computed in the backbone's channels: the numerator from the
        (channels, C) product Wᵀ·Eᵀ, ‖W·x + b‖ from the channels × channels Gram matrix WᵀW,
        so the (V, D) projected features are never formed (D = 512 ≫ channels).
        """
        emb = self.class_embedding(None if self.training else self.vocabulary)    # (C, D)
        if self.dropout is not None:
            x = self.dropout(x)
        w, b = self.conv_seg.weight, self.conv_seg.bias                           # (D, ch), (D,)
        num = x @ (w.T @ emb.T) + b @ emb.T                                       # (V, C)
        wx2 = ((x @ (w.T @ w)) * x).sum(1)                                        # ‖Wx‖²
        sq = wx2 + 2 * (x @ (w.T @ b)) + b @ b                                    # ‖Wx + b‖²
        logits = num / sq.clamp_min(1e-24).sqrt()[:, None] / self.tau
        # where b nearly cancels W·x the expanded square loses its digits (float32): those
        # rows directly
        cancelled = sq <= 1e-3 * wx2
        if cancelled.any():
            direct = F.normalize(F.linear(x[cancelled], w, b), dim=1) @ emb.T / self.tau
            logits = logits.index_put((cancelled.nonzero().squeeze(1), ), direct)
        absent = emb.abs().sum(1) == 0
        return logits.masked_fill(absent[None], ABSENT_LOGIT) if absent.any() else logits
