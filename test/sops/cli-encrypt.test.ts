import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptSops } from 'sops-age';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../cli/encrypt.js';
import { chooseSopsWriter, IN_PROCESS_WRITER } from '../../pipeline/sops/writer.js';
import { type ExampleKey, loadExampleKeys, REPO_ROOT, referenceDecrypt } from './helpers.js';

const PLAIN = `apiVersion: v1
kind: Secret
metadata:
  name: demo
  namespace: demo
type: Opaque
stringData:
  password: example-password
`;

let keys: Record<'operator' | 'argocd', ExampleKey>;
let dir: string;
let logs: string[];

beforeAll(async () => {
  keys = await loadExampleKeys();
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sops-cli-'));
  logs = [];
  writeFileSync(
    join(dir, '.sops.yaml'),
    `creation_rules:
  - path_regex: ^secrets/pgp/
    pgp: 85D77543B3D624B63CEA9E6DBC17301B491B3F21
    age: ${keys.operator.publicKey}
  - path_regex: ^secrets/.*\\.ya?ml$
    encrypted_regex: ^(data|stringData)$
    age: ${keys.operator.publicKey},${keys.argocd.publicKey}
`,
  );
  writeFileSync(join(dir, 'plain.yaml'), PLAIN);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const run = (...args: string[]) =>
  main(args, {
    cwd: dir,
    io: { out: (line) => logs.push(line), err: (line) => logs.push(line) },
    now: new Date('2025-05-05T05:05:05Z'),
    writer: IN_PROCESS_WRITER,
  });

describe('cli-encrypt', () => {
  it('encrypts for the recipients of the rule matching the output path', async () => {
    expect(await run('plain.yaml', 'secrets/demo/demo.sops.yaml')).toBe(0);
    const text = readFileSync(join(dir, 'secrets/demo/demo.sops.yaml'), 'utf8');
    const sops = (parse(text) as { sops: { age: Array<{ recipient: string }>; encrypted_regex: string; lastmodified: string } }).sops;
    expect(sops.age.map((entry) => entry.recipient)).toEqual([keys.operator.publicKey, keys.argocd.publicKey]);
    expect(sops.encrypted_regex).toBe('^(data|stringData)$');
    expect(sops.lastmodified).toBe('2025-05-05T05:05:05Z');
    const expected = parse(PLAIN);
    expect(await decryptSops(text, { secretKey: keys.argocd.secretKey, fileType: 'yaml' })).toEqual(expected);
    expect((await referenceDecrypt(text, keys.operator.secretKey)).data).toEqual(expected);
    expect(logs.join('\n')).toMatch(/creation rule #2/);
  });

  it('refuses to overwrite an existing file unless --force is given', async () => {
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets/x.sops.yaml'), 'keep me\n');
    expect(await run('plain.yaml', 'secrets/x.sops.yaml')).toBe(1);
    expect(readFileSync(join(dir, 'secrets/x.sops.yaml'), 'utf8')).toBe('keep me\n');
    expect(logs.join('\n')).toMatch(/refusing to overwrite/);
    expect(await run('--force', 'plain.yaml', 'secrets/x.sops.yaml')).toBe(0);
    expect(readFileSync(join(dir, 'secrets/x.sops.yaml'), 'utf8')).toContain('ENC[AES256_GCM');
  });

  it('fails when no creation rule matches the output path', async () => {
    expect(await run('plain.yaml', 'elsewhere/x.yaml')).toBe(1);
    expect(logs.join('\n')).toMatch(/no creation rule .* matches elsewhere\/x\.yaml/);
    expect(existsSync(join(dir, 'elsewhere/x.yaml'))).toBe(false);
  });

  it('refuses rules that also need keys it cannot use (PGP)', async () => {
    expect(await run('plain.yaml', 'secrets/pgp/x.yaml')).toBe(1);
    expect(logs.join('\n')).toMatch(/pgp keys; the in-process writer handles age only: install sops/);
  });

  it('refuses a plaintext that is already encrypted, and a missing input', async () => {
    expect(await run('plain.yaml', 'secrets/a.yaml')).toBe(0);
    expect(await run('secrets/a.yaml', 'secrets/b.yaml')).toBe(1);
    expect(logs.join('\n')).toMatch(/already/);
    expect(await run('missing.yaml', 'secrets/c.yaml')).toBe(1);
  });

  it('reports a malformed .sops.yaml and usage errors', async () => {
    writeFileSync(join(dir, '.sops.yaml'), 'creation_rules: nope\n');
    expect(await run('plain.yaml', 'secrets/a.yaml')).toBe(1);
    expect(logs.join('\n')).toMatch(/creation_rules must be a list/);
    expect(await run('only-one-arg.yaml')).toBe(2);
    expect(await run('--bogus', 'a', 'b')).toBe(2);
  });

  it('runs as a script with node --import tsx', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'cli/encrypt.ts', '--config', join(dir, '.sops.yaml'), join(dir, 'plain.yaml'), join(dir, 'secrets/s.sops.yaml')],
      { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, SOPS_BINARY: '' } },
    );
    expect(result.stderr).toMatch(/encrypted .* with the in-process writer/);
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'secrets/s.sops.yaml'), 'utf8')).toContain('encrypted_regex: ^(data|stringData)$');
  });
});

describe('the sops binary behind the writer seam', () => {
  // A stand-in for sops on PATH: answers --version like sops 3.11 and records how it is called.
  const fakeSops = (version: string) => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'sops'),
      `#!/bin/sh
if [ "$1" = "--version" ]; then echo "sops ${version}"; exit 0; fi
printf '%s\\n' "$@" > "${dir}/sops-args"
cat > "${dir}/sops-stdin"
echo "sops: encrypted output"
`,
      { mode: 0o755 },
    );
    return bin;
  };

  it('encrypts with sops when it is on PATH, the plaintext on stdin and the rule file named', () => {
    const bin = fakeSops('3.11.0');
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'cli/encrypt.ts', '--config', join(dir, '.sops.yaml'), join(dir, 'plain.yaml'), join(dir, 'secrets/s.sops.yaml')],
      { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } },
    );
    expect(result.stderr).toMatch(/encrypted .* with sops 3\.11\.0 \(sops\)/);
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'sops-args'), 'utf8').split('\n').filter(Boolean)).toEqual([
      'encrypt',
      '--config',
      join(dir, '.sops.yaml'),
      '--filename-override',
      join(dir, 'secrets/s.sops.yaml'),
      '--input-type',
      'yaml',
      '--output-type',
      'yaml',
    ]);
    expect(readFileSync(join(dir, 'sops-stdin'), 'utf8')).toBe(PLAIN);
    expect(readFileSync(join(dir, 'secrets/s.sops.yaml'), 'utf8')).toBe('sops: encrypted output\n');
  });

  it('keeps the in-process writer for a sops too old to read stdin, and refuses a SOPS_BINARY that is no usable sops', () => {
    expect(chooseSopsWriter({ PATH: fakeSops('3.9.0') }).description).toBe('sops 3.9.0 (sops)');
    const bin = fakeSops('3.8.1');
    expect(chooseSopsWriter({ PATH: bin }).description).toMatch(/^the in-process writer/);
    expect(() => chooseSopsWriter({ SOPS_BINARY: join(bin, 'sops') })).toThrow(/is sops 3\.8\.1; 3\.9\.0 or newer is needed/);
    expect(() => chooseSopsWriter({ SOPS_BINARY: '/bin/true' })).toThrow('SOPS_BINARY=/bin/true is not a sops binary');
    expect(chooseSopsWriter({ SOPS_BINARY: '' })).toBe(IN_PROCESS_WRITER);
  });
});

describe('runtime', () => {
  it('runs on Node 20 or newer', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(20);
  });

  it('loads age-encryption and sops-age as native ESM in plain node (no bundler, no tsx)', () => {
    const script = `
      import * as age from 'age-encryption';
      import { decryptSops } from 'sops-age';
      const identity = await age.generateX25519Identity();
      const recipient = await age.identityToRecipient(identity);
      const e = new age.Encrypter();
      e.addRecipient(recipient);
      const d = new age.Decrypter();
      d.addIdentity(identity);
      const plain = await d.decrypt(await e.encrypt('hello'), 'text');
      console.log(JSON.stringify({ node: process.versions.node, plain, decryptSops: typeof decryptSops }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
    const result = JSON.parse(out) as { node: string; plain: string; decryptSops: string };
    expect(result).toEqual({ node: process.versions.node, plain: 'hello', decryptSops: 'function' });
  });
});
