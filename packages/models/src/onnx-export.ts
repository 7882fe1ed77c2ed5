import { formatValue, type Module, ValueError } from '@resnet-ts/core';
import {
  AdaptiveAvgPool2d,
  BasicBlock,
  BatchNorm2d,
  Bottleneck,
  Conv2d,
  Identity,
  type Linear,
  MaxPool2d,
  Sequential,
} from '@resnet-ts/layers';
import onnxProto from 'onnx-proto';
import { ResNet } from './resnet.js';
import { type TorchRawTensor, toTorchStateDict } from './torch-interop.js';
import { VanResNet } from './van-resnet.js';

const { onnx } = onnxProto;

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /**
   * The graph's input, NCHW as every ONNX consumer expects: `[batch, channels, height,
   * width]`. A string batch (`'N'`) makes the batch size symbolic.
   */
  inputShape: readonly [number | string, number, number, number];
  /** The ONNX operator set, 9–17. Default 13. */
  opset?: number;
}

/** The IR version each opset came with (onnx/docs/Versioning.md). */
function irVersionOf(opset: number): number {
  if (opset <= 9) return 4;
  if (opset === 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  return 8;
}

type Attribute = { name: string } & ({ ints: number[] } | { i: number } | { f: number });

/** Builds one graph; tensors are named by PyTorch's state-dict keys, as torch.onnx does. */
class GraphBuilder {
  readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private counter = 0;

  constructor(
    private readonly state: Record<string, TorchRawTensor>,
    readonly opset: number,
  ) {}

  private fresh(op: string): string {
    return `/${op}_${this.counter++}`;
  }

  node(op: string, inputs: string[], attributes: Attribute[] = [], name?: string): string {
    const output = name ?? this.fresh(op);
    this.nodes.push(
      onnx.NodeProto.create({
        opType: op,
        name: output.replace(/^\//, ''),
        input: inputs,
        output: [output],
        attribute: attributes.map((a) => {
          if ('ints' in a) {
            return onnx.AttributeProto.create({
              name: a.name,
              ints: a.ints,
              type: onnx.AttributeProto.AttributeType.INTS,
            });
          }
          if ('i' in a) {
            return onnx.AttributeProto.create({
              name: a.name,
              i: a.i,
              type: onnx.AttributeProto.AttributeType.INT,
            });
          }
          return onnx.AttributeProto.create({
            name: a.name,
            f: a.f,
            type: onnx.AttributeProto.AttributeType.FLOAT,
          });
        }),
      }),
    );
    return output;
  }

  /** The state-dict tensor `key` as an initializer, float32. */
  weight(key: string): string {
    const t = this.state[key];
    if (!t)
      throw new ValueError(`exportOnnx: the model has no state-dict entry ${formatValue(key)}`);
    if (t.dtype !== 'F32')
      throw new ValueError(`exportOnnx: ${formatValue(key)} is ${t.dtype}, not F32`);
    const data = Float32Array.from(t.data as ArrayLike<number>);
    this.initializers.push(
      onnx.TensorProto.create({
        name: key,
        dims: t.shape,
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(data.buffer),
      }),
    );
    return key;
  }

  conv(x: string, m: Conv2d, path: string): string {
    const g = m.geometry;
    const inputs = [x, this.weight(`${path}.weight`)];
    if (m.bias) inputs.push(this.weight(`${path}.bias`));
    const [[top, bottom], [left, right]] = g.padding;
    return this.node('Conv', inputs, [
      { name: 'kernel_shape', ints: g.kernel },
      { name: 'strides', ints: g.stride },
      { name: 'pads', ints: [top, left, bottom, right] },
      { name: 'dilations', ints: g.dilation },
      { name: 'group', i: g.groups },
    ]);
  }

  batchNorm(x: string, m: Module, path: string): string {
    if (!(m instanceof BatchNorm2d) || !m.affine || !m.trackRunningStats) {
      throw new ValueError(
        `exportOnnx: ${formatValue(path)} is ${m.typeName}; only BatchNorm2d with affine weights and running statistics is exported`,
      );
    }
    const keys = ['weight', 'bias', 'running_mean', 'running_var'].map((k) =>
      this.weight(`${path}.${k}`),
    );
    return this.node('BatchNormalization', [x, ...keys], [{ name: 'epsilon', f: m.eps }]);
  }

  relu(x: string): string {
    return this.node('Relu', [x]);
  }

  maxPool(
    x: string,
    kernel: number[],
    stride: number[],
    padding: number[],
    ceilMode: boolean,
  ): string {
    const attributes: Attribute[] = [
      { name: 'kernel_shape', ints: kernel },
      { name: 'strides', ints: stride },
      { name: 'pads', ints: [padding[0], padding[1], padding[0], padding[1]] },
    ];
    if (ceilMode) {
      if (this.opset < 10)
        throw new ValueError('exportOnnx: ceil-mode max-pooling needs opset 10 or later');
      attributes.push({ name: 'ceil_mode', i: 1 });
    }
    return this.node('MaxPool', [x], attributes);
  }

  linear(x: string, m: Linear, path: string, name?: string): string {
    const inputs = [x, this.weight(`${path}.weight`)];
    if (m.bias) inputs.push(this.weight(`${path}.bias`));
    return this.node('Gemm', inputs, [{ name: 'transB', i: 1 }], name);
  }

  flatten(x: string): string {
    return this.node('Flatten', [x], [{ name: 'axis', i: 1 }]);
  }
}

function vanResNetGraph(b: GraphBuilder, model: VanResNet, input: string): string {
  const pool = (x: string) => b.maxPool(x, [2, 2], [2, 2], [0, 0], false);
  let x = pool(b.relu(b.conv(input, model.conv1, 'conv1')));
  x = pool(b.relu(b.conv(x, model.conv2, 'conv2')));
  const skip = x;
  x = pool(b.relu(b.node('Add', [b.conv(x, model.conv3, 'conv3'), skip])));
  // NCHW in the graph, so Flatten gives PyTorch's (c, h, w) order, which fc1's PyTorch-layout weight expects.
  x = b.relu(b.linear(b.flatten(x), model.fc1, 'fc1'));
  return b.linear(x, model.fc2, 'fc2', 'logits');
}

function blockGraph(b: GraphBuilder, block: Module, path: string, x: string): string {
  let identity = x;
  let out: string;
  if (block instanceof BasicBlock) {
    out = b.relu(b.batchNorm(b.conv(x, block.conv1, `${path}.conv1`), block.bn1, `${path}.bn1`));
    out = b.batchNorm(b.conv(out, block.conv2, `${path}.conv2`), block.bn2, `${path}.bn2`);
  } else if (block instanceof Bottleneck) {
    out = b.relu(b.batchNorm(b.conv(x, block.conv1, `${path}.conv1`), block.bn1, `${path}.bn1`));
    out = b.relu(b.batchNorm(b.conv(out, block.conv2, `${path}.conv2`), block.bn2, `${path}.bn2`));
    out = b.batchNorm(b.conv(out, block.conv3, `${path}.conv3`), block.bn3, `${path}.bn3`);
  } else {
    throw new ValueError(
      `exportOnnx: ${formatValue(path)} is a ${block.typeName}; expected BasicBlock or Bottleneck`,
    );
  }
  if (block.downsample) {
    const [[, conv], [, bn]] = block.downsample.namedChildren();
    if (!(block.downsample instanceof Sequential) || !(conv instanceof Conv2d)) {
      throw new ValueError(
        `exportOnnx: ${formatValue(path)}.downsample must be Sequential(Conv2d, BatchNorm2d)`,
      );
    }
    identity = b.batchNorm(b.conv(x, conv, `${path}.downsample.0`), bn, `${path}.downsample.1`);
  }
  return b.relu(b.node('Add', [out, identity]));
}

function resNetGraph(b: GraphBuilder, model: ResNet, input: string): string {
  let x = b.relu(b.batchNorm(b.conv(input, model.conv1, 'conv1'), model.bn1, 'bn1'));
  if (model.maxpool instanceof MaxPool2d) {
    const g = model.maxpool.geometry;
    x = b.maxPool(x, g.kernel, g.stride, g.padding, g.ceilMode);
  } else if (!(model.maxpool instanceof Identity)) {
    throw new ValueError(
      `exportOnnx: maxpool is a ${(model.maxpool as Module).typeName}; expected MaxPool2d or Identity`,
    );
  }
  for (const stage of ['layer1', 'layer2', 'layer3', 'layer4'] as const) {
    for (const [i, block] of model[stage].namedChildren())
      x = blockGraph(b, block, `${stage}.${i}`, x);
  }
  const pool = model.avgpool;
  if (!(pool instanceof AdaptiveAvgPool2d) || pool.outputSize.some((s) => s !== 1)) {
    throw new ValueError('exportOnnx: avgpool must be AdaptiveAvgPool2d((1, 1))');
  }
  x = b.flatten(b.node('GlobalAveragePool', [x]));
  return b.linear(x, model.fc, 'fc', 'logits');
}

function valueInfo(name: string, dims: ReadonlyArray<number | string>) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((d) =>
            typeof d === 'string'
              ? onnx.TensorShapeProto.Dimension.create({ dimParam: d })
              : onnx.TensorShapeProto.Dimension.create({ dimValue: d }),
          ),
        }),
      }),
    }),
  });
}

/**
 * The model in evaluation mode as an ONNX file (`.onnx` bytes, encoded by the protobuf
 * schema of the `onnx-proto` package): input `input`, NCHW float32 of `inputShape`; output
 * `logits` `[batch, classes]`; weights as initializers named by their PyTorch state-dict
 * keys, in PyTorch's layouts. Exports {@link VanResNet} and the {@link ResNet} family with
 * Conv, BatchNormalization (running statistics), Relu, MaxPool, Add, GlobalAveragePool,
 * Flatten and Gemm; any other model throws a ValueError naming it.
 */
export function exportOnnx(
  model: Module,
  { inputShape, opset = 13 }: ExportOnnxOptions,
): Uint8Array {
  if (!Number.isInteger(opset) || opset < 9 || opset > 17) {
    throw new ValueError(
      `exportOnnx: opset must be an integer in 9..17, got ${formatValue(opset)}`,
    );
  }
  if (!Array.isArray(inputShape) || inputShape.length !== 4) {
    throw new ValueError(
      `exportOnnx: inputShape must be [batch, channels, height, width], got ${formatValue(inputShape)}`,
    );
  }
  const [batch, ...chw] = inputShape;
  if (
    !chw.every((d) => Number.isInteger(d) && d > 0) ||
    (typeof batch === 'number' && !(Number.isInteger(batch) && batch > 0))
  ) {
    throw new ValueError(
      `exportOnnx: inputShape must hold positive integers (batch may be a name), got ${formatValue(inputShape)}`,
    );
  }
  const b = new GraphBuilder(toTorchStateDict(model), opset);
  let logits: string;
  let classes: number;
  if (model instanceof VanResNet) {
    logits = vanResNetGraph(b, model, 'input');
    classes = model.fc2.outFeatures;
  } else if (model instanceof ResNet) {
    logits = resNetGraph(b, model, 'input');
    classes = model.fc.outFeatures;
  } else {
    throw new ValueError(
      `exportOnnx: cannot export a ${model.typeName}; VanResNet and ResNet are supported`,
    );
  }
  const graph = onnx.GraphProto.create({
    name: model.typeName,
    node: b.nodes,
    initializer: b.initializers,
    input: [valueInfo('input', inputShape)],
    output: [valueInfo(logits, [batch, classes])],
  });
  const proto = onnx.ModelProto.create({
    irVersion: irVersionOf(opset),
    producerName: 'resnet-ts',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: opset })],
    graph,
  });
  return onnx.ModelProto.encode(proto).finish();
}
