"""PyTorch reference for `pnpm bench`: training and forward throughput of the same models,
batch sizes and optimiser as the TypeScript runs, on CPU with a fixed thread count.

Usage: python3 torch-bench.py '{"model": "vanresnet", "batch": 64, "threads": 2, "seconds": 4}'
Prints one JSON object.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class VanResNet(nn.Module):
    """The seed article's network (conv-pool, conv-pool, conv + skip-pool, fc, fc)."""

    def __init__(self, in_ch=3, size=32, n_chans1=32, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, n_chans1, 3, padding=1)
        self.conv2 = nn.Conv2d(n_chans1, n_chans1 * 2, 3, padding=1)
        self.conv3 = nn.Conv2d(n_chans1 * 2, n_chans1 * 2, 3, padding=1)
        side = size // 8
        self.fc1 = nn.Linear(side * side * n_chans1 * 2, 32)
        self.fc2 = nn.Linear(32, classes)

    def forward(self, x):
        out = F.max_pool2d(torch.relu(self.conv1(x)), 2)
        out = F.max_pool2d(torch.relu(self.conv2(out)), 2)
        out1 = out
        out = F.max_pool2d(torch.relu(self.conv3(out) + out1), 2)
        out = out.flatten(1)
        out = torch.relu(self.fc1(out))
        return self.fc2(out)


def resnet18_cifar(classes=10):
    m = torchvision.models.resnet18(num_classes=classes)
    m.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
    m.maxpool = nn.Identity()
    return m


def timed(fn, seconds, min_steps=3):
    fn()
    fn()
    steps = 0
    t0 = time.perf_counter()
    while True:
        fn()
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and steps >= min_steps:
            return steps, elapsed


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    batch = cfg["batch"]
    model = VanResNet() if cfg["model"] == "vanresnet" else resnet18_cifar()
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def train_step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    model.train()
    steps, elapsed = timed(train_step, cfg["seconds"])
    train_ips = steps * batch / elapsed
    model.eval()

    def forward():
        with torch.no_grad():
            model(x)

    fsteps, felapsed = timed(forward, cfg["seconds"] / 2)
    print(json.dumps({
        "trainImagesPerSec": train_ips,
        "forwardImagesPerSec": fsteps * batch / felapsed,
        "steps": steps,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
