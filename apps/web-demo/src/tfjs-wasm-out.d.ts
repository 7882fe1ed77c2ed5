/** The worker script of tfjs's threaded wasm build, which ships without types. */
declare module '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js' {
  /** The pthread worker's source, as a template literal. */
  export const wasmWorkerContents: string;
}
