/**
 * What a model takes: a square `size`×`size` picture with `channels` (1 = gray, 3 = RGB),
 * normalised per channel with `mean` and `std` (one entry per channel).
 */
export interface InputSpec {
  size: number;
  channels: number;
  mean: number[];
  std: number[];
}
