// Small statistics the benchmark scripts share.

/** The median of a non-empty list of numbers (the mean of the two middle ones when even). */
export function median(/** @type {number[]} */ v) {
  const a = [...v].sort((p, q) => p - q);
  return (a[(a.length - 1) >> 1] + a[a.length >> 1]) / 2;
}
