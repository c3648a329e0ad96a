"""A simulated open-vocabulary teacher for the synthetic world.

It turns the rendered per-pixel ground truth (raw class and instance maps written next to the
synthetic images) into teacher outputs through the error modes of real 2D open-vocabulary
segmenters, in this order, per image:

1. *segments*: object instances, and one segment per ground/stuff class;
2. *missed small or distant objects*: objects under ``min_area`` pixels (at 1600×900 scale)
   are missed with probability ``p_miss_small`` and take the label around them;
3. *confusion between similar classes*: a segment switches to a confusable group
   (:data:`CONFUSABLE`) with probability ``p_confuse``;
4. *unknown*: a segment is labelled with a prompt of an ignore group ("undistinguishable
   object", "sky") with probability ``p_unknown`` (SAN and CAT-Seg do this for odd views);
5. *void*: a segment gets no region at all with probability ``p_void`` (panoptic FC-CLIP);
6. *prompt choice within a group*: the region's prompt is drawn from its group's prompts;
7. *boundary bleeding*: object labels spread ``bleed`` pixels into their surroundings;
8. *patch noise* (MaskCLIP-like dense heads): ``16·scale`` px patches take a random label
   with probability ``p_patch``;
9. *granularity*: one region per distinct prompt (semantic teachers) or per segment
   (``panoptic=True``);
10. *features as SAN derives them*: per region, soft group scores
    p = (1 − κ/2)·onehot(label) + κ/2·q, with q the region's true-group shares (its pixels'
    ground truth), so the true group keeps mass when the label is wrong while the label stays
    the argmax (as SAN's label is the argmax of its scores); region feature =
    normalise(Σ_g p_g·text[prompt_g] + κ·appearance + ``feat_noise``·n/√D), where
    appearance is the pixel-mean of the region's segments' appearance vectors (one per object
    instance (seeded by its id, the same in every camera and frame) or stuff group: its true
    group's random direction plus an instance part, aligned with no text).
    κ = ``feature_knowledge`` in [0, 1): how much the features know beyond the label;
    κ = 0 gives text[prompt] + noise exactly (the features before κ existed).

Text embeddings: each dictionary group gets a random direction, each prompt a perturbation of
it, so prompts of one group are more similar to each other than to other prompts. Profiles
``san``, ``catseg``, ``fcclip``, ``maskclip`` are calibrated so that point pseudo-labels on the
synthetic nuScenes set land near the paper's Tab. 4 (see README for the measured values).
Everything is seeded by the image key, so outputs are reproducible.
"""
import hashlib
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
from scipy import ndimage

from mmdet3d.registry import MODELS

from ..vocabulary import ClassDictionary, load_class_dictionary
from .base import BaseOVTeacher, TeacherOutput

# raw ground-truth id -> dictionary group name, per dataset (sky / none: 255 nuScenes, 0 KITTI)
NUSCENES_GT_GROUPS = {
    0: 'sky and unknown', 1: 'animal', 2: 'adult', 3: 'child', 4: 'construction worker',
    5: 'personal mobility', 6: 'police officer', 7: 'stroller', 8: 'wheelchair',
    9: 'barrier', 10: 'debris', 11: 'pushable pullable', 12: 'traffic cone',
    13: 'bicycle rack', 14: 'bicycle', 15: 'bendy bus', 16: 'rigid bus', 17: 'car',
    18: 'construction vehicle', 19: 'ambulance', 20: 'police vehicle', 21: 'motorcycle',
    22: 'trailer', 23: 'truck', 24: 'driveable surface', 25: 'other flat', 26: 'sidewalk',
    27: 'terrain', 28: 'manmade', 29: 'sky and unknown', 30: 'vegetation', 31: 'ego vehicle',
    255: 'sky and unknown'}
SEMANTICKITTI_GT_GROUPS = {
    0: 'sky and unknown', 10: 'car', 11: 'bicycle', 13: 'other-vehicle', 15: 'motorcycle',
    18: 'truck', 20: 'other-vehicle', 30: 'person', 31: 'bicyclist', 32: 'motorcyclist',
    40: 'road', 44: 'parking', 48: 'sidewalk', 49: 'other-ground', 50: 'building', 51: 'fence',
    52: 'other structure', 60: 'road', 70: 'vegetation', 71: 'trunk', 72: 'terrain',
    80: 'pole', 81: 'traffic-sign', 99: 'other object'}
GT_GROUPS = {'nuscenes': NUSCENES_GT_GROUPS, 'semantickitti': SEMANTICKITTI_GT_GROUPS}

# group -> groups a teacher confuses it with (both dictionaries' names)
CONFUSABLE = {
    'car': ['truck', 'construction vehicle', 'other-vehicle'],
    'truck': ['car', 'trailer', 'construction vehicle', 'rigid bus', 'other-vehicle'],
    'rigid bus': ['truck', 'trailer'], 'bendy bus': ['rigid bus', 'truck'],
    'trailer': ['truck', 'manmade', 'other-vehicle'],
    'construction vehicle': ['truck', 'trailer', 'other-vehicle'],
    'other-vehicle': ['truck', 'car'],
    'motorcycle': ['bicycle', 'motorcyclist'], 'bicycle': ['motorcycle', 'bicyclist'],
    'bicyclist': ['person', 'bicycle'], 'motorcyclist': ['person', 'motorcycle'],
    'adult': ['construction worker', 'child'], 'child': ['adult'],
    'construction worker': ['adult'], 'person': ['bicyclist'],
    'barrier': ['manmade', 'traffic cone'], 'traffic cone': ['barrier', 'manmade'],
    'driveable surface': ['sidewalk', 'other flat'], 'road': ['parking', 'sidewalk'],
    'sidewalk': ['driveable surface', 'terrain', 'road', 'other-ground'],
    'other flat': ['driveable surface', 'sidewalk'], 'parking': ['road', 'sidewalk'],
    'other-ground': ['sidewalk', 'road'],
    'terrain': ['vegetation', 'sidewalk'], 'vegetation': ['terrain', 'manmade', 'trunk'],
    'manmade': ['vegetation', 'barrier'], 'building': ['fence', 'vegetation'],
    'fence': ['building', 'vegetation'], 'trunk': ['vegetation', 'pole'],
    'pole': ['trunk', 'traffic-sign', 'building'], 'traffic-sign': ['pole', 'building'],
}
# κ of every profile (step 10). 0.5: the label keeps at least 3/4 of a region's score mass
# and a wrongly labelled region's true class a quarter; real SAN features are sums of mask
# embeddings weighted by soft mask scores, so they sit between their label's and their
# region's true class's text, but no real teacher is measured here (README, "How much the
# teacher's features know"), so the value is the midpoint of the range, not a fit
FEATURE_KNOWLEDGE = 0.5
STUFF_HINTS = ('surface', 'flat', 'sidewalk', 'terrain', 'manmade', 'vegetation', 'road',
               'parking', 'ground', 'building', 'fence', 'sky')

PROFILES: Dict[str, dict] = {
    # Calibrated on the demo's synthetic nuScenes set (world version 2, 20 scenes x 16 frames,
    # seed 0) with tools/pseudo_label_report.py against paper Tab. 4 (coverage over all points /
    # accuracy of point pseudo-labels): SAN 55.0 / 80.4, CAT-Seg 55.0 / 77.1, FC-CLIP 46.0 /
    # 79.0, MaskCLIP 55.0 / 50.2. p_unknown also absorbs that the synthetic world puts a few
    # more points in camera view than real nuScenes (~59 % against 55 %, see README).
    # feature_knowledge (κ, step 10) changes the features only, never a label, so the
    # calibration holds at every value.
    'san': dict(p_confuse=0.13, p_unknown=0.06, p_void=0.0, p_miss_small=0.5, min_area=400,
                bleed=6, p_patch=0.0, panoptic=False, feat_noise=0.6,
                feature_knowledge=FEATURE_KNOWLEDGE),
    'catseg': dict(p_confuse=0.16, p_unknown=0.07, p_void=0.0, p_miss_small=0.5, min_area=400,
                   bleed=8, p_patch=0.0, panoptic=False, feat_noise=0.7,
                   feature_knowledge=FEATURE_KNOWLEDGE),
    'fcclip': dict(p_confuse=0.14, p_unknown=0.06, p_void=0.18, p_miss_small=0.3,
                   min_area=250, bleed=4, p_patch=0.0, panoptic=True, feat_noise=0.5,
                   feature_knowledge=FEATURE_KNOWLEDGE),
    'maskclip': dict(p_confuse=0.31, p_unknown=0.06, p_void=0.0, p_miss_small=0.8,
                     min_area=900, bleed=12, p_patch=0.25, panoptic=False, feat_noise=1.0,
                     feature_knowledge=FEATURE_KNOWLEDGE),
}
# appearance vectors: a random direction per true group, plus this much of a per-instance one
APPEARANCE_SPREAD = 0.5


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256('/'.join(map(str, parts)).encode()).digest()[:8],
                          'little')


def simulated_text_bank(dictionary: ClassDictionary, dim: int, spread: float = 0.55,
                        seed: int = 0) -> np.ndarray:
    """(P, D) unit vectors; prompts of a group cluster around the group's direction."""
    rng = np.random.default_rng(_seed('text', dictionary.fingerprint, dim, seed))
    centers = rng.standard_normal((len(dictionary.group_names), dim))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    noise = rng.standard_normal((len(dictionary.prompts), dim)) / np.sqrt(dim)
    text = centers[dictionary.prompt_group] + spread * noise
    return (text / np.linalg.norm(text, axis=1, keepdims=True)).astype(np.float32)


@MODELS.register_module()
class SimulatedOVTeacher(BaseOVTeacher):
    """Teacher outputs from the synthetic world's rendered ground truth (see module doc).

    Args:
        dictionary: class dictionary name or path (``nuscenes`` / ``semantickitti``).
        profile: ``san`` | ``catseg`` | ``fcclip`` | ``maskclip``; ``overrides`` changes any
            of its parameters.
        feature_dim: CLIP dimension (512 like ViT-B, 768 like ViT-L).
        feature_knowledge: κ of step 10 in [0, 1) (default: the profile's); another value
            than the profile's is part of the teacher's name (``simulated-san-fk0.9``), so
            its cache has its own folder.
        gt_dataset: which raw-id table the ground-truth maps use; defaults to the dictionary.
        seed: changes every random decision (another "teacher run").
    """

    @staticmethod
    def _params(profile: str, feature_knowledge: Optional[float] = None,
                overrides: Optional[dict] = None) -> dict:
        if profile not in PROFILES:
            raise ValueError(f'unknown simulated teacher profile {profile!r}; choose from '
                             f'{sorted(PROFILES)}')
        params = dict(PROFILES[profile], **(overrides or {}))
        if feature_knowledge is not None:
            params['feature_knowledge'] = float(feature_knowledge)
        if not 0.0 <= params['feature_knowledge'] < 1.0:
            raise ValueError(f'feature_knowledge must be in [0, 1) (at 1 the label would no '
                             f"longer be the scores' argmax), not {params['feature_knowledge']}")
        return params

    @classmethod
    def name_from_config(cls, profile: str = 'san', feature_knowledge: Optional[float] = None,
                         overrides: Optional[dict] = None, **kwargs) -> str:
        kappa = cls._params(profile, feature_knowledge, overrides)['feature_knowledge']
        suffix = '' if kappa == PROFILES[profile]['feature_knowledge'] else f'-fk{kappa:g}'
        return f'simulated-{profile}{suffix}'

    def __init__(self, dictionary: str = 'nuscenes', profile: str = 'san',
                 feature_dim: int = 512, gt_dataset: Optional[str] = None, seed: int = 0,
                 overrides: Optional[dict] = None,
                 feature_knowledge: Optional[float] = None) -> None:
        self.dictionary = load_class_dictionary(dictionary)
        self.profile = profile
        self.params = self._params(profile, feature_knowledge, overrides)
        self.feature_dim = feature_dim
        self.seed = seed
        self.name = self.name_from_config(profile, feature_knowledge, overrides)
        self.config_text = repr(dict(profile=profile, params=self.params, dim=feature_dim,
                                     seed=seed))
        self.checkpoint_sha256 = hashlib.sha256(self.config_text.encode()).hexdigest()
        gt_name = gt_dataset or self.dictionary.name
        groups = {n: i for i, n in enumerate(self.dictionary.group_names)}
        self._gt_lut = np.full(65536, groups.get('sky and unknown', 0), dtype=np.int32)
        for raw, group in GT_GROUPS[gt_name].items():
            if group not in groups:
                raise ValueError(f'dictionary {self.dictionary.path} lacks group {group!r} '
                                 f'needed for {gt_name} ground truth')
            self._gt_lut[raw] = groups[group]
        self._confusable = {groups[g]: [groups[c] for c in cs if c in groups]
                            for g, cs in CONFUSABLE.items() if g in groups}
        self._unknown_groups = [groups[g] for g in ('sky and unknown', ) if g in groups]
        self._stuff = np.array([any(h in n for h in STUFF_HINTS)
                                for n in self.dictionary.group_names])
        self._group_prompts = [np.flatnonzero(self.dictionary.prompt_group == g)
                               for g in range(len(groups))]
        self._text = simulated_text_bank(self.dictionary, feature_dim, seed=seed)
        # step 10: each group's most likely prompt, and its appearance direction
        self._group_text = self._text[[ps[0] for ps in self._group_prompts]]
        rng = np.random.default_rng(_seed('appearance', self.dictionary.fingerprint,
                                          feature_dim, seed))
        app = rng.standard_normal((len(groups), feature_dim))
        self._group_appearance = app / np.linalg.norm(app, axis=1, keepdims=True)

    def text_bank(self) -> np.ndarray:
        return self._text

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """The bank rows of dictionary prompts; a simulated teacher has no text encoder, so
        any other text is refused."""
        index = {}
        for j, p in enumerate(self.dictionary.prompts):
            index.setdefault(p, j)
        foreign = [t for t in texts if t not in index]
        if foreign:
            raise ValueError(f'the simulated teacher encodes only the prompts of dictionary '
                             f'{self.dictionary.name!r}, not {foreign}: query one of its prompts '
                             f'(e.g. {list(index)[:4]}) or use a real teacher (MMSegOVTeacher, '
                             "whose CLIP text encoder takes any text)")
        return self._text[[index[t] for t in texts]]

    # ------------------------------------------------------------------ core
    def simulate(self, gt_class: np.ndarray, gt_instance: np.ndarray, key: str) -> TeacherOutput:
        """Teacher output from raw class (H, W) and instance (H, W) maps."""
        p = self.params
        # seeded by the profile, not the name: κ (in the name) never changes a label
        rng = np.random.default_rng(_seed(f'simulated-{self.profile}', self.seed, key))
        h, w = gt_class.shape
        scale = np.sqrt(h * w / (1600 * 900))
        group = self._gt_lut[gt_class.astype(np.int64)]
        # segments: instances for objects, one per group for stuff (instance 0)
        seg_key = np.where(gt_instance > 0, gt_instance.astype(np.int64) + 1000,
                           group.astype(np.int64))
        seg_ids, seg = np.unique(seg_key, return_inverse=True)
        seg = seg.reshape(h, w)
        n_seg = len(seg_ids)
        area = np.bincount(seg.ravel(), minlength=n_seg)
        seg_group = np.zeros(n_seg, dtype=np.int64)
        seg_group[seg.ravel()] = group.ravel()
        is_object = seg_ids >= 1000
        new_group = seg_group.copy()
        # 2. missed small objects take the most common label around them
        small = is_object & (area < p['min_area'] * scale ** 2) & \
            (rng.random(n_seg) < p['p_miss_small'])
        if small.any():
            for s in np.flatnonzero(small):
                ys, xs = np.nonzero(seg == s)
                y0, y1 = max(ys.min() - 3, 0), min(ys.max() + 4, h)
                x0, x1 = max(xs.min() - 3, 0), min(xs.max() + 4, w)
                ring = seg[y0:y1, x0:x1]
                around = seg_group[ring[ring != s]]
                if around.size:
                    new_group[s] = np.bincount(around).argmax()
        # 3. confusion, 4. unknown
        for s in range(n_seg):
            g = new_group[s]
            r = rng.random()
            if r < p['p_confuse'] and self._confusable.get(g):
                new_group[s] = rng.choice(self._confusable[g])
            elif r < p['p_confuse'] + p['p_unknown'] and self._unknown_groups:
                new_group[s] = self._unknown_groups[0]
        # 6. prompt within group (the group's first prompt is the most likely)
        seg_prompt = np.empty(n_seg, dtype=np.int64)
        for s in range(n_seg):
            prompts = self._group_prompts[new_group[s]]
            weights = np.ones(len(prompts))
            weights[0] = max(1.0, len(prompts) / 2)
            seg_prompt[s] = rng.choice(prompts, p=weights / weights.sum())
        # 5. void segments
        void = rng.random(n_seg) < p['p_void']
        prompt_map = np.where(void[seg], -1, seg_prompt[seg])
        # 7. boundary bleeding of objects into their surroundings
        bleed = int(round(p['bleed'] * scale))
        if bleed > 0:
            obj_prompt = np.where(is_object[seg] & ~void[seg], seg_prompt[seg] + 1, 0)
            grown = ndimage.grey_dilation(obj_prompt, size=(2 * bleed + 1, 2 * bleed + 1))
            spill = (obj_prompt == 0) & (grown > 0)
            prompt_map[spill] = grown[spill] - 1
        # 8. patch noise
        if p['p_patch'] > 0:
            patch = max(int(round(16 * scale)), 1)
            ph, pw = -(-h // patch), -(-w // patch)
            noisy = rng.random((ph, pw)) < p['p_patch']
            present = np.unique(seg_prompt)
            random_prompt = rng.choice(present, size=(ph, pw))
            up = np.kron(noisy, np.ones((patch, patch), bool))[:h, :w]
            up_prompt = np.kron(random_prompt, np.ones((patch, patch), np.int64))[:h, :w]
            prompt_map[up] = up_prompt[up]
        # 9. granularity: per prompt (semantic) or per segment (panoptic)
        if p['panoptic']:
            region_key = np.where(prompt_map >= 0, seg.astype(np.int64) * 100000 + prompt_map, -1)
        else:
            region_key = prompt_map
        valid = region_key >= 0
        keys, inv = np.unique(region_key[valid], return_inverse=True)
        k = len(keys)
        region_map = np.zeros((h, w), dtype=np.uint8 if k < 256 else np.uint16)
        region_map[valid] = inv + 1
        region_prompt = (keys % 100000) if p['panoptic'] else keys
        # 10. features: soft scores over groups and appearance (κ), then noise
        noise = rng.standard_normal((k, self.feature_dim)) / np.sqrt(self.feature_dim)
        feat = self._text[region_prompt].astype(np.float64)
        if p['feature_knowledge'] > 0 and k:
            feat = self._knowing_features(feat, region_prompt, inv, group[valid], seg[valid],
                                          seg_ids, seg_group, p['feature_knowledge'])
        feat = feat + p['feat_noise'] * noise
        feat /= np.linalg.norm(feat, axis=1, keepdims=True) + 1e-12
        return TeacherOutput(region_map, region_prompt.astype(np.int64), feat.astype(np.float32))

    def _knowing_features(self, label_text: np.ndarray, region_prompt: np.ndarray,
                          region_of: np.ndarray, true_group: np.ndarray, seg_of: np.ndarray,
                          seg_ids: np.ndarray, seg_group: np.ndarray,
                          kappa: float) -> np.ndarray:
        """(K, D) Σ_g p_g·text_g + κ·appearance of step 10, before noise. ``region_of``,
        ``true_group``, ``seg_of``: per labelled pixel its region, true group and segment."""
        k, n_groups, n_seg = len(region_prompt), len(self._group_text), len(seg_ids)
        label = self.dictionary.prompt_group[region_prompt]
        shares = np.bincount(region_of * n_groups + true_group,
                             minlength=k * n_groups).reshape(k, n_groups).astype(np.float64)
        shares /= shares.sum(1, keepdims=True)
        scores = kappa / 2 * shares
        scores[np.arange(k), label] += 1 - kappa / 2
        assert (scores.argmax(1) == label).all()  # the label stays the scores' argmax
        others = scores.copy()
        others[np.arange(k), label] = 0.0  # the label's own prompt replaces its group's
        feat = others @ self._group_text + scores[np.arange(k), label, None] * label_text
        # appearance: per segment its true group's direction + its own part, seeded by the
        # segment's id (instance id + 1000, or the stuff group), so an object looks the same
        # in every camera and frame of its scene
        own = np.stack([np.random.default_rng(_seed('appearance', self.seed, int(i)))
                        .standard_normal(self.feature_dim) for i in seg_ids])
        own /= np.sqrt(self.feature_dim)
        seg_app = self._group_appearance[seg_group] + APPEARANCE_SPREAD * own
        seg_app /= np.linalg.norm(seg_app, axis=1, keepdims=True)
        counts = np.bincount(region_of * n_seg + seg_of,
                             minlength=k * n_seg).reshape(k, n_seg).astype(np.float64)
        appearance = (counts / counts.sum(1, keepdims=True)) @ seg_app
        return feat + kappa * appearance

    def predict(self, images: Sequence[np.ndarray], metas: Sequence[dict]) -> List[TeacherOutput]:
        from ..synthetic import ground_truth_paths
        outputs = []
        for image, meta in zip(images, metas):
            paths = ground_truth_paths(meta['img_path'])
            if paths is None:
                raise FileNotFoundError(
                    f'no rendered ground truth next to {meta["img_path"]}: the simulated teacher '
                    'only runs on sets written by tools/create_synthetic.py; use MMSegOVTeacher '
                    'for real images')
            gt_class = cv2.imread(paths[0], cv2.IMREAD_UNCHANGED)
            gt_inst = cv2.imread(paths[1], cv2.IMREAD_UNCHANGED)
            if image is not None and gt_class.shape[:2] != image.shape[:2]:
                raise ValueError(f'{paths[0]} is {gt_class.shape[:2]}, image {meta["img_path"]} '
                                 f'is {image.shape[:2]}')
            outputs.append(self.simulate(gt_class, gt_inst, meta['key']))
        return outputs
