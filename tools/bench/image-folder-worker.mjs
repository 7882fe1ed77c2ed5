// The dataset each worker of image-folder-bench.mjs builds (WorkerPoolDataset's factory):
// the benchmark folder through RandomResizedCrop(224) + flip + ToTensor + Normalize, as
// torchvision's ImageNet training recipe. Reads the BUILT packages.
const dist = (p) => new URL(`../../packages/${p}`, import.meta.url).href;
const core = await import(dist('core/dist/index.js'));
const data = await import(dist('data/dist/index.js'));
const dataNode = await import(dist('data/dist/node/index.js'));

/** The training transform; a plain 224 crop where this build lacks RandomResizedCrop. */
export function trainTransform(generator) {
  const crop = data.RandomResizedCrop
    ? new data.RandomResizedCrop(224, { generator, antialias: true })
    : new data.RandomCrop(224, { generator });
  return new data.Compose([
    crop,
    new data.RandomHorizontalFlip(0.5, { generator }),
    new data.ToTensor(),
    new data.Normalize(data.IMAGENET_MEAN, data.IMAGENET_STD),
  ]);
}

export async function createDataset({ root }) {
  const generator = new core.Generator(0);
  const dataset = await dataNode.loadImageFolder(root, { transform: trainTransform(generator) });
  return { dataset, generator };
}
