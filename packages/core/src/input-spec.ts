/**
 * What a model takes as input: square images of `size`² pixels with `channels` channels,
 * normalised per channel as `(x - mean) / std` (x in [0, 1]). A dataset's catalog entry and
 * a weights file's metadata both describe their images this way.
 */
export interface InputSpec {
  /** Height and width of the (square) images, in pixels. */
  size: number;
  /** Channels per pixel: 1 for greyscale, 3 for RGB. */
  channels: number;
  /** Per-channel mean subtracted after scaling to [0, 1]; `channels` entries. */
  mean: number[];
  /** Per-channel standard deviation divided by after the mean; `channels` entries, all > 0. */
  std: number[];
}
