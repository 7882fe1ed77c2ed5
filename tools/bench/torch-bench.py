"""PyTorch reference for `pnpm bench`: training and forward throughput of the same models,
batch sizes and optimiser as the TypeScript runs, on CPU with a fixed thread count.

Usage: python3 torch-bench.py '{"model": "vanresnet", "batch": 64, "threads": 2, "seconds": 4}'
       python3 torch-bench.py '{"mode": "flops", "model": "resnet50"}'  (multiply-adds per image)
       python3 torch-bench.py '{"mode": "peak", "threads": 1, "seconds": 1}'  (torch.mm GFLOP/s)
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


def build(name):
    if name == "vanresnet":
        return VanResNet(), 32
    if name == "resnet50":
        return torchvision.models.resnet50(num_classes=10), 64
    return resnet18_cifar(), 32


def macs_per_image(model, size):
    """Multiply-adds of one image's forward pass through every Conv2d and Linear."""
    total = [0]

    def conv(m, _inp, out):
        kh, kw = m.kernel_size
        total[0] += out.numel() * (m.in_channels // m.groups) * kh * kw

    def linear(m, _inp, out):
        total[0] += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return total[0]


def peak(cfg):
    """The native kernels' best GFLOP per second of wall clock and of process CPU time at this
    thread count: torch.mm on two n x n float32 matrices (whatever BLAS torch found) and a 3x3
    convolution, 256 -> 256 channels, 16x16, batch 16 (oneDNN; the shape keeps torch off its
    im2col + BLAS path)."""
    n = cfg.get("n", 1024)
    secs = cfg.get("seconds", 1)
    a = torch.rand(n, n)
    b = torch.rand(n, n)
    flops = 2 * n**3
    steps, elapsed, cpu = timed(lambda: torch.mm(a, b), secs)
    mm, mm_cpu = flops * steps / elapsed / 1e9, flops * steps / cpu / 1e9
    x = torch.rand(16, 256, 16, 16)
    w = torch.rand(256, 256, 3, 3)
    flops = 2 * 16 * 256 * 256 * 9 * 16 * 16
    steps, elapsed, cpu = timed(lambda: F.conv2d(x, w, padding=1), secs)
    conv, conv_cpu = flops * steps / elapsed / 1e9, flops * steps / cpu / 1e9
    return {
        "mmGflops": mm,
        "mmGflopsCpu": mm_cpu,
        "convGflops": conv,
        "convGflopsCpu": conv_cpu,
        "threads": torch.get_num_threads(),
    }


def timed(fn, seconds, min_steps=3, warmup_seconds=0.0):
    """Steps and seconds of `fn` run for `seconds` (at least `min_steps`) after a warm-up of
    two calls and `warmup_seconds`, and the process CPU seconds of the timed calls."""
    fn()
    fn()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < warmup_seconds:
        fn()
    steps = 0
    c0 = time.process_time()
    t0 = time.perf_counter()
    while True:
        fn()
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and steps >= min_steps:
            return steps, elapsed, time.process_time() - c0


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg.get("threads", 1))
    torch.manual_seed(0)
    if cfg.get("mode") == "peak":
        print(json.dumps(peak(cfg)))
        return
    model, size = build(cfg["model"])
    if cfg.get("mode") == "flops":
        print(json.dumps({"macsPerImage": macs_per_image(model, size)}))
        return
    batch = cfg["batch"]
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def train_step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    model.train()
    steps, elapsed, cpu = timed(
        train_step, cfg["seconds"], warmup_seconds=cfg.get("warmupSeconds", 0.0)
    )
    train_ips = steps * batch / elapsed
    model.eval()

    def forward():
        with torch.no_grad():
            model(x)

    forward_ips = None
    if not cfg.get("skipForward"):
        fsteps, felapsed, _ = timed(forward, cfg["seconds"] / 2)
        forward_ips = fsteps * batch / felapsed
    print(json.dumps({
        "trainImagesPerSec": train_ips,
        "trainCpuImagesPerSec": steps * batch / cpu,
        "forwardImagesPerSec": forward_ips,
        "steps": steps,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
