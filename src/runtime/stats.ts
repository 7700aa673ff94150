// Timings summarised as `caffe time` users read them: mean, percentiles and the fastest run, in milliseconds.
export interface TimingStats {
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  minMs: number;
}

export function timingStats(times: number[]): TimingStats {
  const sorted = [...times].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  return { meanMs: times.reduce((a, b) => a + b, 0) / times.length, p50Ms: pct(50), p90Ms: pct(90), p99Ms: pct(99), minMs: sorted[0] };
}
