"""torchvision's side of image-folder-bench.mjs: ImageFolder + DataLoader(num_workers) over the
same folder with RandomResizedCrop(224) (or a plain RandomCrop(224), to match a build without
it) + RandomHorizontalFlip + ToTensor + Normalize. Prints one JSON line: images/s per epoch.

/usr/bin/python3 tools/bench/image-folder-torch.py ROOT --workers 2 --batch 32 --epochs 2 [--plain-crop]
"""

import argparse
import json
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
rates = []
for _ in range(a.epochs):
    t = time.perf_counter()
    n = 0
    for x, y in loader:
        n += x.shape[0]
    rates.append(n / (time.perf_counter() - t))
print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__,
                  "images_per_s": rates}))
