// Paths to the repository's fixtures and a temporary folder, for tests compiled into dist/test/.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function fixture(...parts: string[]): string {
  return join(ROOT, 'fixtures', ...parts);
}

export function readFixture(...parts: string[]): Buffer {
  return readFileSync(fixture(...parts));
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'caffe-tool-test-'));
}

/** The value formula of fixtures/make_binary.py: ((i * 37) % 101 - 50) / 64. */
export function fixtureValue(i: number): number {
  return (((i * 37) % 101) - 50) / 64;
}

/** The worst |a - b| relative to the largest |a|, that largest taken as at least `floor`. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  if (a.length !== b.length) return Infinity;
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]));
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  return worst / Math.max(scale, floor);
}
