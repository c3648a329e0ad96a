"""The interface every open-vocabulary teacher implements, and what it returns per image."""
from dataclasses import dataclass
from typing import List, Sequence

import numpy as np


@dataclass
class TeacherOutput:
    """A teacher's knowledge about one image.

    Attributes:
        region_map: (H, W) uint8/uint16, 0 = no region, k = region k (1..K).
        region_prompt: (K,) int, prompt index of region k (row k - 1).
        region_feat: (K, D) float, L2-normalised CLIP-space feature of region k.
    """
    region_map: np.ndarray
    region_prompt: np.ndarray
    region_feat: np.ndarray

    @property
    def num_regions(self) -> int:
        return int(self.region_prompt.shape[0])

    def validate(self, num_prompts: int, feature_dim: int) -> None:
        k = self.num_regions
        if self.region_map.ndim != 2:
            raise ValueError(f'region_map must be (H, W), got {self.region_map.shape}')
        if self.region_feat.shape != (k, feature_dim):
            raise ValueError(f'region_feat must be ({k}, {feature_dim}), got '
                             f'{self.region_feat.shape}')
        if k and (self.region_prompt.min() < 0 or self.region_prompt.max() >= num_prompts):
            raise ValueError(f'region_prompt outside 0..{num_prompts - 1}')
        if self.region_map.size and int(self.region_map.max()) > k:
            raise ValueError(f'region_map refers to region {int(self.region_map.max())} > {k}')


class BaseOVTeacher:
    """An open-vocabulary 2D segmentation teacher over a class dictionary's prompts.

    Subclasses set ``name``, ``feature_dim`` and implement :meth:`text_bank` and
    :meth:`predict`. ``config_text`` and ``checkpoint_sha256`` identify the teacher in a
    cache manifest.
    """
    name: str = 'base'
    feature_dim: int = 0
    config_text: str = ''
    checkpoint_sha256: str = ''

    @classmethod
    def name_from_config(cls, **kwargs) -> str:
        """The ``name`` an instance built with ``kwargs`` has (without building it)."""
        raise NotImplementedError

    def text_bank(self) -> np.ndarray:
        """(P, D) float32 L2-normalised text embedding of every prompt."""
        raise NotImplementedError

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(Q, D) float32 L2-normalised embeddings of free text, by the teacher's own text
        encoder and prompt templates (a dictionary prompt gives its text-bank row)."""
        raise NotImplementedError

    def predict(self, images: Sequence[np.ndarray], metas: Sequence[dict]) -> List[TeacherOutput]:
        """Teacher outputs of a batch of RGB uint8 (H, W, 3) images.

        ``metas[i]`` holds at least ``img_path`` (absolute) and ``key`` (cache key).
        """
        raise NotImplementedError


def regions_from_labels(label_map: np.ndarray) -> tuple:
    """One region per distinct label of a (H, W) int map (labels >= 0; -1 = none).

    Returns (region_map uint8/uint16 (H, W), region_label (K,)): region k (1-based) has label
    ``region_label[k - 1]``; pixels with label -1 get region 0.
    """
    valid = label_map >= 0
    labels, inverse = np.unique(label_map[valid], return_inverse=True)
    dtype = np.uint8 if len(labels) < 256 else np.uint16
    region_map = np.zeros(label_map.shape, dtype=dtype)
    region_map[valid] = (inverse + 1).astype(dtype)
    return region_map, labels
