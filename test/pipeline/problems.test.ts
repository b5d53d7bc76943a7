import { describe, expect, it } from 'vitest';
import { collapseRepeats, formatProblem, type Problem } from '../../framework/model.js';

describe('repeated problems', () => {
  it('are reported once, saying how often they were found, in the order first seen', () => {
    const missing: Problem = {
      origin: { constructPath: 'lab/storage' },
      rule: 'upstream.missing',
      message: 'chart x 1.0 is not in the cache',
    };
    const other: Problem = { origin: { file: 'inventory/lab.json' }, rule: 'inventory', message: 'hosts[0].name: is required' };
    expect(collapseRepeats([missing, other, missing, missing]).map(formatProblem)).toEqual([
      'lab/storage: chart x 1.0 is not in the cache (found 3 times) [upstream.missing]',
      'inventory/lab.json: hosts[0].name: is required [inventory]',
    ]);
    // Same message, other place: two problems.
    const elsewhere = { ...missing, origin: { constructPath: 'lab/other' } };
    expect(collapseRepeats([missing, elsewhere])).toEqual([missing, elsewhere]);
  });
});
