import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatTimestamp } from '../../src/directory/crud/time-format.js';

const viaDate = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00');

describe('formatTimestamp', () => {
  it('writes what Date#toISOString writes, with +00:00 for Z', () => {
    const edges = [
      0, -1, 1, 86_399_999, 86_400_000, -86_400_000, 951_782_400_000 /* 2000-02-29 */, 951_868_799_999, 4_107_542_400_000 /* 2100-03-01 */,
      -2_203_891_200_000 /* 1900-02-28 */, -62_167_219_200_000 /* 0000-01-01 */, 253_402_300_799_999 /* 9999-12-31T23:59:59.999 */,
      1_780_000_000_123.9, -1_780_000_000_123.9, -0.5 /* fractional ms are cut toward zero, not rounded */,
    ];
    for (const ms of edges) assert.equal(formatTimestamp(ms), viaDate(ms), `at ${ms}`);
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor((random() * 2 - 1) * 62_000_000_000_000 + random() * 200_000_000_000_000);
      assert.equal(formatTimestamp(ms), viaDate(ms), `at ${ms}`);
    }
  });

  it('keeps the expanded-year form outside 0000–9999 and null for missing values', () => {
    assert.equal(formatTimestamp(-62_167_219_200_001), '-000001-12-31T23:59:59.999+00:00');
    assert.equal(formatTimestamp(253_402_300_800_000), '+010000-01-01T00:00:00.000+00:00');
    assert.equal(formatTimestamp(null), null);
    assert.equal(formatTimestamp(undefined), null);
    assert.throws(() => formatTimestamp(Number.NaN), RangeError);
  });
});
