"""CNNs of the zoo, in plain torch (no torchvision: its wheels do not load with the CPU torch).

Architectures follow the published definitions (torchvision's layouts): ResNet-18/50 (v1.5,
stride on the 3x3 conv), VGG-16 (configuration D), MobileNet-v1 (Howard et al. 2017, width 1.0),
MobileNet-v2 (Sandler et al. 2018, width 1.0), MobileNet-v3 Large and Small (Howard et al. 2019,
Tables 1 and 2, width 1.0, torchvision's layout: squeeze-excite width ``make_divisible(exp / 4, 8)``
after the depthwise conv, hard-sigmoid gate, classifier head 960-1280-1000 / 576-1024-1000).
Only shapes matter for tracing; weights are
randomly initialised (the training issue trains small models for real).
"""

from __future__ import annotations

from torch import nn

__all__ = ["resnet18", "resnet50", "vgg16", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small"]


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: type[nn.Module] | None = nn.ReLU):
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act(inplace=True))
    return nn.Sequential(*layers)


class _Basic(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(_conv_bn(cin, width, 3, stride), _conv_bn(width, width, 3, act=None))
        self.down = _conv_bn(cin, width, 1, stride, act=None) if stride != 1 or cin != width else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.body(x) + (x if self.down is None else self.down(x)))


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int):
        super().__init__()
        out = width * 4
        self.body = nn.Sequential(
            _conv_bn(cin, width, 1), _conv_bn(width, width, 3, stride), _conv_bn(width, out, 1, act=None)
        )
        self.down = _conv_bn(cin, out, 1, stride, act=None) if stride != 1 or cin != out else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.body(x) + (x if self.down is None else self.down(x)))


class ResNet(nn.Module):
    def __init__(self, block, depths: tuple[int, ...], num_classes: int = 1000):
        super().__init__()
        self.stem = nn.Sequential(_conv_bn(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        stages, cin = [], 64
        for i, n in enumerate(depths):
            width = 64 * 2**i
            blocks = []
            for j in range(n):
                blocks.append(block(cin, width, 2 if (j == 0 and i > 0) else 1))
                cin = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.stages(self.stem(x))).flatten(1))


def resnet18(num_classes: int = 1000) -> nn.Module:
    return ResNet(_Basic, (2, 2, 2, 2), num_classes)


def resnet50(num_classes: int = 1000) -> nn.Module:
    return ResNet(_Bottleneck, (3, 4, 6, 3), num_classes)


class VGG(nn.Module):
    def __init__(self, cfg: list, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(7)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 49, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


def vgg16(num_classes: int = 1000) -> nn.Module:
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    return VGG(cfg, num_classes)


class MobileNetV1(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        spec = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
        layers = [_conv_bn(3, 32, 3, 2)]
        cin = 32
        for cout, s in spec:
            layers += [_conv_bn(cin, cin, 3, s, groups=cin), _conv_bn(cin, cout, 1)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


class _InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn(cin, hidden, 1, act=nn.ReLU6))
        layers += [
            _conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
            _conv_bn(hidden, cout, 1, act=None),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        settings = [
            (1, 16, 1, 1),
            (6, 24, 2, 2),
            (6, 32, 3, 2),
            (6, 64, 4, 2),
            (6, 96, 3, 1),
            (6, 160, 3, 2),
            (6, 320, 1, 1),
        ]
        layers: list[nn.Module] = [_conv_bn(3, 32, 3, 2, act=nn.ReLU6)]
        cin = 32
        for t, c, n, s in settings:
            for i in range(n):
                layers.append(_InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(_conv_bn(cin, 1280, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


def mobilenet_v1(num_classes: int = 1000) -> nn.Module:
    return MobileNetV1(num_classes)


def mobilenet_v2(num_classes: int = 1000) -> nn.Module:
    return MobileNetV2(num_classes)


def _make_divisible(v: float, divisor: int = 8) -> int:
    """Round a width to a multiple of ``divisor``, never below 90% of ``v`` (the MobileNet rule)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class _SqueezeExcite(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        sq = _make_divisible(ch // 4, 8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(ch, sq, 1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(sq, ch, 1)
        self.gate = nn.Hardsigmoid(inplace=True)

    def forward(self, x):
        return x * self.gate(self.fc2(self.relu(self.fc1(self.pool(x)))))


class _V3Block(nn.Module):
    def __init__(self, cin: int, k: int, exp: int, cout: int, se: bool, act: type[nn.Module], stride: int):
        super().__init__()
        layers: list[nn.Module] = []
        if exp != cin:
            layers.append(_conv_bn(cin, exp, 1, act=act))
        layers.append(_conv_bn(exp, exp, k, stride, groups=exp, act=act))
        if se:
            layers.append(_SqueezeExcite(exp))
        layers.append(_conv_bn(exp, cout, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


_RE, _HS = nn.ReLU, nn.Hardswish
#: (kernel, expansion, out, squeeze-excite, activation, stride): Howard et al. 2019, Table 1
_V3_LARGE = [
    (3, 16, 16, False, _RE, 1), (3, 64, 24, False, _RE, 2), (3, 72, 24, False, _RE, 1),
    (5, 72, 40, True, _RE, 2), (5, 120, 40, True, _RE, 1), (5, 120, 40, True, _RE, 1),
    (3, 240, 80, False, _HS, 2), (3, 200, 80, False, _HS, 1), (3, 184, 80, False, _HS, 1),
    (3, 184, 80, False, _HS, 1), (3, 480, 112, True, _HS, 1), (3, 672, 112, True, _HS, 1),
    (5, 672, 160, True, _HS, 2), (5, 960, 160, True, _HS, 1), (5, 960, 160, True, _HS, 1),
]  # fmt: skip
#: Table 2
_V3_SMALL = [
    (3, 16, 16, True, _RE, 2), (3, 72, 24, False, _RE, 2), (3, 88, 24, False, _RE, 1),
    (5, 96, 40, True, _HS, 2), (5, 240, 40, True, _HS, 1), (5, 240, 40, True, _HS, 1),
    (5, 120, 48, True, _HS, 1), (5, 144, 48, True, _HS, 1), (5, 288, 96, True, _HS, 2),
    (5, 576, 96, True, _HS, 1), (5, 576, 96, True, _HS, 1),
]  # fmt: skip


class MobileNetV3(nn.Module):
    def __init__(self, spec: list, last_conv: int, head: int, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 16, 3, 2, act=_HS)]
        cin = 16
        for k, exp, cout, se, act, s in spec:
            layers.append(_V3Block(cin, k, exp, cout, se, act, s))
            cin = cout
        layers.append(_conv_bn(cin, last_conv, 1, act=_HS))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(last_conv, head), nn.Hardswish(inplace=True), nn.Dropout(0.2), nn.Linear(head, num_classes)
        )

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


def mobilenet_v3_large(num_classes: int = 1000) -> nn.Module:
    return MobileNetV3(_V3_LARGE, 960, 1280, num_classes)


def mobilenet_v3_small(num_classes: int = 1000) -> nn.Module:
    return MobileNetV3(_V3_SMALL, 576, 1024, num_classes)
