"""Which operators each accelerator can run, as documented by its vendor.

Each list is transcribed from the public document named in ``source``. They change with
compiler and SDK releases, so a checker built on them reports *likely* fall-backs; the
vendor compiler (``edgetpu_compiler``, QNN's ``qnn-onnx-converter``, ``trtexec``) has the
final word and is not available on this machine.
"""
from __future__ import annotations

from dataclasses import dataclass

from runtime.manifest import ArtifactFormat


@dataclass(frozen=True, slots=True)
class OpSupport:
    """The operators one runtime maps to its accelerator.

    Attributes:
        name: short label used in reports ("Edge TPU", "QNN HTP").
        format: the file format the op names belong to (ONNX op types or TFLite builtins).
        ops: supported operator names, upper-case for TFLite, ONNX spelling for ONNX.
        source: where the list comes from (document and version).
        max_rank: largest tensor rank the accelerator takes, or None for no limit.
        max_non_unit_dims: at most this many dimensions of any tensor may exceed 1
            (the Edge TPU's "three innermost dimensions" rule), or None.
    """

    name: str
    format: ArtifactFormat
    ops: frozenset[str]
    source: str
    max_rank: int | None = None
    max_non_unit_dims: int | None = None


_QDQ = ("QuantizeLinear", "DequantizeLinear")

ORT_CPU = OpSupport(
    name="ONNX Runtime CPU", format=ArtifactFormat.ONNX, ops=frozenset(),
    source="every ONNX operator (CPU execution provider); no constraint checked",
)
"""Empty ``ops`` means no constraint: the CPU provider implements the whole opset."""

LITERT_CPU = OpSupport(
    name="LiteRT CPU (XNNPACK)", format=ArtifactFormat.TFLITE, ops=frozenset(),
    source="every TFLite builtin (XNNPACK delegates what it can, the reference kernels run the rest)",
)

# Checked against onnxruntime docs/execution-providers/QNN-ExecutionProvider.md "Supported ONNX
# operators" and onnxruntime/core/providers/qnn/builder/op_builder_factory.cc (stored 2025 copies): every
# entry is registered in the factory; CumSum, GatherElements, GatherND, GlobalMaxPool, HardSigmoid, Mean,
# ScatterND, Sum are in the code but not in the doc table. Doc spells PRelu as "Prelu".
QNN_HTP = OpSupport(
    name="QNN HTP (ONNX Runtime QNN EP)", format=ArtifactFormat.ONNX,
    ops=frozenset({
        "Abs", "Add", "And", "ArgMax", "ArgMin", "Asin", "Atan", "AveragePool", "BatchNormalization",
        "Cast", "Ceil", "Clip", "Concat", "Conv", "ConvTranspose", "Cos", "CumSum", "DepthToSpace",
        "Div", "Elu", "Equal", "Exp", "Expand", "Flatten", "Floor", "Gather", "GatherElements",
        "GatherND", "Gelu", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Greater",
        "GreaterOrEqual", "GridSample", "HardSigmoid", "HardSwish", "InstanceNormalization",
        "LayerNormalization", "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax",
        "LpNormalization", "LRN", "MatMul", "Max", "MaxPool", "Mean", "Min", "Mul", "Neg", "Not",
        "Or", "Pad", "Pow", "PRelu", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd",
        "ReduceSum", "Relu", "Reshape", "Resize", "Round", "ScatterND", "Sigmoid", "Sign", "Sin",
        "Slice", "Softmax", "SpaceToDepth", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh",
        "Tile", "TopK", "Transpose", "Unsqueeze", "Where", *_QDQ,
    }),
    source="onnxruntime.ai/docs/execution-providers/QNN-ExecutionProvider.html, "
           "'Supported ONNX operators' (ORT 1.20-1.22)",
)

# unverified: onnx-tensorrt docs/operators.md not checked in this pass.
TENSORRT = OpSupport(
    name="TensorRT (Jetson)", format=ArtifactFormat.ONNX,
    ops=frozenset({
        "Abs", "Add", "And", "ArgMax", "ArgMin", "AveragePool", "BatchNormalization", "Cast",
        "Ceil", "Clip", "Concat", "Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Cos",
        "CumSum", "DepthToSpace", "Div", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand",
        "Flatten", "Floor", "Gather", "GatherElements", "GatherND", "Gelu", "Gemm",
        "GlobalAveragePool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "GridSample",
        "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization", "LayerNormalization",
        "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "LRN", "MatMul", "Max",
        "MaxPool", "Mean", "Min", "Mod", "Mul", "Neg", "Not", "Or", "Pad", "Pow", "PRelu",
        "Range", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceMax", "ReduceMean", "ReduceMin",
        "ReduceProd", "ReduceSum", "Relu", "Reshape", "Resize", "Round", "ScatterND", "Selu",
        "Shape", "Sigmoid", "Sign", "Sin", "Size", "Slice", "Softmax", "Softplus", "SpaceToDepth",
        "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "Tile", "TopK", "Transpose",
        "Unsqueeze", "Where", "Xor", *_QDQ,
    }),
    source="github.com/onnx/onnx-tensorrt docs/operators.md (TensorRT 8.5, JetPack 5)",
)

# Checked against coral.ai/docs/edgetpu/models-intro (table not fully readable in the docs index;
# third-party copies used for rows) and google-coral/edgetpu issues: #386 (2021-05, maintainer: no plans
# for DEPTH_TO_SPACE), #193 (2021-08, Coral: TRANSPOSE supported from compiler 16), #659 (2022-09:
# DEQUANTIZE not in the table). Rows after RESIZE_* unverified.
EDGE_TPU = OpSupport(
    name="Edge TPU", format=ArtifactFormat.TFLITE,
    ops=frozenset({
        "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "EXPAND_DIMS",
        "FULLY_CONNECTED", "L2_NORMALIZATION", "LOGISTIC", "LSTM", "MAXIMUM", "MAX_POOL_2D",
        "MEAN", "MINIMUM", "MUL", "PACK", "PAD", "PRELU", "QUANTIZE", "REDUCE_MAX",
        "REDUCE_MIN", "RELU", "RELU6", "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR",
        "RESIZE_NEAREST_NEIGHBOR", "RSQRT", "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT",
        "SQUEEZE", "STRIDED_SLICE", "SUB", "SUM", "SQUARED_DIFFERENCE", "TANH", "TRANSPOSE",
        "TRANSPOSE_CONV",
    }),
    source="coral.ai/docs/edgetpu/models-intro/#supported-operations (Edge TPU compiler 16); "
           "tensors may have at most 3 dimensions larger than 1",
    max_non_unit_dims=3,
)

# unverified: GPU delegate model_builder.cc / LiteRT GPU docs not checked in this pass.
TFLITE_GPU = OpSupport(
    name="LiteRT GPU delegate", format=ArtifactFormat.TFLITE,
    ops=frozenset({
        "ABS", "ADD", "AVERAGE_POOL_2D", "BATCH_MATMUL", "CAST", "CONCATENATION", "CONV_2D", "COS",
        "CUMSUM", "DENSIFY", "DEPTH_TO_SPACE", "DEPTHWISE_CONV_2D", "DEQUANTIZE", "DIV", "ELU",
        "EQUAL", "EXP", "FLOOR", "FLOOR_DIV", "FLOOR_MOD", "FULLY_CONNECTED", "GATHER", "GREATER",
        "GREATER_EQUAL", "HARD_SWISH", "LESS", "LESS_EQUAL", "LOG", "LOGICAL_AND", "LOGISTIC",
        "MAX_POOL_2D", "MAXIMUM", "MEAN", "MINIMUM", "MIRROR_PAD", "MUL", "NEG", "NOT_EQUAL",
        "PACK", "PAD", "PADV2", "POW", "PRELU", "QUANTIZE", "REDUCE_MAX", "REDUCE_MIN",
        "REDUCE_PROD", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR",
        "RESIZE_NEAREST_NEIGHBOR", "RSQRT", "SELECT_V2", "SIN", "SLICE", "SOFTMAX",
        "SPACE_TO_DEPTH", "SPLIT", "SPLIT_V", "SQRT", "SQUARE", "SQUARED_DIFFERENCE",
        "STRIDED_SLICE", "SUB", "SUM", "TANH", "TILE", "TRANSPOSE", "TRANSPOSE_CONV",
    }),
    source="ai.google.dev/edge/litert/performance/gpu 'Supported ops' and "
           "tensorflow/lite/delegates/gpu/common/model_builder.cc (TF 2.16); tensors up to rank 4",
    max_rank=4,
)

# Checked against NNAPIDelegateKernel::Map() in tensorflow/tensorflow
# tensorflow/lite/delegates/nnapi/nnapi_delegate.cc (stored commit 002e5f47): MIRROR_PAD, SPLIT_V and UNPACK
# have no mapping there; SQUARED_DIFFERENCE is lowered to SUB+MUL only in a newer version of the file.
NNAPI = OpSupport(
    name="Android NPU (NNAPI / vendor delegate)", format=ArtifactFormat.TFLITE,
    ops=frozenset({
        "ABS", "ADD", "ARG_MAX", "ARG_MIN", "AVERAGE_POOL_2D", "BATCH_TO_SPACE_ND", "CAST",
        "CONCATENATION", "CONV_2D", "DEPTH_TO_SPACE", "DEPTHWISE_CONV_2D", "DEQUANTIZE", "DIV",
        "ELU", "EQUAL", "EXP", "EXPAND_DIMS", "FLOOR", "FULLY_CONNECTED", "GATHER", "GREATER",
        "GREATER_EQUAL", "HARD_SWISH", "L2_NORMALIZATION", "LEAKY_RELU", "LESS", "LESS_EQUAL",
        "LOG", "LOGISTIC", "MAX_POOL_2D", "MAXIMUM", "MEAN", "MINIMUM", "MUL",
        "NEG", "NOT_EQUAL", "PACK", "PAD", "PADV2", "POW", "PRELU", "QUANTIZE", "REDUCE_MAX",
        "REDUCE_MIN", "REDUCE_PROD", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE",
        "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "RSQRT", "SIN", "SLICE", "SOFTMAX",
        "SPACE_TO_BATCH_ND", "SPACE_TO_DEPTH", "SPLIT", "SQRT", "SQUARED_DIFFERENCE",
        "SQUEEZE", "STRIDED_SLICE", "SUB", "SUM", "TANH", "TILE", "TOPK_V2", "TRANSPOSE",
        "TRANSPOSE_CONV",
    }),
    source="tensorflow/lite/delegates/nnapi/nnapi_delegate.cc op map (TF 2.16; NNAPI feature "
           "level 4+); tensors up to rank 4",
    max_rank=4,
)
