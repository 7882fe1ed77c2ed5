"""torchvision's side of image-folder-bench.mjs: ImageFolder + DataLoader(num_workers) over the
same folder with RandomResizedCrop(224) (or a plain RandomCrop(224), to match a build without
it) + RandomHorizontalFlip + ToTensor + Normalize. Prints one JSON line: images/s and CPU seconds per image (this process and its workers) per
epoch.

/usr/bin/python3 tools/bench/image-folder-torch.py ROOT --workers 2 --batch 32 --epochs 2 [--plain-crop]
"""

import argparse
import json
import os
import time

import torch
import torchvision
from torchvision import transforms

p = argparse.ArgumentParser()
p.add_argument("root")
p.add_argument("--workers", type=int, default=2)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--epochs", type=int, default=2)
p.add_argument("--plain-crop", action="store_true")
a = p.parse_args()

torch.manual_seed(0)
crop = transforms.RandomCrop(224) if a.plain_crop else transforms.RandomResizedCrop(224)
tf = transforms.Compose([
    crop,
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
])
ds = torchvision.datasets.ImageFolder(a.root, transform=tf)
loader = torch.utils.data.DataLoader(
    ds, batch_size=a.batch, shuffle=True, num_workers=a.workers,
    persistent_workers=a.workers > 0,
)
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """User + system CPU time of these processes (this one and the loader's workers)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


rates = []
cpu_per_image = []
for _ in range(a.epochs):
    # The persistent workers exist from the first epoch on; its CPU time is not counted.
    it = loader._iterator
    pids = [os.getpid()] + ([w.pid for w in it._workers] if it is not None else [])
    c = cpu_seconds(pids) if it is not None else None
    t = time.perf_counter()
    n = 0
    for x, y in loader:
        n += x.shape[0]
    rates.append(n / (time.perf_counter() - t))
    cpu_per_image.append(None if c is None else (cpu_seconds(pids) - c) / n)
print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__,
                  "images_per_s": rates, "cpu_s_per_image": cpu_per_image}))
