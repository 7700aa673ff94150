// The server's metrics in the Prometheus text exposition format (version 0.0.4): counters, histograms
// (cumulative `_bucket{le=...}` lines ending with le="+Inf", then `_sum` and `_count`) and gauges.

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels: Labels, extra?: [string, string]) => {
  const all = Object.entries(labels);
  if (extra) all.push(extra);
  return all.length ? `{${all.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
};
const labelKey = (labels: Labels) => JSON.stringify(Object.entries(labels).sort());
/** Go's strconv formatting as Prometheus writes it: +Inf, integers without a point. */
const num = (v: number) => (v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : Number.isNaN(v) ? 'NaN' : String(v));

interface Family {
  name: string;
  help: string;
  render(): string[];
}

/** One value per label set: what counters and gauges hold and render alike. */
abstract class Values implements Family {
  protected readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}
  render(): string[] {
    return [...this.values.values()].map((v) => `${this.name}${labelText(v.labels)} ${num(v.value)}`);
  }
}

export class Counter extends Values {
  inc(labels: Labels, by = 1): void {
    const key = labelKey(labels);
    const v = this.values.get(key) ?? { labels, value: 0 };
    v.value += by;
    this.values.set(key, v);
  }
  get(labels: Labels): number {
    return this.values.get(labelKey(labels))?.value ?? 0;
  }
}

export class Gauge extends Values {
  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), { labels, value });
  }
}

export class Histogram implements Family {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  /** Upper bounds, ascending; the +Inf bucket is implied. */
  constructor(readonly name: string, readonly help: string, readonly bounds: number[]) {}
  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels, counts: new Array<number>(this.bounds.length).fill(0), sum: 0, count: 0 }));
    // Buckets are stored per bound and made cumulative when rendered.
    const i = this.bounds.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const lines: string[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((b, i) => {
        cumulative += s.counts[i];
        lines.push(`${this.name}_bucket${labelText(s.labels, ['le', num(b)])} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${num(s.sum)}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

/** The families the server keeps. */
export class ServeMetrics {
  readonly requests = new Counter('caffe_tool_requests_total', 'HTTP requests answered, by model, endpoint and status code.');
  readonly latency = new Histogram('caffe_tool_request_duration_seconds', 'Time from a request\'s arrival to its answer, by model and endpoint.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  readonly batchSize = new Histogram('caffe_tool_batch_size', 'Items in each session call, by model.', [1, 2, 4, 8, 16, 32, 64, 128, 256]);
  readonly queueDepth = new Gauge('caffe_tool_queue_depth', 'Requests waiting for a batch, by model.');

  render(): string {
    const families: [Family, string][] = [[this.requests, 'counter'], [this.latency, 'histogram'], [this.batchSize, 'histogram'], [this.queueDepth, 'gauge']];
    const out: string[] = [];
    for (const [f, type] of families) out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${type}`, ...f.render());
    return `${out.join('\n')}\n`;
  }
}
