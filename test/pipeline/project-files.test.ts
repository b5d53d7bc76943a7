import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSynth, runValidate } from '../../pipeline/commands.js';
import { readProjectFile } from '../../pipeline/project-files.js';
import { captureContext } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

const SECRET_OUTSIDE = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stolen\ndata:\n  home: OUTSIDE-CONTENT\n';

function project(file: string, construct: 'ManifestFile' | 'SopsSecret'): string {
  const use =
    construct === 'ManifestFile'
      ? `new ManifestFile(chart, 'legacy', { file: ${JSON.stringify(file)} });`
      : `new SopsSecret(chart, 'token', { file: ${JSON.stringify(file)}, name: 'token', namespace: 'web' });`;
  const root = makeProject({
    'inventory/lab.json': '{}',
    'apps/lab.ts': `import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { ManifestFile } from '${PROJECT}constructs/core/manifest-file.ts';
import { SopsSecret } from '${PROJECT}constructs/secrets/sops-secret.ts';
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'web', namespace: 'web', build(chart) { ${use} } }],
});
`,
  });
  roots.push(root);
  return root;
}

async function synth(root: string) {
  const context = captureContext();
  const code = await runSynth(['--root', root, '--out', join(root, 'dist')], context);
  return { code, err: context.err.join('\n'), wrote: existsSync(join(root, 'dist')) };
}

describe('files the project names', () => {
  const outside = mkdtempSync(join(tmpdir(), 'outside-'));
  roots.push(outside);
  writeFileSync(join(outside, 'secret.yaml'), SECRET_OUTSIDE);

  for (const construct of ['ManifestFile', 'SopsSecret'] as const) {
    it(`${construct}: a link leaving the project is refused and never read`, async () => {
      const root = project('manifests/legacy.yaml', construct);
      mkdirSync(join(root, 'manifests'));
      symlinkSync(join(outside, 'secret.yaml'), join(root, 'manifests/legacy.yaml'));
      const result = await synth(root);
      expect(result.code).toBe(1);
      const what = construct === 'ManifestFile' ? 'manifest' : 'SOPS';
      expect(result.err).toMatch(
        new RegExp(`manifests/legacy\\.yaml\\): (Secret web/token: )?the ${what} file is a link that leads outside the project`),
      );
      expect(result.err).not.toContain('OUTSIDE-CONTENT');
      expect(result.wrote).toBe(false);
    });

    it(`${construct}: a folder, a dangling link and a FIFO are one-line problems, not crashes`, async () => {
      const root = project('manifests/legacy.yaml', construct);
      mkdirSync(join(root, 'manifests/legacy.yaml'), { recursive: true });
      expect((await synth(root)).err).toMatch(/file is a folder, not a file \[(manifest|sops)\.file\]$/m);
      rmSync(join(root, 'manifests/legacy.yaml'), { recursive: true });
      symlinkSync(join(root, 'manifests/nowhere.yaml'), join(root, 'manifests/legacy.yaml'));
      expect((await synth(root)).err).toMatch(/file is a link to a file that does not exist \[(manifest|sops)\.file\]$/m);
      rmSync(join(root, 'manifests/legacy.yaml'));
      execFileSync('mkfifo', [join(root, 'manifests/legacy.yaml')]);
      const fifo = await synth(root);
      expect(fifo.code).toBe(1);
      expect(fifo.err).toMatch(/is not a regular file \(a FIFO, socket or device\) \[(manifest|sops)\.file\]$/m);
      expect(fifo.err).not.toContain('    at ');
    });
  }

  it('reads a link that stays inside the project, and refuses .. and absolute paths before reading', () => {
    const root = project('x', 'ManifestFile');
    mkdirSync(join(root, 'manifests'));
    writeFileSync(join(root, 'manifests/real.yaml'), 'a: 1\n');
    symlinkSync('real.yaml', join(root, 'manifests/alias.yaml'));
    expect(readProjectFile(root, 'manifests/alias.yaml')).toEqual({ content: Buffer.from('a: 1\n') });
    expect(readProjectFile(root, '../outside.yaml')).toEqual({
      error: 'must be a path inside the project, relative to its root, without ".."',
    });
    expect(readProjectFile(root, join(outside, 'secret.yaml'))).toEqual({
      error: 'must be a path inside the project, relative to its root, without ".."',
    });
  });

  it('validate reports a link leaving the folder it walks, and does not read it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'validate-links-'));
    roots.push(dir);
    writeFileSync(join(dir, 'inside.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n');
    symlinkSync(join(outside, 'secret.yaml'), join(dir, 'leak.yaml'));
    symlinkSync('inside.yaml', join(dir, 'alias.yaml'));
    const context = captureContext({ cwd: dir });
    expect(await runValidate(['.'], context)).toBe(1);
    const out = context.out.join('\n');
    expect(out).toContain(
      `leak.yaml: is a link that leads outside ${realpathSync(dir)} (to ${realpathSync(join(outside, 'secret.yaml'))}); it is not read: name the target itself to validate it [file]`,
    );
    expect(out).not.toContain('stolen');
    expect(out).toContain('validate: 1 file, 1 object: 1 problem in 1 file');
  });

  it('validate refuses a named link leaving its folder, reports looping links and paths with nothing to validate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'validate-args-'));
    roots.push(dir);
    symlinkSync(join(outside, 'secret.yaml'), join(dir, 'leak.yaml'));
    const named = captureContext({ cwd: dir });
    expect(await runValidate(['leak.yaml'], named)).toBe(1);
    expect(named.out.join('\n')).toContain('leak.yaml: is a link that leads outside');
    expect(named.out.join('\n')).not.toContain('stolen');

    mkdirSync(join(dir, 'loop'));
    symlinkSync('self', join(dir, 'loop/self'));
    writeFileSync(join(dir, 'loop/ok.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n');
    const loop = captureContext({ cwd: dir });
    expect(await runValidate(['loop'], loop)).toBe(1);
    expect(loop.out).toContain('loop/self: cannot be read: is a link that loops back on itself [file]');

    // A link back up the folder being walked is fine, and its files count once.
    mkdirSync(join(dir, 'tree/d'), { recursive: true });
    writeFileSync(join(dir, 'tree/ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n');
    symlinkSync('..', join(dir, 'tree/d/up'));
    const up = captureContext({ cwd: dir });
    expect(await runValidate(['tree'], up)).toBe(0);
    expect(up.out).toEqual(['validate: 1 file, 1 object: all valid']);

    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'empty/notes.txt'), 'no manifests here\n');
    const empty = captureContext({ cwd: dir });
    expect(await runValidate(['empty'], empty)).toBe(1);
    expect(empty.out).toContain(
      'empty: holds no YAML file and no JSON Kubernetes object: nothing was validated (is it the right path?) [file]',
    );
  });

  it('validate reads JSON files that hold Kubernetes objects and leaves other JSON alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'validate-json-'));
    roots.push(dir);
    writeFileSync(
      join(dir, 'pod.json'),
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name', namespace: 'web' } }),
    );
    writeFileSync(join(dir, 'dashboard.json'), JSON.stringify({ title: 'a Grafana dashboard', panels: [] }));
    const context = captureContext({ cwd: dir });
    expect(await runValidate(['.'], context)).toBe(1);
    expect(context.out.join('\n')).toMatch(/^pod\.json \(document 1\): ConfigMap web\/Bad_Name: .*\[metadata\.name\]$/m);
    expect(context.out.at(-1)).toBe('validate: 1 file, 1 object: 1 problem in 1 file');
  });

  it('reports an inventory that is a folder or a dangling link in one line, exit 1', async () => {
    const root = project('x', 'ManifestFile');
    rmSync(join(root, 'inventory/lab.json'));
    mkdirSync(join(root, 'inventory/lab.json'));
    const folder = await synth(root);
    expect([folder.code, folder.err]).toEqual([
      1,
      expect.stringContaining('inventory/lab.json: the inventory is a folder, not a file [inventory]'),
    ]);
    rmSync(join(root, 'inventory/lab.json'), { recursive: true });
    symlinkSync(join(root, 'nowhere.json'), join(root, 'inventory/lab.json'));
    const dangling = await synth(root);
    expect([dangling.code, dangling.err]).toEqual([
      1,
      expect.stringContaining('the inventory is a link to a file that does not exist [inventory]'),
    ]);
  });
});
