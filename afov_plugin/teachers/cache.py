"""Teacher cache, format version 2: the only module that reads or writes cache files (and the
only one that knows where an entry lives).

Layout of a cache folder (one per teacher × dictionary × dataset)::

    manifest.json              format, version, entry_layout, teacher (name, config, checkpoint
                               sha256), dictionary (name, fingerprint, prompts), feature dim /
                               dtype
    text_bank.safetensors      'text': (P, D) float32, L2-normalised prompt embeddings
    entries/<xx>/<key>.safetensors
                               one per camera image, ``<xx>`` = the first two hex digits of
                               sha1(key) (256 subfolders: ~800 files each for nuScenes' ~205k
                               images); the magic "AFOVC1" + two NUL bytes, then a
                               zlib-compressed safetensors blob (a JSON header and raw
                               buffers, nothing executable) holding:
                                 region_shape  (2,) int32 (H, W)
                                 region_values (R,) uint8 (uint16 if K >= 256) and
                                 region_runs   (R,) uint16: the (H, W) region map, 0 = none,
                                               k = region k, run-length coded row by row
                                 region_prompt (K,) int16 prompt index of region k (row k-1)
                                 region_feat   (K, D) float16 (or float32) region features
                                 checksum      (32,) uint8 sha256 of the arrays above
                               (run-length coding keeps entries small; the flat container
                               makes reading a frame's six entries far cheaper than
                               decoding its JPEGs)

``<key>`` is the image path relative to the dataset root with ``/`` replaced by ``__`` and
the extension dropped. Version 1 caches (``entries/<key>.safetensors``, one flat folder; the
entry files themselves are unchanged) are still read, and resumed in their own layout; the
manifest's ``entry_layout`` ('flat' or 'sha1-2hex') says which. No pickle anywhere: entries
and the text bank are safetensors, the manifest JSON, so a cache shared by a stranger cannot
run code when loaded.
Every write goes to a temporary file in the same folder and is renamed into place, so a
killed writer leaves either no entry or a complete one; a half-written temp file is never
read as an entry. Every read verifies the checksum.
"""
import hashlib
import json
import os
import zlib
from typing import Dict, Iterable, List, Optional

import numpy as np

from ..fileio import atomic_write_bytes, atomic_write_text, remove_stale_temp_files
from .base import TeacherOutput

FORMAT_NAME = 'afov-teacher-cache'
FORMAT_VERSION = 2
# the versions this AFOV reads, and the entry layout of each (version 1: one flat folder)
READABLE_VERSIONS = {1: 'flat', 2: 'sha1-2hex'}
ENTRY_VERSION = 1  # the entry files' own format (unchanged by the layout of version 2)
_ARRAYS = ('region_shape', 'region_values', 'region_runs', 'region_prompt', 'region_feat')


ENTRY_SUFFIX = '.safetensors'
ENTRY_MAGIC = b'AFOVC1\x00\x00'


def encode_runs(region_map: np.ndarray):
    """Run-length coding of a (H, W) map, runs cut at row ends → (values, lengths ≤ W)."""
    flat = region_map.ravel()
    if flat.size == 0:
        return flat[:0], np.zeros(0, np.uint16)
    if region_map.shape[1] > 65535:
        raise ValueError(f'region maps wider than 65535 px are not supported '
                         f'({region_map.shape})')
    change = np.ones(flat.size, dtype=bool)
    change[1:] = flat[1:] != flat[:-1]
    change[::region_map.shape[1]] = True
    starts = np.flatnonzero(change)
    lengths = np.diff(np.append(starts, flat.size)).astype(np.uint16)
    return flat[starts], lengths


def decode_runs(shape, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    return np.repeat(values, lengths).reshape(tuple(int(v) for v in shape))


class CacheError(ValueError):
    """A cache folder or entry is missing, corrupt or does not match the config."""


def image_key(rel_path: str) -> str:
    """Cache key of an image path relative to the dataset root."""
    stem = os.path.splitext(rel_path.replace('\\', '/'))[0]
    return stem.strip('/').replace('/', '__')


def _checksum(arrays: Dict[str, np.ndarray]) -> np.ndarray:
    h = hashlib.sha256()
    for name in _ARRAYS:
        a = np.ascontiguousarray(arrays[name])
        h.update(f'{name}|{a.dtype.str}|{a.shape}|'.encode())
        h.update(a.tobytes())
    return np.frombuffer(h.digest(), dtype=np.uint8).copy()


def encode_entry(output: TeacherOutput, feature_dtype: str = 'float16') -> bytes:
    """The bytes of one entry file."""
    k = output.num_regions
    map_dtype = np.uint8 if k < 256 else np.uint16
    values, runs = encode_runs(output.region_map.astype(map_dtype))
    arrays = dict(region_shape=np.asarray(output.region_map.shape, dtype=np.int32),
                  region_values=values, region_runs=runs,
                  region_prompt=np.asarray(output.region_prompt, dtype=np.int16),
                  region_feat=np.asarray(output.region_feat, dtype=feature_dtype))
    arrays['checksum'] = _checksum(arrays)
    from safetensors.numpy import save
    blob = save(arrays, metadata={'format': FORMAT_NAME, 'version': str(ENTRY_VERSION)})
    return ENTRY_MAGIC + zlib.compress(blob, 6)


def decode_entry(data, name: str = '<bytes>') -> TeacherOutput:
    """Parse and verify one entry (bytes or path); :class:`CacheError` names the file."""
    from safetensors.numpy import load
    if not isinstance(data, (bytes, bytearray)):
        with open(data, 'rb') as f:
            data = f.read()
    try:
        if bytes(data[:len(ENTRY_MAGIC)]) != ENTRY_MAGIC:
            raise ValueError('no AFOV entry magic')
        arrays = load(zlib.decompress(bytes(data[len(ENTRY_MAGIC):])))
    except Exception as err:  # safetensors refuses anything but its own layout (no pickle)
        raise CacheError(f'cache entry {name} is corrupt, truncated or not an AFOV cache entry '
                         f'({type(err).__name__}: {str(err)[:80]}); delete it and rerun '
                         'tools/cache_teacher.py') from None
    missing = [k for k in _ARRAYS + ('checksum', ) if k not in arrays]
    if missing:
        raise CacheError(f'cache entry {name} lacks {missing}; delete it and rerun '
                         'tools/cache_teacher.py')
    if not np.array_equal(_checksum(arrays), arrays['checksum']):
        raise CacheError(f'cache entry {name} fails its checksum (corrupted on disk or '
                         'edited); delete it and rerun tools/cache_teacher.py')
    region_map = decode_runs(arrays['region_shape'], arrays['region_values'],
                             arrays['region_runs'])
    return TeacherOutput(region_map, arrays['region_prompt'].astype(np.int64),
                         arrays['region_feat'])


def _parallel_map(fn, items: list, workers: int, block: int = 64) -> list:
    """``[fn(x) for x in items]``, in order, on ``workers`` threads (0 or 1: this thread);
    items go out in blocks so that a 205k-entry cache does not make 205k futures. Reading an
    entry spends its time in zlib and sha256, which release the GIL."""
    if workers <= 1 or len(items) <= block:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor
    blocks = [items[i:i + block] for i in range(0, len(items), block)]
    with ThreadPoolExecutor(workers) as pool:
        return [y for ys in pool.map(lambda xs: [fn(x) for x in xs], blocks) for y in ys]


class TeacherCache:
    """A cache folder. Use :meth:`create` to start or reopen one for writing, :meth:`open`
    to read one; both refuse a cache whose format, teacher or dictionary differ."""

    def __init__(self, root: str, manifest: dict) -> None:
        self.root = root
        self.manifest = manifest
        self.layout = manifest.get('entry_layout',
                                   READABLE_VERSIONS.get(manifest.get('version'), 'flat'))
        self._text: Optional[np.ndarray] = None

    # ---------------------------------------------------------------- manifest
    @staticmethod
    def manifest_path(root: str) -> str:
        return os.path.join(root, 'manifest.json')

    @staticmethod
    def _read_manifest(root: str) -> dict:
        path = TeacherCache.manifest_path(root)
        if not os.path.isfile(path):
            raise CacheError(f'no teacher cache at {root} (missing manifest.json): run '
                             'tools/cache_teacher.py first')
        try:
            with open(path) as f:
                manifest = json.load(f)
        except json.JSONDecodeError as err:
            raise CacheError(f'{path} is not valid JSON ({err}); delete the cache folder and '
                             'rerun tools/cache_teacher.py') from None
        version = manifest.get('version')
        if manifest.get('format') != FORMAT_NAME or version not in READABLE_VERSIONS:
            raise CacheError(f'{path}: format {manifest.get("format")!r} version '
                             f'{version!r}, this AFOV reads {FORMAT_NAME!r} '
                             f'version {" or ".join(map(str, READABLE_VERSIONS))}; recreate the '
                             'cache with tools/cache_teacher.py')
        layout = manifest.get('entry_layout', READABLE_VERSIONS[version])
        if layout not in READABLE_VERSIONS.values():
            raise CacheError(f'{path}: unknown entry_layout {layout!r} (this AFOV knows '
                             f'{sorted(set(READABLE_VERSIONS.values()))}); recreate the cache '
                             'with tools/cache_teacher.py')
        return manifest

    @classmethod
    def create(cls, root: str, teacher, dictionary,
               feature_dtype: str = 'float16') -> 'TeacherCache':
        """Start a cache for ``teacher`` × ``dictionary`` (or reopen a matching one; a
        version-1 cache is resumed in its flat layout)."""
        manifest = dict(
            format=FORMAT_NAME, version=FORMAT_VERSION,
            entry_layout=READABLE_VERSIONS[FORMAT_VERSION],
            teacher=dict(name=teacher.name, config=teacher.config_text,
                         checkpoint_sha256=teacher.checkpoint_sha256),
            dictionary=dict(name=dictionary.name, fingerprint=dictionary.fingerprint,
                            num_prompts=len(dictionary.prompts), prompts=dictionary.prompts),
            feature_dim=int(teacher.feature_dim), feature_dtype=feature_dtype,
            text_bank='text_bank.safetensors')
        if os.path.isfile(cls.manifest_path(root)):
            cache = cls.open(root, dictionary=dictionary)
            old = cache.manifest['teacher']
            if (old['name'], old['checkpoint_sha256']) != (teacher.name,
                                                           teacher.checkpoint_sha256):
                raise CacheError(f'{root} holds a cache of teacher {old["name"]!r} '
                                 f'(checkpoint {old["checkpoint_sha256"][:12]}), not '
                                 f'{teacher.name!r}: use another --cache-dir')
            return cache
        os.makedirs(os.path.join(root, 'entries'), exist_ok=True)
        from safetensors.numpy import save
        text = np.ascontiguousarray(teacher.text_bank(), dtype=np.float32)
        if text.shape != (len(dictionary.prompts), teacher.feature_dim):
            raise CacheError(f'teacher text bank has shape {text.shape}, expected '
                             f'({len(dictionary.prompts)}, {teacher.feature_dim})')
        atomic_write_bytes(os.path.join(root, manifest['text_bank']),
                           save({'text': text}, metadata={'format': FORMAT_NAME}))
        manifest['text_bank_sha256'] = hashlib.sha256(text.tobytes()).hexdigest()
        atomic_write_text(cls.manifest_path(root), json.dumps(manifest, indent=1))
        return cls(root, manifest)

    @classmethod
    def open(cls, root: str, dictionary=None, teacher_name: Optional[str] = None) -> 'TeacherCache':
        """Open for reading; refuses a cache made with another dictionary or teacher."""
        manifest = cls._read_manifest(root)
        if dictionary is not None and manifest['dictionary']['fingerprint'] != \
                dictionary.fingerprint:
            raise CacheError(
                f'teacher cache {root} was made with class dictionary '
                f'{manifest["dictionary"]["name"]!r} (fingerprint '
                f'{manifest["dictionary"]["fingerprint"][:12]}), but the config uses '
                f'{dictionary.name!r} ({dictionary.fingerprint[:12]}): point the config at the '
                'cache of this dictionary or rerun tools/cache_teacher.py with it')
        if teacher_name is not None and manifest['teacher']['name'] != teacher_name:
            raise CacheError(f'teacher cache {root} holds teacher '
                             f'{manifest["teacher"]["name"]!r}, the config asks for '
                             f'{teacher_name!r}')
        return cls(root, manifest)

    # ---------------------------------------------------------------- entries
    @property
    def entries_dir(self) -> str:
        return os.path.join(self.root, 'entries')

    @staticmethod
    def entry_subfolder(key: str) -> str:
        """The subfolder of ``key`` in the 'sha1-2hex' layout: 2 hex digits of sha1(key)."""
        return hashlib.sha1(key.encode('utf-8')).hexdigest()[:2]

    def _path_in(self, layout: str, key: str) -> str:
        if layout == 'flat':
            return os.path.join(self.entries_dir, key + ENTRY_SUFFIX)
        return os.path.join(self.entries_dir, self.entry_subfolder(key), key + ENTRY_SUFFIX)

    def entry_path(self, key: str) -> str:
        """Where the entry of ``key`` is (or goes, when not written yet)."""
        path = self._path_in(self.layout, key)
        if self.layout != 'flat' and not os.path.isfile(path):
            flat = self._path_in('flat', key)  # an entry left by a version-1 writer
            if os.path.isfile(flat):
                return flat
        return path

    def has(self, key: str, verify: bool = False) -> bool:
        path = self.entry_path(key)
        if not os.path.isfile(path):
            return False
        if verify:
            try:
                decode_entry(path, path)
            except CacheError:
                return False
        return True

    def has_many(self, keys: List[str], verify: bool = False, workers: int = 0) -> List[bool]:
        """:meth:`has` of every key, on ``workers`` threads."""
        return _parallel_map(lambda k: self.has(k, verify), list(keys), workers)

    def missing(self, keys: Iterable[str]) -> List[str]:
        """The keys without an entry, in order."""
        return [k for k in keys if not os.path.isfile(self.entry_path(k))]

    def write(self, key: str, output: TeacherOutput) -> int:
        """Write one entry atomically; returns its size in bytes."""
        output.validate(self.manifest['dictionary']['num_prompts'], self.manifest['feature_dim'])
        data = encode_entry(output, self.manifest['feature_dtype'])
        atomic_write_bytes(self._path_in(self.layout, key), data)
        return len(data)

    def read(self, key: str) -> TeacherOutput:
        path = self.entry_path(key)
        if not os.path.isfile(path):
            raise CacheError(f'cache entry {path} missing: rerun tools/cache_teacher.py on this '
                             'split (it resumes and fills what is missing)')
        return decode_entry(path, path)

    def entry_folders(self) -> List[str]:
        """``entries/`` and its subfolders (the folders where entries and temp files are)."""
        top = self.entries_dir
        if not os.path.isdir(top):
            return []
        subs = sorted(e.path for e in os.scandir(top) if e.is_dir() and len(e.name) == 2)
        return [top] + subs

    def remove_stale_temp_files(self) -> List[str]:
        """Delete the temp files left by killed writers (see fileio.remove_stale_temp_files)."""
        return [p for folder in self.entry_folders() for p in remove_stale_temp_files(folder)]

    def keys(self) -> Iterable[str]:
        """Every entry's key, sorted (whatever folder it is in)."""
        keys = set()
        for folder in self.entry_folders():
            for name in os.listdir(folder):
                if name.endswith(ENTRY_SUFFIX) and not name.startswith('.tmp_'):
                    keys.add(name[:-len(ENTRY_SUFFIX)])
        return iter(sorted(keys))

    def text_bank(self) -> np.ndarray:
        """(P, D) float32 prompt embeddings."""
        if self._text is None:
            from safetensors.numpy import load_file
            path = os.path.join(self.root, self.manifest['text_bank'])
            try:
                text = load_file(path)['text']
            except Exception as err:
                raise CacheError(f'text bank {path} unreadable ({err}); recreate the cache') \
                    from None
            if hashlib.sha256(np.ascontiguousarray(text).tobytes()).hexdigest() != \
                    self.manifest.get('text_bank_sha256'):
                raise CacheError(f'text bank {path} fails its checksum; recreate the cache')
            self._text = text
        return self._text

    def _verify_one(self, key: str):
        path = self.entry_path(key)
        try:
            size = os.path.getsize(path)
        except OSError:  # removed since it was listed
            return path, 0, False
        try:
            decode_entry(path, path)
        except (CacheError, OSError):
            return path, size, False
        return path, size, True

    def verify(self, workers: int = 0) -> Dict[str, object]:
        """Read every entry (on ``workers`` threads; the same result as one);
        returns {'entries': n, 'bytes': b, 'bad': [paths, in key order]}."""
        results = _parallel_map(self._verify_one, list(self.keys()), workers)
        return dict(entries=len(results), bytes=sum(r[1] for r in results),
                    bad=[r[0] for r in results if not r[2]])
