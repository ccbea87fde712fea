"""Check an artifact's operators against what a target's accelerator can map.

Offenders are listed by node name (ONNX node names; PyTorch module paths for LiteRT ops)
so the user can see which layer would fall back to the CPU, or split an Edge-TPU graph.

Example:
    >>> report = check_ops(Path("build/nano.int8.tflite"), ArtifactFormat.TFLITE, EDGE_TPU)
    >>> [o.node for o in report.offenders]
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx

from convert.oplists import OpSupport
from runtime.manifest import ArtifactFormat


@dataclass(frozen=True, slots=True)
class OpNode:
    """One operator of a model: name, type and the shapes of its outputs (-1 = dynamic)."""

    name: str
    op: str
    output_shapes: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class OpOffender:
    """An operator the accelerator cannot map, and why."""

    node: str
    op: str
    reason: str


@dataclass(frozen=True, slots=True)
class OpCheckReport:
    """Result of checking one file against one accelerator's op list."""

    support: OpSupport
    nodes: int
    offenders: tuple[OpOffender, ...]

    @property
    def ok(self) -> bool:
        """True when every operator maps."""
        return not self.offenders

    def summary(self) -> str:
        """One line for logs and the manifest."""
        if self.ok:
            return f"all {self.nodes} ops map to {self.support.name}"
        names = ", ".join(f"{o.node} ({o.op}: {o.reason})" for o in self.offenders[:6])
        more = f" and {len(self.offenders) - 6} more" if len(self.offenders) > 6 else ""
        return f"{len(self.offenders)}/{self.nodes} ops do not map to {self.support.name}: {names}{more}"


def _onnx_nodes(path: Path) -> list[OpNode]:
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    shapes: dict[str, tuple[int, ...]] = {}
    for vi in [*model.graph.value_info, *model.graph.output, *model.graph.input]:
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
    return [OpNode(n.name or f"{n.op_type}_{i}", n.op_type, tuple(shapes.get(o, ()) for o in n.output))
            for i, n in enumerate(model.graph.node)]


def _tflite_nodes(path: Path) -> list[OpNode]:
    from convert.litert import interpreter, short_name

    interp = interpreter(path, xnnpack=False)
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    nodes = []
    for op in interp._get_ops_details():  # noqa: SLF001 - the only public-ish op listing in LiteRT
        outs = [tensors[int(i)] for i in op["outputs"] if int(i) >= 0]
        name = f"{short_name(outs[0]['name'])}#{op['index']}" if outs else f"op#{op['index']}"
        sig = tuple(tuple(int(d) for d in t.get("shape_signature", t["shape"])) for t in outs)
        nodes.append(OpNode(name, op["op_name"], sig))
    return nodes


def list_ops(path: Path, fmt: ArtifactFormat) -> list[OpNode]:
    """Every operator of an ONNX or TFLite file, in graph order."""
    return _onnx_nodes(path) if fmt is ArtifactFormat.ONNX else _tflite_nodes(path)


def check_ops(path: Path, fmt: ArtifactFormat, support: OpSupport, *, require_static: bool = False
              ) -> OpCheckReport:
    """List the operators of ``path`` that ``support`` cannot map.

    An empty ``support.ops`` means "any op" (CPU runtimes); rank and dimension rules still
    apply, and with ``require_static`` every output shape must be fully known (NPUs fall
    back to the CPU on dynamic shapes).
    """
    nodes = list_ops(path, fmt)
    offenders = []
    for node in nodes:
        if support.ops and node.op not in support.ops:
            offenders.append(OpOffender(node.name, node.op, "not supported"))
            continue
        for shape in node.output_shapes:
            if require_static and (not shape or min(shape) < 1):
                offenders.append(OpOffender(node.name, node.op, f"dynamic shape {list(shape)}"))
                break
            if support.max_rank is not None and len(shape) > support.max_rank:
                offenders.append(OpOffender(node.name, node.op, f"rank-{len(shape)} tensor (max {support.max_rank})"))
                break
            big = sum(1 for d in shape if d != 1)
            if support.max_non_unit_dims is not None and big > support.max_non_unit_dims:
                offenders.append(OpOffender(node.name, node.op, f"tensor {list(shape)} has {big} dims > 1 "
                                            f"(max {support.max_non_unit_dims})"))
                break
    return OpCheckReport(support, len(nodes), tuple(offenders))
