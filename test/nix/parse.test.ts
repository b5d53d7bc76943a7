import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nixFilesUnder, nixosDir, repoRoot, requireNix, runNix, skipNixSuites, suiteName } from './nix.js';

const files = [...nixFilesUnder(nixosDir), ...nixFilesUnder(join(repoRoot, 'test', 'nix'))];

describe.skipIf(skipNixSuites)(suiteName('every .nix file parses (nix-instantiate --parse)'), () => {
  beforeAll(requireNix);

  it('finds the flake, the pure library and the modules', () => {
    for (const expected of ['nixos/flake.nix', 'nixos/lib/cert-plan.nix', 'nixos/modules/default.nix']) {
      expect(files).toContain(expected);
    }
  });

  it.each(files)('%s', (file) => {
    const result = runNix(['--parse', file]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('rejects a syntax error (the check can fail)', () => {
    const result = runNix(['--parse', '-E', '{ a = 1; b = [ 1 2']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/syntax error/);
  });
});
