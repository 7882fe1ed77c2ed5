// The benchmark models in tfjs-layers (tfjs's own Keras-style API), trained with model.fit.
import * as tfl from '@tensorflow/tfjs-layers';

/** @typedef {import('@tensorflow/tfjs-layers').SymbolicTensor} SymbolicTensor */

/**
 * `Layer.apply` is typed for eager and symbolic inputs alike; these models only ever pass
 * symbolic ones, so the result is symbolic too.
 * @param {ReturnType<import('@tensorflow/tfjs-layers').layers.Layer['apply']>} t
 * @returns {SymbolicTensor}
 */
const sym = (t) => /** @type {SymbolicTensor} */ (t);

function conv(filters, opts = {}) {
  return tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', ...opts });
}

/** VanResNet as a tfjs-layers functional model ending in softmax. */
export function vanResNetLayers({ inChannels = 3, inputSize = 32, classes = 10 } = {}) {
  const input = tfl.input({ shape: [inputSize, inputSize, inChannels] });
  const pool = () => tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 });
  let h = sym(pool().apply(conv(32, { activation: 'relu' }).apply(input)));
  h = sym(pool().apply(conv(64, { activation: 'relu' }).apply(h)));
  const skip = h;
  h = sym(tfl.layers.add().apply([sym(conv(64).apply(h)), skip]));
  h = sym(pool().apply(tfl.layers.activation({ activation: 'relu' }).apply(h)));
  h = sym(tfl.layers.flatten().apply(h));
  h = sym(tfl.layers.dense({ units: 32, activation: 'relu' }).apply(h));
  const out = sym(tfl.layers.dense({ units: classes, activation: 'softmax' }).apply(h));
  return tfl.model({ inputs: input, outputs: out });
}

/** ResNet-18 with the CIFAR stem (3x3 conv, no max-pool), ending in softmax. */
export function resNet18Layers({ classes = 10 } = {}) {
  const input = tfl.input({ shape: [32, 32, 3] });
  const bn = () => tfl.layers.batchNormalization({ epsilon: 1e-5, momentum: 0.9 });
  const relu = () => tfl.layers.activation({ activation: 'relu' });
  let h = sym(relu().apply(bn().apply(conv(64, { useBias: false }).apply(input))));
  let ch = 64;
  for (const [co, stride] of [
    [64, 1],
    [128, 2],
    [256, 2],
    [512, 2],
  ]) {
    for (let i = 0; i < 2; i++) {
      const s = i === 0 ? stride : 1;
      let out = sym(relu().apply(bn().apply(conv(co, { strides: s, useBias: false }).apply(h))));
      out = sym(bn().apply(conv(co, { useBias: false }).apply(out)));
      let id = h;
      if (s !== 1 || ch !== co) {
        id = sym(
          bn().apply(
            tfl.layers.conv2d({ filters: co, kernelSize: 1, strides: s, useBias: false }).apply(h),
          ),
        );
      }
      h = sym(relu().apply(tfl.layers.add().apply([out, id])));
      ch = co;
    }
  }
  h = sym(tfl.layers.globalAveragePooling2d({}).apply(h));
  const out = sym(tfl.layers.dense({ units: classes, activation: 'softmax' }).apply(h));
  return tfl.model({ inputs: input, outputs: out });
}
