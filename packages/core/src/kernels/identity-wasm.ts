/**
 * Identity and same-dtype Cast for the wasm backend without a copy. tfjs's engine clones every
 * tensor a gradient saves (`saveTensorsForBackwardMode` runs Identity), and the stock wasm
 * kernels copy the whole tensor for it: 2.5 ms of a 59 ms VanResNet training step went to
 * copying activations nobody writes to. Tensors are immutable, so the clone can share the
 * data with a reference, as the cpu and webgl backends' Identity and wasm's own Reshape do.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { CastAttrs, CastInputs, IdentityInputs, TensorInfo } from '@tensorflow/tfjs-core';
import { run } from './wasm-util.js';

function share(backend: BackendWasm, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function identityWasm(args: { inputs: IdentityInputs; backend: BackendWasm }): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype === 'string') return run(args.backend, 'Identity', { x });
  return share(args.backend, x);
}

export function castWasm(args: {
  inputs: CastInputs;
  backend: BackendWasm;
  attrs: CastAttrs;
}): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype === args.attrs.dtype && x.dtype !== 'string') return share(args.backend, x);
  return run(args.backend, 'Cast', { x }, args.attrs as never);
}
