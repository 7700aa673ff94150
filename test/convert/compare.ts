// Comparing outputs with a reference, as numpy.allclose does.

/** The largest violation of |a - b| <= atol + rtol * |b|, as a ratio (<= 1 passes), and where. */
export function compare(actual: Float32Array, expected: Float32Array, rtol: number, atol: number): { worst: number; at: number; diff: number } {
  let worst = 0;
  let at = -1;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    const r = d / (atol + rtol * Math.abs(expected[i]));
    if (!(r <= worst)) [worst, at, diff] = [r, i, d];
  }
  return { worst, at, diff };
}
