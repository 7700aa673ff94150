"""bench/train: the PyTorch side. Builds the same net as bench/train.ts writes in Caffe's format, trains it on a
fixed synthetic batch (data uniform in [-1, 1), labels (i * 7919) mod C as src/train/synthetic.ts gives them) with SGD (momentum 0.9, weight decay 5e-4), and prints
one JSON line: {"net", "batch", "iterations", "seconds", "iterations_per_second", "threads"}.
usage: train_torch.py lenet BATCH ITERS WARMUP | segnet BATCH H W ITERS WARMUP"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.ip1 = nn.Linear(800, 500)
        self.ip2 = nn.Linear(500, 10)

    def forward(self, x):
        x = F.max_pool2d(self.conv1(x), 2, 2)
        x = F.max_pool2d(self.conv2(x), 2, 2)
        return self.ip2(F.relu(self.ip1(x.flatten(1))))


class SegNetTrain(nn.Module):
    """4 x (conv3x3(64) + BN + ReLU + MaxPool 2x2/2 ceil) then 4 x (unpool to the encoder's size + conv3x3(64) + BN
    + ReLU), a 1x1 conv to 11 classes: bench/train.ts's segnet_train net."""

    def __init__(self):
        super().__init__()
        block = lambda cin: nn.Sequential(nn.Conv2d(cin, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64, eps=1e-5, momentum=0.001), nn.ReLU(inplace=True))
        self.enc = nn.ModuleList([block(3 if i == 0 else 64) for i in range(4)])
        self.dec = nn.ModuleList([block(64) for _ in range(4)])
        self.classifier = nn.Conv2d(64, 11, 1)

    def forward(self, x):
        stack = []
        for enc in self.enc:
            x = enc(x)
            size = x.shape[2:]
            x, idx = F.max_pool2d(x, 2, 2, ceil_mode=True, return_indices=True)
            stack.append((idx, size))
        for dec, (idx, size) in zip(self.dec, reversed(stack)):
            x = dec(F.max_unpool2d(x, idx, 2, 2, output_size=size))
        return self.classifier(x)


def main():
    # Both sides get every core: ONNX Runtime's default, set here for torch (whose default may be fewer).
    torch.set_num_threads(os.cpu_count() or 1)
    kind = sys.argv[1]
    if kind == 'lenet':
        batch, iters, warmup = map(int, sys.argv[2:5])
        net, shape, weight = LeNet(), (batch, 1, 28, 28), None
        label_shape = (batch,)
    else:
        batch, h, w, iters, warmup = map(int, sys.argv[2:7])
        net, shape = SegNetTrain(), (batch, 3, h, w)
        weight = torch.tensor([0.2595, 0.1826, 4.5640, 0.1417, 0.9051, 0.3826, 9.6446, 1.8418, 0.6823, 6.2478, 7.3614])
        label_shape = (batch, h, w)
    net.train()
    g = torch.Generator().manual_seed(1)
    data = torch.rand(shape, generator=g) * 2 - 1
    classes = 10 if kind == 'lenet' else 11
    label = (torch.arange(int(torch.tensor(label_shape).prod())) * 7919 % classes).reshape(label_shape)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss(weight=weight)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(net(data), label)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(iters):
        step()
    seconds = time.perf_counter() - start
    print(json.dumps({'net': kind, 'batch': batch, 'iterations': iters, 'seconds': seconds,
                      'iterations_per_second': iters / seconds, 'threads': torch.get_num_threads()}))


if __name__ == '__main__':
    main()
