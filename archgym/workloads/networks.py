"""Layer lists of well-known networks for the systolic-array models (batch 1).

CNNs take a 224 x 224 x 3 image and follow the torchvision definitions (pooling layers are not
compute on a systolic array and are left out; their effect on sizes is kept):

- AlexNet: Krizhevsky et al. 2012, torchvision variant (64/192/384/256/256 filters);
- VGG-16: Simonyan & Zisserman 2015, configuration D;
- ResNet-18 / ResNet-50: He et al. 2016; ResNet-50 as torchvision v1.5 (stride in the 3x3 conv);
- MobileNetV2: Sandler et al. 2018, Table 2 (width 1.0).

Transformer entries convert the GEMM sets of :mod:`archgym.workloads.gemms` (BERT-base encoder over
512 tokens, GPT-2 and Llama-2-7B decoders) into ``GemmLayer`` lists, each shape repeated its
``count`` (layers x heads) times; the systolic env merges identical layers before simulating.
"""

from __future__ import annotations

from collections.abc import Callable

from archgym.simulators.systolic.layers import ConvLayer, GemmLayer, Layer
from archgym.workloads.gemms import GemmShape, transformer_gemms

__all__ = [
    "WORKLOADS",
    "alexnet",
    "gemm_layers",
    "mobilenet_v2",
    "resnet18",
    "resnet50",
    "vgg16",
]


def _conv(name: str, size: int, k: int, c: int, f: int, stride: int = 1, **kw) -> ConvLayer:
    """A square conv with 'same'-style padding of k // 2 (the torchvision choice)."""
    return ConvLayer(size, size, k, k, c, f, stride, padding=k // 2, name=name, **kw)


def _fc(name: str, inputs: int, outputs: int) -> GemmLayer:
    return GemmLayer(M=1, N=outputs, K=inputs, name=name)


def alexnet() -> tuple[Layer, ...]:
    """AlexNet: 5 conv + 3 FC layers."""
    return (
        ConvLayer(224, 224, 11, 11, 3, 64, 4, padding=2, name="conv1"),
        ConvLayer(27, 27, 5, 5, 64, 192, padding=2, name="conv2"),
        _conv("conv3", 13, 3, 192, 384),
        _conv("conv4", 13, 3, 384, 256),
        _conv("conv5", 13, 3, 256, 256),
        _fc("fc6", 256 * 6 * 6, 4096),
        _fc("fc7", 4096, 4096),
        _fc("fc8", 4096, 1000),
    )


def vgg16() -> tuple[Layer, ...]:
    """VGG-16: 13 3x3 conv + 3 FC layers."""
    plan = [(224, 3, 64), (224, 64, 64), (112, 64, 128), (112, 128, 128)]
    plan += [(56, 128, 256), (56, 256, 256), (56, 256, 256)]
    plan += [(28, 256, 512), (28, 512, 512), (28, 512, 512)]
    plan += [(14, 512, 512)] * 3
    convs = tuple(_conv(f"conv{i + 1}", s, 3, c, f) for i, (s, c, f) in enumerate(plan))
    return (
        *convs,
        _fc("fc6", 512 * 7 * 7, 4096),
        _fc("fc7", 4096, 4096),
        _fc("fc8", 4096, 1000),
    )


def resnet18() -> tuple[Layer, ...]:
    """ResNet-18: conv1, 8 basic blocks (2 convs each, 3 with a 1x1 downsample), FC."""
    layers: list[Layer] = [_conv("conv1", 224, 7, 3, 64, stride=2)]
    size, channels = 56, 64
    for stage, width in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            prefix = f"layer{stage}.{block}"
            layers.append(_conv(f"{prefix}.conv1", size, 3, channels, width, stride))
            out = size // stride
            layers.append(_conv(f"{prefix}.conv2", out, 3, width, width))
            if stride == 2:
                layers.append(_conv(f"{prefix}.downsample", size, 1, channels, width, 2))
            size, channels = out, width
    layers.append(_fc("fc", 512, 1000))
    return tuple(layers)


def resnet50() -> tuple[Layer, ...]:
    """ResNet-50 (v1.5): conv1, 16 bottleneck blocks (1x1, 3x3, 1x1 + 4 downsamples), FC."""
    layers: list[Layer] = [_conv("conv1", 224, 7, 3, 64, stride=2)]
    size, channels = 56, 64
    for stage, (width, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), start=1):
        for block in range(blocks):
            stride = 2 if stage > 1 and block == 0 else 1
            prefix = f"layer{stage}.{block}"
            out = size // stride
            layers.append(_conv(f"{prefix}.conv1", size, 1, channels, width))
            layers.append(_conv(f"{prefix}.conv2", size, 3, width, width, stride))
            layers.append(_conv(f"{prefix}.conv3", out, 1, width, 4 * width))
            if block == 0:
                layers.append(_conv(f"{prefix}.downsample", size, 1, channels, 4 * width, stride))
            size, channels = out, 4 * width
    layers.append(_fc("fc", 2048, 1000))
    return tuple(layers)


def mobilenet_v2() -> tuple[Layer, ...]:
    """MobileNetV2: stem, 17 inverted-residual blocks (expand 1x1, depthwise 3x3, project 1x1),
    1x1 conv to 1280, FC."""
    layers: list[Layer] = [_conv("conv_stem", 224, 3, 3, 32, stride=2)]
    size, channels, index = 112, 32, 0
    for t, c, n, s in (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ):
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = channels * t
            prefix = f"block{index}"
            if t != 1:
                layers.append(_conv(f"{prefix}.expand", size, 1, channels, hidden))
            layers.append(_conv(f"{prefix}.dw", size, 3, hidden, 1, stride, depthwise=True))
            size = (size - 1) // stride + 1
            layers.append(_conv(f"{prefix}.project", size, 1, hidden, c))
            channels, index = c, index + 1
    layers.append(_conv("conv_head", size, 1, channels, 1280))
    layers.append(_fc("classifier", 1280, 1000))
    return tuple(layers)


def gemm_layers(shapes: tuple[GemmShape, ...]) -> tuple[GemmLayer, ...]:
    """Expand GEMM shapes (each ``count`` times) into ``GemmLayer`` objects."""
    return tuple(GemmLayer.from_gemm(g) for g in shapes for _ in range(g.count))


WORKLOADS: dict[str, Callable[[], tuple[Layer, ...]]] = {
    "alexnet": alexnet,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenetv2": mobilenet_v2,
    "bert-base-encoder": lambda: gemm_layers(transformer_gemms("bert-base", 512)),
    "gpt2-decoder": lambda: gemm_layers(transformer_gemms("gpt2", 1, context=1024)),
    "llama2-7b-decoder": lambda: gemm_layers(transformer_gemms("llama2-7b", 1, context=2048)),
}
