import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runValidate } from '../../pipeline/commands.js';
import { captureContext, projectRoot } from '../helpers/io.js';

const corpus = join(projectRoot, 'test/corpus');
const invalid = readdirSync(join(corpus, 'invalid'))
  .filter((file) => file.endsWith('.yaml'))
  .sort();
const valid = readdirSync(join(corpus, 'valid'))
  .filter((file) => file.endsWith('.yaml'))
  .sort();

/** Each invalid file states the problems it must produce: `# expect: [rule] text`. */
function expectations(file: string): { rule: string; text: string }[] {
  return readFileSync(join(corpus, 'invalid', file), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('# expect: '))
    .map((line) => {
      const match = /^# expect: \[([^\]]+)\] (.+)$/.exec(line);
      if (!match) throw new Error(`${file}: malformed expectation: ${line}`);
      return { rule: match[1] as string, text: match[2] as string };
    });
}

describe('bad-input corpus', () => {
  it('covers every rule the validator reports', () => {
    const rules = new Set(invalid.flatMap((file) => expectations(file).map((e) => e.rule)));
    for (const rule of [
      'yaml',
      'identity.apiVersion',
      'identity.kind',
      'identity.name',
      'metadata.name',
      'metadata.namespace',
      'metadata.labels',
      'metadata.annotations',
      'schema',
      'schema.unknown-kind',
      'duplicate',
      'secret.plaintext',
      'secret.sops',
      'list',
      'data.key',
      'schema.unknown-field',
      'api.selector',
      'api.container-name',
      'api.port-name',
      'api.port',
      'api.volume-name',
      'api.volume-mount',
      'api.env-name',
      'api.probe-port',
      'api.service-target-port',
      'api.cron-schedule',
      'api.quantity',
      'api.resource-name',
    ]) {
      expect(rules, `no corpus file exercises [${rule}]`).toContain(rule);
    }
  });

  it.each(invalid)('%s is rejected with the file, object and problem named', async (file) => {
    const context = captureContext();
    const path = `test/corpus/invalid/${file}`;
    const code = await runValidate([path], context);
    expect(code).toBe(1);
    const problems = context.out.slice(0, -1);
    const wanted = expectations(file);
    expect(wanted.length).toBeGreaterThan(0);
    for (const { rule, text } of wanted) {
      const line = problems.find((candidate) => candidate.endsWith(`[${rule}]`) && candidate.includes(text));
      expect(line, `expected a [${rule}] problem containing "${text}" in:\n${problems.join('\n')}`).toBeDefined();
      expect(line?.startsWith(path)).toBe(true);
    }
    expect(problems).toHaveLength(wanted.length);
    expect(context.out.at(-1)).toMatch(/^validate: 1 file, \d+ objects?: \d+ problems? in 1 file$/);
  });

  it.each(valid)('%s is accepted', async (file) => {
    const context = captureContext();
    const code = await runValidate([`test/corpus/valid/${file}`], context);
    expect(context.out.join('\n')).toMatch(/all valid$/);
    expect(code).toBe(0);
  });

  it('validates folders recursively and reports every bad file at once', async () => {
    const context = captureContext();
    const code = await runValidate(['test/corpus'], context);
    expect(code).toBe(1);
    const files = new Set(context.out.slice(0, -1).map((line) => line.split(/[: ]/)[0]));
    expect([...files].sort()).toEqual(invalid.map((file) => `test/corpus/invalid/${file}`));
    expect(context.out.at(-1)).toContain(`problems in ${invalid.length} files`);
  });

  it('counts at least 30 strict-mode cases: unknown fields per kind and CR package, and each API-server rule', () => {
    const strict = invalid.filter((file) => expectations(file).some((e) => e.rule === 'schema.unknown-field' || e.rule.startsWith('api.')));
    const cases = strict.flatMap((file) =>
      expectations(file).filter((e) => e.rule === 'schema.unknown-field' || e.rule.startsWith('api.')),
    );
    expect(cases.length).toBeGreaterThanOrEqual(30);
    const kinds = new Set(cases.filter((e) => e.rule === 'schema.unknown-field').map((e) => e.text.split(' ')[0]));
    for (const kind of [
      'Deployment',
      'StatefulSet',
      'CronJob',
      'Service',
      'ConfigMap',
      'Ingress',
      'NetworkPolicy',
      'Application',
      'Certificate',
      'Middleware',
      'ServiceMonitor',
      'VolumeSnapshotClass',
    ]) {
      expect(kinds, `no unknown-field case for ${kind}`).toContain(kind);
    }
  });

  it('lets foreign YAML through with --no-strict, and only the unknown fields', async () => {
    const strict = captureContext();
    expect(await runValidate(['test/corpus/invalid/strict-deployment.yaml'], strict)).toBe(1);
    const loose = captureContext();
    expect(await runValidate(['--no-strict', 'test/corpus/invalid/strict-deployment.yaml'], loose)).toBe(0);
    const rbac = captureContext();
    expect(await runValidate(['--no-strict', 'test/corpus/invalid/strict-rbac.yaml'], rbac)).toBe(1);
    expect(rbac.out.filter((line) => line.endsWith(']')).map((line) => line.slice(line.lastIndexOf('[')))).toEqual(['[schema]']);
  });

  it('exits 2 on usage errors', async () => {
    const none = captureContext();
    expect(await runValidate([], none)).toBe(2);
    expect(none.err[0]).toBe('validate: no PATH given');
    const missing = captureContext();
    expect(await runValidate(['test/corpus/does-not-exist.yaml'], missing)).toBe(2);
    expect(missing.err[0]).toContain('no such file or directory');
    const flag = captureContext();
    expect(await runValidate(['--frobnicate', 'x.yaml'], flag)).toBe(2);
  });
});
