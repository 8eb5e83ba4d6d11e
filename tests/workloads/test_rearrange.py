"""Channel rearrangement: the network computes the same function and keeps at least as much
weight magnitude under the group pattern."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="torch extra not installed")

from torch import nn  # noqa: E402

from workloads.rearrange import rearrange  # noqa: E402
from workloads.zoo.cnn import mobilenet_v1, mobilenet_v2, resnet18  # noqa: E402


def _randomise_bn(model):
    g = torch.Generator().manual_seed(1)
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.copy_(torch.rand(mod.num_features, generator=g, dtype=torch.float64) * 2 - 1)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g, dtype=torch.float64) + 0.5)
            mod.weight.data.copy_(torch.rand(mod.num_features, generator=g, dtype=torch.float64) + 0.5)
            mod.bias.data.copy_(torch.rand(mod.num_features, generator=g, dtype=torch.float64) - 0.5)
    return model


@pytest.mark.parametrize("build", [mobilenet_v1, mobilenet_v2, resnet18], ids=lambda b: b.__name__)
@pytest.mark.parametrize("sparsity", [0.3, 0.7])
def test_same_function_more_kept_magnitude(build, sparsity):
    torch.manual_seed(0)
    model = _randomise_bn(build().double().eval())
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    res = rearrange(model, x, "group", sparsity)
    with torch.no_grad():
        torch.testing.assert_close(res.model(x), model(x), rtol=1e-10, atol=1e-10)
    assert res.permutations, "no channel space was rearranged"
    assert res.kept_after >= res.kept_before
    assert any((p != sorted(p)).any() for p in res.permutations.values())


def test_frozen_spaces_are_left_alone():
    class Cat(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 8, 1)
            self.b = nn.Conv2d(3, 8, 1)
            self.c = nn.Conv2d(16, 4, 1)

        def forward(self, x):
            return self.c(torch.cat([self.a(x), self.b(x)], 1))

    model = Cat().double().eval()
    x = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    res = rearrange(model, x, "group", 0.5)
    assert res.permutations == {}  # cat outputs are frozen, the final output is frozen
    with torch.no_grad():
        torch.testing.assert_close(res.model(x), model(x))
