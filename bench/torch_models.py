#!/usr/bin/python3
"""bench/infer's PyTorch baseline: the nets of fixtures/nets/resnet50_deploy.prototxt,
fixtures/nets/mobilenet_deploy.prototxt and bench/segnet_small.prototxt built layer for layer in PyTorch
(random init, eval mode) and exported with torch.onnx.export, opset 17, at a fixed batch.

  /usr/bin/python3 bench/torch_models.py NET BATCH OUT.onnx       NET: resnet50 | mobilenet | segnet

Prints one JSON line: the parameter counts (learned parameters, BatchNorm running statistics) and the
module counts by type, which bench/infer checks against the Caffe net. A Caffe BatchNorm + Scale pair is
one torch BatchNorm2d: Scale's scale and bias are its weight and bias, BatchNorm's mean and variance its
running statistics; Caffe's third BatchNorm blob (the scale factor, one float per layer) has no torch
counterpart. Only speed is compared: the weights on the two sides are unrelated random numbers.

PyTorch 1.13 cannot export MaxUnpool2d (aten::max_unpool2d); a symbolic registered below exports it as
ONNX MaxUnpool. torch exports MaxPool2d(return_indices=True) with plane-local indices (it subtracts each
plane's offset); ONNX MaxUnpool reads indices into the whole N*C*H*W tensor, so the offsets are added back.
"""
import json
import sys

import numpy as np
import torch
from torch import nn
from torch.onnx import symbolic_helper


def conv_bn(cin, cout, k, stride=1, pad=0, groups=1):
    """Convolution (no bias) + BatchNorm + Scale, as the Caffe nets have them."""
    return [nn.Conv2d(cin, cout, k, stride, pad, groups=groups, bias=False), nn.BatchNorm2d(cout)]


class Bottleneck(nn.Module):
    """Kaiming He's Caffe ResNet block: the stride sits in the first 1x1 conv (branch2a) and in branch1."""

    def __init__(self, cin, width, stride, project):
        super().__init__()
        self.branch2 = nn.Sequential(
            *conv_bn(cin, width, 1, stride), nn.ReLU(inplace=True),
            *conv_bn(width, width, 3, 1, 1), nn.ReLU(inplace=True),
            *conv_bn(width, width * 4, 1))
        self.branch1 = nn.Sequential(*conv_bn(cin, width * 4, 1, stride)) if project else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        shortcut = self.branch1(x) if self.branch1 is not None else x
        return self.relu(shortcut + self.branch2(x))


class ResNet50(nn.Module):
    """fixtures/nets/resnet50_deploy.prototxt: conv1 7x7/2 with a bias, pool1 3x3/2 MAX rounding up (no pad),
    stages of 3, 4, 6, 3 bottlenecks, pool5 7x7 AVE, fc1000."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=True), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, ceil_mode=True))
        blocks, cin = [], 64
        for width, count, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            for i in range(count):
                blocks.append(Bottleneck(cin, width, stride if i == 0 else 1, i == 0))
                cin = width * 4
        self.blocks = nn.Sequential(*blocks)
        self.pool5 = nn.AvgPool2d(7, 1)
        self.fc1000 = nn.Linear(2048, 1000)

    def forward(self, x):
        x = self.pool5(self.blocks(self.stem(x)))
        return self.fc1000(torch.flatten(x, 1))


class MobileNet(nn.Module):
    """fixtures/nets/mobilenet_deploy.prototxt: conv1 3x3/2, 13 depthwise (group = channels) + pointwise
    pairs, each conv with BatchNorm + Scale + ReLU, global average pool6, fc7 as a 1x1 convolution."""

    def __init__(self):
        super().__init__()
        layers = [*conv_bn(3, 32, 3, 2, 1), nn.ReLU(inplace=True)]
        cin = 32
        for cout, stride in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                             (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]:
            layers += [*conv_bn(cin, cin, 3, stride, 1, groups=cin), nn.ReLU(inplace=True)]
            layers += [*conv_bn(cin, cout, 1), nn.ReLU(inplace=True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool6 = nn.AdaptiveAvgPool2d(1)
        self.fc7 = nn.Conv2d(1024, 1000, 1, bias=True)

    def forward(self, x):
        return self.fc7(self.pool6(self.features(x)))


class SegNetSmall(nn.Module):
    """bench/segnet_small.prototxt: 4 x (conv3x3(64) + BN + ReLU + MaxPool 2x2/2 with indices), 4 x (MaxUnpool
    with the matching indices + conv3x3(64) + BN + ReLU), a 1x1 conv to 11 classes."""

    def __init__(self):
        super().__init__()
        self.enc = nn.ModuleList([nn.Sequential(*conv_bn(3 if i == 0 else 64, 64, 3, 1, 1), nn.ReLU(inplace=True)) for i in range(4)])
        self.dec = nn.ModuleList([nn.Sequential(*conv_bn(64, 64, 3, 1, 1), nn.ReLU(inplace=True)) for _ in range(4)])
        self.pool = nn.ModuleList([nn.MaxPool2d(2, 2, return_indices=True) for _ in range(4)])
        self.unpool = nn.ModuleList([nn.MaxUnpool2d(2, 2) for _ in range(4)])
        self.classifier = nn.Conv2d(64, 11, 1, bias=True)

    def forward(self, x):
        masks = []
        for enc, pool in zip(self.enc, self.pool):
            x, idx = pool(enc(x))
            masks.append(idx)
        for dec, unpool, idx in zip(self.dec, self.unpool, reversed(masks)):
            x = dec(unpool(x, idx))
        return self.classifier(x)


# name: (model, input shape without the batch, output name)
NETS = {
    'resnet50': (ResNet50, [3, 224, 224], 'fc1000'),
    'mobilenet': (MobileNet, [3, 224, 224], 'fc7'),
    'segnet': (SegNetSmall, [3, 128, 128], 'conv_classifier'),
}


@symbolic_helper.parse_args('v', 'v', 'is')
def max_unpool2d(g, x, indices, output_size):
    n, c, h, w = symbolic_helper._get_tensor_sizes(x)
    oh, ow = output_size
    # torch's MaxPool export leaves plane-local indices h*W + w; MaxUnpool wants them over N*C*H*W.
    offsets = torch.arange(n * c, dtype=torch.int64).reshape(n, c, 1, 1) * (oh * ow)
    flat = g.op('Add', indices, g.op('Constant', value_t=offsets))
    shape = g.op('Constant', value_t=torch.tensor([n, c, oh, ow], dtype=torch.int64))
    return g.op('MaxUnpool', x, flat, shape, kernel_shape_i=[oh // h, ow // w], strides_i=[oh // h, ow // w])


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in NETS:
        sys.exit(f'usage: {sys.argv[0]} {"|".join(NETS)} BATCH OUT.onnx')
    name, batch, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.manual_seed(0)
    torch.set_num_threads(2)
    torch.onnx.register_custom_op_symbolic('aten::max_unpool2d', max_unpool2d, 11)
    make, shape, output = NETS[name]
    model = make().eval()
    x = torch.randn(batch, *shape)
    with torch.no_grad():
        y = model(x)
        torch.onnx.export(model, x, out, opset_version=17, input_names=['data'], output_names=[output], do_constant_folding=True)
    modules = {}
    for m in model.modules():
        if not isinstance(m, (nn.Sequential, nn.ModuleList)) and m is not model and len(list(m.children())) == 0:
            modules[type(m).__name__] = modules.get(type(m).__name__, 0) + 1
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    print(json.dumps({
        'net': name, 'batch': batch, 'onnx': out, 'output': output, 'output_shape': list(y.shape),
        'learned': sum(p.numel() for p in model.parameters()),
        'statistics': sum(m.running_mean.numel() + m.running_var.numel() for m in bns),
        'modules': modules,
        'finite': bool(np.isfinite(y.numpy()).all()),
    }))


if __name__ == '__main__':
    main()
