import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OBJECTS_PER_APP, writeGeneratedCluster } from '../../pipeline/bench/generated-cluster.js';
import { runSynth } from '../../pipeline/commands.js';
import { captureContext, projectRoot } from '../helpers/io.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the benchmark cluster', () => {
  // The benchmark times synth of this cluster: it must pass every check, or it would time the error path.
  it('synthesizes without a problem', async () => {
    writeGeneratedCluster(dir, projectRoot, 4 * OBJECTS_PER_APP);
    const context = captureContext();
    expect(await runSynth(['--root', dir, '--out', join(dir, 'dist')], context), context.err.join('\n')).toBe(0);
    expect(readdirSync(join(dir, 'dist/bench')).sort()).toEqual(['app-00000', 'app-00001', 'app-00002', 'app-00003']);
  });
});
