"""Per-stage CPU milliseconds of torchvision's side of image-folder-bench.mjs on one thread, over
the same folder: PIL open + convert('RGB'), RandomResizedCrop(224), flip, ToTensor,
Normalize, default_collate.

/usr/bin/python3 tools/bench/image-folder-torch-stages.py ROOT [--rounds 3]
"""

import argparse
import os
import time

import torch
from PIL import Image
from torch.utils.data import default_collate
from torchvision import transforms

p = argparse.ArgumentParser()
p.add_argument("root")
p.add_argument("--rounds", type=int, default=3)
a = p.parse_args()
torch.set_num_threads(1)
torch.manual_seed(0)
files = [os.path.join(a.root, c, f) for c in sorted(os.listdir(a.root))
         for f in sorted(os.listdir(os.path.join(a.root, c)))]
crop = transforms.RandomResizedCrop(224)
flip = transforms.RandomHorizontalFlip(1.0)
to_tensor = transforms.ToTensor()
norm = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])

best = {}
for _ in range(a.rounds):
    stages = {}

    def timed(name, fn):
        t = time.process_time()
        r = fn()
        stages[name] = stages.get(name, 0) + time.process_time() - t
        return r

    out = []
    for f in files:
        def load():
            with open(f, "rb") as fh:
                img = Image.open(fh)
                return img.convert("RGB")
        img = timed("open + decode (PIL)", load)
        c = timed("RandomResizedCrop(224)", lambda: crop(img))
        c = timed("flip (always)", lambda: flip(c))
        t = timed("ToTensor", lambda: to_tensor(c))
        n = timed("Normalize", lambda: norm(t))
        out.append((n, 0))
        if len(out) == 32:
            timed("collate (per image)", lambda: default_collate(out))
            out = []
    for k, v in stages.items():
        best[k] = min(best.get(k, 1e9), v / len(files) * 1000)
print(f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {len(files)} files, best of {a.rounds}")
for k, v in best.items():
    print(f"{k:36} {v:.3f} ms")
