// The dataset each worker of fine-tune-step-bench.mjs builds (WorkerPoolDataset's factory):
// the folder through RandomResizedCrop(size) + flip + ToTensor + Normalize, torchvision's
// fine-tuning recipe. Reads the BUILT packages.
const dist = (p) => new URL(`../../packages/${p}`, import.meta.url).href;
const core = await import(dist('core/dist/index.js'));
const data = await import(dist('data/dist/index.js'));
const dataNode = await import(dist('data/dist/node/index.js'));

export async function createDataset({ root, size }) {
  const generator = new core.Generator(0);
  const transform = new data.Compose([
    new data.RandomResizedCrop(size, { generator, antialias: true }),
    new data.RandomHorizontalFlip(0.5, { generator }),
    new data.ToTensor(),
    new data.Normalize(data.IMAGENET_MEAN, data.IMAGENET_STD),
  ]);
  const dataset = await dataNode.loadImageFolder(root, { transform });
  return { dataset, generator };
}
