// Side-effect module: registers tfjs-core gradients.
export {};
