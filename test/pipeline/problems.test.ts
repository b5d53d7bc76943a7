import { describe, expect, it } from 'vitest';
import { collapseRepeats, foldPerFile, formatProblem, type Problem } from '../../framework/model.js';

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

  it('that say the same of different files are one line listing the other files', () => {
    const noRule = (file: string): Problem => ({
      origin: { constructPath: `lab/${file}`, file },
      rule: 'sops.config',
      message: `no creation rule in .sops.yaml matches ${file}`,
    });
    const other: Problem = { origin: { file: 'b.sops.yaml' }, rule: 'sops.keys', message: 'lacks the key "x"' };
    expect(foldPerFile([noRule('a.sops.yaml'), other, noRule('b.sops.yaml'), noRule('c.sops.yaml')]).map(formatProblem)).toEqual([
      'lab/a.sops.yaml (a.sops.yaml): no creation rule in .sops.yaml matches a.sops.yaml (and the same for 2 more: b.sops.yaml, c.sops.yaml) [sops.config]',
      'b.sops.yaml: lacks the key "x" [sops.keys]',
    ]);
    // A message that does not name its file is never folded.
    expect(foldPerFile([other, { ...other, origin: { file: 'c.sops.yaml' } }])).toHaveLength(2);
  });
});
