// The training steps the kernel benchmarks time end to end: VanResNet (batch 64) and ResNet-18
// with the CIFAR stem (batch 32), SGD with momentum on random 32x32x3 batches, through the
// public models and train packages.
import * as tf from '@tensorflow/tfjs-core';

/**
 * One training step per model, as [label, step, dispose]; `prefix` starts each label.
 * @param {string} prefix
 * @returns {Promise<Array<[string, () => void, () => void]>>}
 */
export async function trainingSteps(prefix) {
  const { VanResNet, resnet18 } = await import('@resnet-ts/models');
  const { SGD, crossEntropy, valueAndGrads } = await import('@resnet-ts/train');
  /** @type {Array<[string, number, InstanceType<typeof VanResNet> | ReturnType<typeof resnet18>]>} */
  const models = [
    [`${prefix}VanResNet, batch 64`, 64, new VanResNet()],
    [`${prefix}ResNet-18 CIFAR, batch 32`, 32, resnet18({ numClasses: 10, stem: 'cifar' })],
  ];
  return models.map(([label, batch, model]) => {
    const x = tf.randomUniform([batch, 32, 32, 3]);
    const labels = tf.randomUniform([batch], 0, 10, 'int32');
    const params = model.parameters();
    const opt = new SGD(params, { lr: 0.01, momentum: 0.9 });
    model.train();
    const step = () => {
      const loss = () => /** @type {tf.Scalar} */ (crossEntropy(model.forward(x), labels));
      const { value, grads } = valueAndGrads(loss, params);
      opt.step(new Map(params.map((p, i) => [p, grads[i]])));
      value.dataSync();
      tf.dispose([value, ...grads]);
    };
    return [label, step, () => tf.dispose([x, labels])];
  });
}
