#!/usr/bin/python3
"""Continue a resnet-ts run in PyTorch, under DistributedDataParallel on CPU processes.

    resnet-ts train --optimizer sgd --momentum 0.9 --scheduler step --out runs
    resnet-ts export runs/<timestamp> --format pth --training-state --out ckpt.pth
    python3 continue-ddp.py --checkpoint ckpt.pth --digits mnist-digits.bin --out continued.pth

The checkpoint holds {'epoch', 'model', 'optimizer', 'scheduler'} in PyTorch's formats, so
the model, the optimizer's momentum buffers (or Adam's moments) and the learning-rate
schedule all continue where resnet-ts stopped. Training runs in `--world-size` processes
started with torch.multiprocessing.spawn (gloo backend): each sees its own shard of the data
through a DistributedSampler and DDP averages the gradients. Rank 0 saves the result in the
same format, which resnet-ts reads back with loadTorchStateDict(model, bytes, { key: 'model' })
and fromTorchOptimizerState.

torch.multiprocessing.spawn rather than torchrun: Debian's torchrun 1.13 fails under
Python 3.11 in its elastic agent, while spawn works.
"""
import argparse
import json
import os
import socket

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class VanResNet(nn.Module):
    """resnet-ts's VanResNet (the article's model), with the same state-dict names."""

    def __init__(self, in_channels=1, input_size=28, num_classes=10, filters=32, growth=2, fc_hidden=32):
        super().__init__()
        wide = filters * growth
        self.conv1 = nn.Conv2d(in_channels, filters, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(filters, wide, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(wide, wide, kernel_size=3, padding=1)
        side = input_size // 2 // 2 // 2
        self.fc1 = nn.Linear(side * side * wide, fc_hidden)
        self.fc2 = nn.Linear(fc_hidden, num_classes)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = F.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = F.max_pool2d(torch.relu(self.conv3(x) + x), 2)
        x = torch.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def read_digits(path):
    """resnet-ts's embedded digits file: "MNDG", version 1, 28, 28, a count, labels, images."""
    raw = np.fromfile(path, dtype=np.uint8)
    assert bytes(raw[:4]) == b'MNDG' and raw[4] == 1, 'not an mnist-digits file'
    count = int(raw[8:12].view('<u4')[0])
    labels = torch.from_numpy(raw[12:12 + count].astype(np.int64))
    images = raw[12 + count:].reshape(count, 1, 28, 28).astype(np.float32)
    images = torch.from_numpy((images / 255 - MNIST_MEAN) / MNIST_STD)
    return images, labels


def make_optimizer(kind, params):
    # Placeholder hyper-parameters: load_state_dict replaces them with the run's.
    if kind == 'sgd':
        return torch.optim.SGD(params, lr=0.1, momentum=0.9)
    if kind == 'adam':
        return torch.optim.Adam(params, lr=0.1)
    raise SystemExit(f'unsupported optimizer {kind!r}: sgd or adam')


def worker(rank, world, args, port):
    os.environ['MASTER_ADDR'] = '127.0.0.1'
    os.environ['MASTER_PORT'] = str(port)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    checkpoint = torch.load(args.checkpoint)
    model = VanResNet()
    model.load_state_dict(checkpoint['model'], strict=True)
    ddp = DistributedDataParallel(model)
    optimizer = make_optimizer(args.optimizer, ddp.parameters())
    optimizer.load_state_dict(checkpoint['optimizer'])
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
    scheduler.load_state_dict(checkpoint['scheduler'])

    images, labels = read_digits(args.digits)
    # The file is sorted by digit: draw the train and test sets from one fixed shuffle.
    order = torch.from_numpy(np.random.RandomState(args.seed).permutation(len(labels)))
    train_idx, test_idx = order[:args.train], order[-args.test:]
    train = TensorDataset(images[train_idx], labels[train_idx])
    sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(train, batch_size=args.batch_size, sampler=sampler)
    losses = []
    start = checkpoint['epoch']
    for epoch in range(start, start + args.epochs):
        sampler.set_epoch(epoch)
        ddp.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(ddp(x), y)
            loss.backward()
            optimizer.step()
            losses.append(float(loss))
        scheduler.step()

    if rank == 0:
        torch.save({'epoch': start + args.epochs, 'model': model.state_dict(),
                    'optimizer': optimizer.state_dict(), 'scheduler': scheduler.state_dict()}, args.out)
        test_x, test_y = images[test_idx], labels[test_idx]
        model.eval()
        with torch.no_grad():
            logits = model(test_x)
        report = {
            'worldSize': world, 'epochs': [start, start + args.epochs], 'lr': scheduler.get_last_lr(),
            'losses': losses, 'testImages': args.test,
            'accuracy': float((logits.argmax(1) == test_y).float().mean()),
            'testIndices': [int(i) for i in test_idx[:16]],
            'logits': [float(v) for v in logits[:16].flatten()],
        }
        with open(args.report, 'w') as f:
            json.dump(report, f)
        print(f"continued epochs {start}..{start + args.epochs} in {world} processes; "
              f"test accuracy {report['accuracy']:.3f}; saved {args.out}")
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--checkpoint', required=True, help='resnet-ts export --format pth --training-state')
    p.add_argument('--digits', required=True, help="@resnet-ts/data's mnist-digits.bin")
    p.add_argument('--out', required=True, help='the continued checkpoint, same format')
    p.add_argument('--report', default='continued.json', help='losses, accuracy and logits as JSON')
    p.add_argument('--optimizer', default='sgd', choices=['sgd', 'adam'])
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--train', type=int, default=2048, help='digits to train on')
    p.add_argument('--test', type=int, default=512, help='other digits to test on')
    p.add_argument('--world-size', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()
    mp.spawn(worker, args=(args.world_size, args, free_port()), nprocs=args.world_size, join=True)


if __name__ == '__main__':
    main()
