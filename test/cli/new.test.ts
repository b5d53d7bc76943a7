import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/new.js';
import { runSynth } from '../../pipeline/commands.js';
import { decryptYaml } from '../../pipeline/sops/decrypt.js';
import { IN_PROCESS_WRITER } from '../../pipeline/sops/writer.js';
import { captureContext, projectRoot } from '../helpers/io.js';

let root = '';

/** A copy of the project as a fresh clone has it: the files git tracks, dist/ included. */
function copyProject(): string {
  const copy = mkdtempSync(join(tmpdir(), 'scaffold-'));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: projectRoot, encoding: 'utf8' }).split('\n');
  for (const file of files.filter(Boolean)) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    cpSync(join(projectRoot, file), join(copy, file));
  }
  symlinkSync(join(projectRoot, 'node_modules'), join(copy, 'node_modules'), 'dir');
  return copy;
}

const run = async (...argv: string[]) => {
  const context = captureContext({ root, cwd: root, now: new Date('2026-01-01T00:00:00Z') });
  const code = await main(argv, { ...context, root, writer: IN_PROCESS_WRITER });
  return { code, out: context.out, err: context.err.join('\n') };
};

beforeAll(() => {
  root = copyProject();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('npm run new', () => {
  it('scaffolds a cluster that synth renders at once, with a SOPS file per declared Secret holding its keys', async () => {
    const result = await run('cluster', 'lab');
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toContain('wrote apps/lab.ts');
    const sopsConfig = readFileSync(join(root, '.sops.yaml'), 'utf8');
    expect(sopsConfig).toContain('path_regex: secrets/lab/.*\\.ya?ml$');
    // Every file is encrypted for the rule's recipients and holds exactly the keys its construct declares.
    const keysFile = readFileSync(join(projectRoot, 'test/fixtures/sops/example-age-keys.txt'), 'utf8');
    const identities = keysFile.split('\n').filter((line) => line.startsWith('AGE-SECRET-KEY-1'));
    const oauth = await decryptYaml(readFileSync(join(root, 'secrets/lab/traefik/oauth2-proxy.sops.yaml'), 'utf8'), identities);
    expect(Object.keys(oauth.document.stringData as object).sort()).toEqual(['client-id', 'client-secret', 'cookie-secret']);

    const synth = captureContext({ root, cwd: root });
    expect(await runSynth(['--root', root], synth), synth.err.join('\n')).toBe(0);
    expect(synth.out[0]).toMatch(/^synth: 2 clusters, 16 apps, /);
    expect(synth.out.join('\n')).toContain('SOPS files encrypted for the example key');
  });

  it('scaffolds an app that passes every check once listed in a composition', async () => {
    const result = await run('app', 'hello-world');
    expect(result.code).toBe(0);
    const composition = join(root, 'apps/lab.ts');
    const text = readFileSync(composition, 'utf8');
    writeFileSync(
      composition,
      text.replace(/^const apps = \[(.*)\];$/m, "import { helloWorldApp } from './hello-world.js';\nconst apps = [$1, helloWorldApp];"),
    );
    // In its own process: this one has loaded the composition before the edit.
    const synth = spawnSync(process.execPath, ['--import', 'tsx', join(projectRoot, 'cli/synth.ts'), '--root', root], {
      cwd: projectRoot,
      encoding: 'utf8',
    });
    expect(synth.status, synth.stderr).toBe(0);
    expect(readFileSync(join(root, 'dist/lab/hello-world/kustomization.yaml'), 'utf8')).toContain('deployment-hello-world.yaml');
  });

  it('refuses a name in use, a bad name, an unknown source cluster and bad usage', async () => {
    expect(await run('cluster', 'lab')).toMatchObject({
      code: 1,
      err: 'new: inventory/lab.json exists: choose another name, or remove it first',
    });
    expect((await run('cluster', 'Lab_2')).err).toMatch(/^new: cluster name "Lab_2" must be a DNS-1123 label/);
    expect((await run('cluster', 'edge', '--from', 'nowhere')).err).toBe(
      'new: inventory/nowhere.json does not exist: --from names a cluster of this project',
    );
    expect((await run('nothing')).code).toBe(2);
    expect((await run('cluster', 'x', '--frm', 'y')).code).toBe(2);
  });
});
