#!/usr/bin/env python3
"""The fine-tuning experiment of fine-tune-experiment.mjs in PyTorch, to tell the library's
faults from the recipe's, and the maker of the pretrained weights the command line's
fine-tuning test starts from (fixtures/resnet18_w16-shapes-64.safetensors).

  # pretraining images (other shapes), drawn by the same code as the folder's
  node tools/shapes/fine-tune-experiment.mjs dump /tmp/pre --per-class 600 --seed 1000
  node tools/shapes/fine-tune-experiment.mjs dump /tmp/pre-val --per-class 25 --seed 9000
  python3 tools/shapes/fine-tune-torch.py pretrain OUT.safetensors --data /tmp/pre \\
      --val-data /tmp/pre-val --model resnet18_w16 --epochs 10 --lr 3e-3
  # fine-tuning on a folder written by make-shapes-folder.mjs, as the command line does
  python3 tools/shapes/fine-tune-torch.py finetune --folder DIR --weights OUT.safetensors \\
      --model resnet18_w16 --epochs 8

Pretraining: Adam under a one-cycle schedule, random flips, batch 32. Fine-tuning: the
command line's folder recipe (SGD lr 0.01, momentum 0.9, weight decay 1e-4, cosine over the
epochs, batch 32, flips; pictures resized to a square) with a new head. Weights are written
as safetensors in PyTorch's layout, which `--weights` reads. Debian's python3-torch 1.13,
torchvision 0.14; one thread, so runs are repeatable.
"""
import argparse
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision import transforms as T
from torchvision.models.resnet import BasicBlock, ResNet

torch.set_num_threads(1)
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


class NarrowResNet18(ResNet):
    """torchvision's ResNet-18 with `width` channels in its first stage instead of 64: the
    registry's resnet18_w16 for width 16, with the same state-dict keys."""

    def __init__(self, width=16, num_classes=1000):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(BasicBlock, width, 2)
        self.layer2 = self._make_layer(BasicBlock, 2 * width, 2, stride=2)
        self.layer3 = self._make_layer(BasicBlock, 4 * width, 2, stride=2)
        self.layer4 = self._make_layer(BasicBlock, 8 * width, 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


def build(name, num_classes):
    if name == 'resnet18_w16':
        return NarrowResNet18(16, num_classes)
    return torchvision.models.resnet18(num_classes=num_classes)


def normalize(x):
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def load_raw(prefix):
    """Images written by `fine-tune-experiment.mjs dump`: uint8 NHWC and int32 labels."""
    labels = np.fromfile(prefix + '.labels', dtype=np.int32)
    x = np.fromfile(prefix + '.u8', dtype=np.uint8)
    side = int(round((x.size / len(labels) / 3) ** 0.5))
    x = torch.from_numpy(x.reshape(len(labels), side, side, 3)).permute(0, 3, 1, 2).float() / 255
    return normalize(x), torch.from_numpy(labels.astype(np.int64))


def load_folder(path, size):
    """A split of the folder through torchvision's ImageFolder (the corrupt file skipped),
    resized to a square as the command line does."""
    ds = torchvision.datasets.ImageFolder(path, is_valid_file=lambda f: not f.endswith('corrupt.jpg'))
    tf = T.Compose([T.Resize((size, size)), T.ToTensor(), T.Normalize(MEAN, STD)])
    x = torch.stack([tf(Image.open(p).convert('RGB')) for p, _ in ds.samples])
    return x, torch.tensor([y for _, y in ds.samples]), ds.classes


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    types = {'F32': np.float32, 'I64': np.int64, 'I32': np.int32}
    out = {}
    for key, v in header.items():
        if key == '__metadata__':
            continue
        start, end = v['data_offsets']
        a = np.frombuffer(data[start:end], dtype=types[v['dtype']]).reshape(v['shape'])
        out[key] = torch.from_numpy(a.copy())
    return out


def write_safetensors(state, path, metadata):
    header = {'__metadata__': metadata}
    chunks = []
    offset = 0
    for key, t in state.items():
        raw = t.contiguous().numpy().tobytes()
        dtype = {torch.float32: 'F32', torch.int64: 'I64'}[t.dtype]
        header[key] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
    os.replace(path + '.tmp', path)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return sum((model(x[i:i + 64]).argmax(1) == y[i:i + 64]).sum().item() for i in range(0, len(y), 64)) / len(y)


def train(model, opt, sched, x, y, epochs, seed, evaluate, what, per_epoch=False):
    g = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(y), generator=g)
        start = time.time()
        total = 0.0
        batches = 0
        for i in range(0, len(y), 32):
            idx = order[i:i + 32]
            flip = (torch.rand(len(idx), generator=g) < 0.5).view(-1, 1, 1, 1)
            xb = torch.where(flip, x[idx].flip(3), x[idx])
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if not per_epoch:
                sched.step()
            total += loss.item()
            batches += 1
        if per_epoch:
            sched.step()
        rate = len(y) / (time.time() - start)
        print(f'epoch {epoch + 1}: loss {total / batches:.4f}, {rate:.0f} img/s, {what} {evaluate() * 100:.1f}%', flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('command', choices=['pretrain', 'finetune'])
    p.add_argument('out', nargs='?', help='pretrain: the weights file to write')
    p.add_argument('--data', help='pretrain: the dumped training images (PREFIX)')
    p.add_argument('--val-data', help='pretrain: the dumped held-out images (PREFIX)')
    p.add_argument('--folder', help='finetune: DIR with train/ and val/')
    p.add_argument('--weights', help='finetune: start from these weights (default: random)')
    p.add_argument('--model', default='resnet18_w16', choices=['resnet18', 'resnet18_w16'])
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--lr', type=float)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    if a.command == 'pretrain':
        x, y = load_raw(a.data)
        xv, yv = load_raw(a.val_data)
        classes = int(y.max()) + 1
        model = build(a.model, classes)
        lr = a.lr or 3e-3
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        steps = a.epochs * ((len(y) + 31) // 32)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
        print(f'pretraining {a.model} on {len(y)} images of {classes} classes', flush=True)
        train(model, opt, sched, x, y, a.epochs, a.seed, lambda: accuracy(model, xv, yv), 'held-out accuracy')
        meta = {'made-by': f'tools/shapes/fine-tune-torch.py, torch {torch.__version__}',
                'pretrained-on': 'arrow, crescent, ellipse, heart, hexagon, rhombus, ring, star'}
        write_safetensors(model.state_dict(), a.out, meta)
        print('wrote', a.out)
    else:
        x, y, classes = load_folder(os.path.join(a.folder, 'train'), a.size)
        xv, yv, _ = load_folder(os.path.join(a.folder, 'val'), a.size)
        model = build(a.model, 8)
        if a.weights:
            model.load_state_dict(read_safetensors(a.weights))
        model.fc = nn.Linear(model.fc.in_features, len(classes))
        lr = a.lr or 0.01
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
        # Stepped once an epoch, as the command line's cosine schedule is.
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.epochs)
        print(f"fine-tuning {a.model} {'from ' + a.weights if a.weights else 'from scratch'} on {classes}", flush=True)
        train(model, opt, sched, x, y, a.epochs, a.seed, lambda: accuracy(model, xv, yv), 'held-out accuracy', per_epoch=True)


if __name__ == '__main__':
    main()
