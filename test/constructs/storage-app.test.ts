// The democratic-csi app rendered through the real pipeline (synth into a temporary project with
// the default cluster's inventory), and the CLI that writes its driver config files.
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decryptSops } from 'sops-age';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main as driverConfigCli } from '../../cli/driver-config.js';
import { DRIVER_CONFIG_KEY, PLACEHOLDER_CREDENTIALS } from '../../constructs/storage/driver-config.js';
import { runSynth, runValidate } from '../../pipeline/commands.js';
import { captureContext, projectRoot } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const EXAMPLE_KEYS = join(projectRoot, 'test/fixtures/sops/example-age-keys.txt');
const API_KEY = '7-TESTONLYapikeyQ3xZ9vWm2Lr8Kp5Hd1Fs6Tc4Yb0Ng';
const SSH_MARKER = 'TESTONLYsshprivatekeybodyb3BlbnNzaC1rZXktdjEAAAAA';
const SSH_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${SSH_MARKER}\n-----END OPENSSH PRIVATE KEY-----\n`;
const APP_DIR = 'dist/k8s-235/democratic-csi';

const composition = `import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { parseInventory } from '${PROJECT}inventory/schema.ts';
import { democraticCsiApp } from '${PROJECT}apps/democratic-csi.ts';
export default defineCluster({
  parseInventory: (data) => parseInventory(data, 'k8s-235'),
  apps: () => [democraticCsiApp],
  // No policies listed: the storage checks come with the driver construct.
});
`;

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});
const savedKeyFile = process.env.SOPS_AGE_KEY_FILE;
afterEach(() => {
  if (savedKeyFile === undefined) delete process.env.SOPS_AGE_KEY_FILE;
  else process.env.SOPS_AGE_KEY_FILE = savedKeyFile;
});

/** A project with the default cluster's inventory and only this app; the shipped driver config files unless told otherwise. */
function project(options: { shippedSecrets: boolean }): string {
  const root = makeProject({
    'inventory/k8s-235.json': readFileSync(join(projectRoot, 'inventory/k8s-235.json'), 'utf8'),
    'apps/k8s-235.ts': composition,
    '.sops.yaml': readFileSync(join(projectRoot, '.sops.yaml'), 'utf8'),
    'api-key.txt': `${API_KEY}\n`,
    id_ed25519: SSH_KEY,
  });
  roots.push(root);
  if (options.shippedSecrets) {
    cpSync(join(projectRoot, 'secrets/k8s-235/democratic-csi'), join(root, 'secrets/k8s-235/democratic-csi'), { recursive: true });
  }
  return root;
}

async function synth(root: string) {
  const context = captureContext();
  const code = await runSynth(['--root', root, '--out', join(root, 'dist')], context);
  return { code, err: context.err };
}

async function cli(root: string, ...argv: string[]) {
  const lines: string[] = [];
  const code = await driverConfigCli(['--root', root, '--cluster', 'k8s-235', ...argv], {
    cwd: root,
    io: { out: (line) => lines.push(line), err: (line) => lines.push(line) },
  });
  return { code, lines };
}

function distFiles(root: string): Record<string, string> {
  const dir = join(root, APP_DIR);
  return Object.fromEntries(readdirSync(dir).map((file) => [file, readFileSync(join(dir, file), 'utf8')]));
}

describe('the democratic-csi app of the default cluster', () => {
  it('renders the three classes exactly as the facts list them, the snapshot CRDs and controller, and passes validate', async () => {
    const root = project({ shippedSecrets: true });
    const { code, err } = await synth(root);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const files = distFiles(root);
    const storageClass = (name: string) => parse(files[`storageclass-${name}.yaml`] ?? '');
    const facts = [
      ['freenas-nfs-csi', 'org.democratic-csi.nfs', 'nfs', ['noatime', 'nfsvers=3']],
      ['freenas-iscsi-csi', 'org.democratic-csi.iscsi', 'xfs', undefined],
      ['truenas-nfs-spitfire-fast', 'org.democratic-csi.nfs-spitfire-fast', 'nfs', ['noatime', 'nfsvers=3']],
    ] as const;
    for (const [name, provisioner, fsType, mountOptions] of facts) {
      const rendered = storageClass(name);
      expect(rendered).toMatchObject({
        provisioner,
        parameters: { fsType },
        reclaimPolicy: 'Retain',
        volumeBindingMode: 'Immediate',
        allowVolumeExpansion: true,
      });
      expect(rendered.mountOptions).toEqual(mountOptions);
      expect(rendered.metadata.annotations).toBeUndefined();
      expect(parse(files[`csidriver-${provisioner}.yaml`] ?? '').metadata.name).toBe(provisioner);
    }
    const kustomization = parse(files['kustomization.yaml'] ?? '');
    expect(
      kustomization.helmCharts.map((chart: { releaseName: string; version: string }) => `${chart.releaseName}@${chart.version}`),
    ).toEqual(['nfs@0.15.1', 'iscsi@0.15.1', 'nfs-spitfire-fast@0.15.1']);
    expect(kustomization.resources.filter((resource: string) => resource.startsWith('https://'))).toHaveLength(5);
    const iscsi = kustomization.helmCharts[1].valuesInline;
    expect(iscsi.node.driver.extraEnv).toEqual([{ name: 'ISCSIADM_HOST_PATH', value: '/run/current-system/sw/bin/iscsiadm' }]);
    // The VolumeSnapshotClasses arrive with their CRDs, in the same sync.
    expect(files['volumesnapshotclass-freenas-iscsi-csi.yaml']).toContain('SkipDryRunOnMissingResource=true');
    expect(Object.keys(files).filter((file) => file.endsWith('.sops.yaml'))).toEqual([
      'secret-iscsi-driver-config.sops.yaml',
      'secret-nfs-driver-config.sops.yaml',
      'secret-nfs-spitfire-fast-driver-config.sops.yaml',
    ]);

    const context = captureContext({ cwd: root });
    expect(await runValidate([APP_DIR], context)).toBe(0);
    expect(context.out.at(-1)).toMatch(/all valid$/);
  });

  it('fails synth with the construct path when the inventory breaks a driver rule, writing nothing', async () => {
    const root = project({ shippedSecrets: true });
    const inventoryFile = join(root, 'inventory/k8s-235.json');
    const broken = readFileSync(inventoryFile, 'utf8')
      .replace('"spitfire/iscsi235"', '"spitfire/k8s-235/iscsi"')
      .replace('"fsType": "xfs"', '"fsType": "ext4"')
      .replace(
        '"name": "truenas-nfs-spitfire-fast",\n            "fsType": "nfs"',
        '"name": "truenas-nfs-spitfire-fast",\n            "fsType": "xfs"',
      );
    writeFileSync(inventoryFile, broken);
    const { code, err } = await synth(root);
    expect(code).toBe(1);
    expect(err.filter((line) => line.endsWith('[construct]'))).toEqual([
      'k8s-235/democratic-csi/iscsi: driver config: zvol names would be 68 characters ("zvol/spitfire/k8s-235/iscsi/pvc-<uuid>"), over the driver\'s limit of 63: shorten datasets.volumes "spitfire/k8s-235/iscsi" (22 characters) to at most 17 [construct]',
      'k8s-235/democratic-csi/nfs-spitfire-fast: StorageClass "truenas-nfs-spitfire-fast": fsType "xfs" does not work with freenas-nfs, which serves NFS shares; use "nfs" [construct]',
    ]);
    expect(existsSync(join(root, 'dist'))).toBe(false);
  });

  it('makes an app claiming a class of democratic-csi depend on it, through synth', async () => {
    const withClaim = (dependsOn: string) => `import { k8s } from 'cdk8s-plus-28';
import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { parseInventory } from '${PROJECT}inventory/schema.ts';
import { democraticCsiApp } from '${PROJECT}apps/democratic-csi.ts';
const web = { name: 'web', namespace: 'web', dependsOn: ${dependsOn}, build(chart) {
  new k8s.KubeNamespace(chart, 'ns', { metadata: { name: 'web' } });
  new k8s.KubePersistentVolumeClaim(chart, 'data', { metadata: { name: 'data' }, spec: {
    storageClassName: 'freenas-iscsi-csi', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: k8s.Quantity.fromString('1Gi') } } } });
} };
export default defineCluster({
  parseInventory: (data) => parseInventory(data, 'k8s-235'),
  apps: () => [democraticCsiApp, web],
});
`;
    const root = project({ shippedSecrets: true });
    writeFileSync(join(root, 'apps/k8s-235.ts'), withClaim('[]'));
    const unordered = await synth(root);
    expect(unordered.code).toBe(1);
    expect(unordered.err.filter((line) => line.endsWith('[policy.storage.order]'))).toEqual([
      'k8s-235/web/data: PersistentVolumeClaim web/data: app "web" uses StorageClass "freenas-iscsi-csi", which app "democratic-csi" creates; add "democratic-csi" to the dependsOn of "web" so that the class exists before it is used [policy.storage.order]',
    ]);
    // A fresh project: the composition module of the first one stays in the import cache.
    const orderedRoot = project({ shippedSecrets: true });
    writeFileSync(join(orderedRoot, 'apps/k8s-235.ts'), withClaim("['democratic-csi']"));
    const ordered = await synth(orderedRoot);
    expect(ordered.err).toEqual([]);
    expect(ordered.code).toBe(0);
  });

  it('asks for the CHAP credentials file once a target group uses CHAP', async () => {
    const root = project({ shippedSecrets: true });
    const inventoryFile = join(root, 'inventory/k8s-235.json');
    writeFileSync(inventoryFile, readFileSync(inventoryFile, 'utf8').replace('"authType": "None"', '"authType": "CHAP", "authGroup": 1'));
    const { code, err } = await synth(root);
    expect(code).toBe(1);
    expect(err).toContain(
      'k8s-235/democratic-csi/iscsi/chap (secrets/k8s-235/democratic-csi/iscsi-chap.sops.yaml): Secret democratic-csi/iscsi-chap: the SOPS file does not exist [sops.file]',
    );
  });

  it('ships driver config files holding only placeholders that fail closed', async () => {
    process.env.SOPS_AGE_KEY_FILE = EXAMPLE_KEYS;
    const text = readFileSync(join(projectRoot, 'secrets/k8s-235/democratic-csi/iscsi-driver-config.sops.yaml'), 'utf8');
    const secret = (await decryptSops(text, { fileType: 'yaml' })) as { stringData: Record<string, string> };
    const config = parse(secret.stringData[DRIVER_CONFIG_KEY] ?? '');
    expect(config.httpConnection.apiKey).toBe(PLACEHOLDER_CREDENTIALS.apiKey);
    expect(config.sshConnection.privateKey).toBe(PLACEHOLDER_CREDENTIALS.sshPrivateKey);
    expect(config.zfs.datasetParentName).toBe('spitfire/iscsi235');
  });
});

describe('driver credentials', () => {
  it('reach dist only encrypted: neither the API key nor the SSH key appears in any rendered file', async () => {
    const root = project({ shippedSecrets: false });
    for (const driver of ['nfs', 'iscsi', 'nfs-spitfire-fast']) {
      const written = await cli(root, '--driver', driver, '--api-key-file', 'api-key.txt', '--ssh-key-file', 'id_ed25519');
      expect(written.lines.join('\n')).toMatch(/^wrote secrets\/k8s-235\/democratic-csi\//);
      expect(written.code).toBe(0);
    }
    const { code, err } = await synth(root);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const everything = Object.values(distFiles(root)).join('\n');
    expect(everything).toContain('ENC[AES256_GCM');
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain(SSH_MARKER);
    expect(everything).not.toContain('PRIVATE KEY');
    // The files do hold them, for the key holders.
    process.env.SOPS_AGE_KEY_FILE = EXAMPLE_KEYS;
    const secret = (await decryptSops(readFileSync(join(root, APP_DIR, 'secret-nfs-driver-config.sops.yaml'), 'utf8'), {
      fileType: 'yaml',
    })) as { stringData: Record<string, string> };
    expect(secret.stringData[DRIVER_CONFIG_KEY]).toContain(API_KEY);
    expect(secret.stringData[DRIVER_CONFIG_KEY]).toContain(SSH_MARKER);
  });
});

describe('the driver config CLI', () => {
  it('makes synth fail, naming the file and the command, once the typed config changes; --keep-credentials fixes it', async () => {
    const root = project({ shippedSecrets: false });
    for (const driver of ['nfs', 'iscsi', 'nfs-spitfire-fast']) {
      expect((await cli(root, '--driver', driver, '--api-key-file', 'api-key.txt', '--ssh-key-file', 'id_ed25519')).code).toBe(0);
    }
    const inventoryFile = join(root, 'inventory/k8s-235.json');
    writeFileSync(
      inventoryFile,
      readFileSync(inventoryFile, 'utf8').replace('"spitfire/k8s-235/volumes"', '"spitfire/k8s-235/nfs-volumes"'),
    );

    const stale = await synth(root);
    expect(stale.code).toBe(1);
    expect(stale.err).toContain(
      'k8s-235/democratic-csi/nfs/driver-config (secrets/k8s-235/democratic-csi/nfs-driver-config.sops.yaml): Secret democratic-csi/nfs-driver-config: ' +
        `secrets/k8s-235/democratic-csi/nfs-driver-config.sops.yaml holds a driver config made from other settings than the typed config of k8s-235/democratic-csi/nfs/csi-driver now has (${stale.err
          .join('')
          .match(/\(sha256 [0-9a-f]{12}\.\.\., expected [0-9a-f]{12}\.\.\.\)/)?.[0]
          .slice(1, -1)}): ` +
        'regenerate it with "npm run driver-config -- --cluster k8s-235 --driver org.democratic-csi.nfs --keep-credentials --force" [policy.storage.driver-config]',
    );
    expect(existsSync(join(root, 'dist'))).toBe(false);
    expect((await cli(root, '--list')).lines).toContain(
      'nfs (org.democratic-csi.nfs, freenas-nfs): secrets/k8s-235/democratic-csi/nfs-driver-config.sops.yaml: STALE: regenerate',
    );

    const refused = await cli(root, '--driver', 'org.democratic-csi.nfs', '--keep-credentials');
    expect(refused.code).toBe(1);
    expect(refused.lines[0]).toContain('exists; pass --force');

    process.env.SOPS_AGE_KEY_FILE = EXAMPLE_KEYS;
    expect((await cli(root, '--driver', 'org.democratic-csi.nfs', '--keep-credentials', '--force')).code).toBe(0);
    expect((await synth(root)).code).toBe(0);
    const secret = (await decryptSops(readFileSync(join(root, 'secrets/k8s-235/democratic-csi/nfs-driver-config.sops.yaml'), 'utf8'), {
      fileType: 'yaml',
    })) as { stringData: Record<string, string> };
    const config = parse(secret.stringData[DRIVER_CONFIG_KEY] ?? '');
    expect(config.zfs.datasetParentName).toBe('spitfire/k8s-235/nfs-volumes');
    expect(config.httpConnection.apiKey).toBe(API_KEY);
    expect(config.sshConnection.privateKey).toBe(SSH_KEY);
  });

  it('refuses credentials that cannot work, and unknown drivers', async () => {
    const root = project({ shippedSecrets: false });
    writeFileSync(join(root, 'id_ed25519.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOnly operator@example.org\n');
    const publicKey = await cli(root, '--driver', 'nfs', '--api-key-file', 'api-key.txt', '--ssh-key-file', 'id_ed25519.pub');
    expect(publicKey).toEqual({
      code: 1,
      lines: ['error: the SSH key is a public key: give the private key whose public half TrueNAS authorizes'],
    });
    const noSshKey = await cli(root, '--driver', 'iscsi', '--api-key-file', 'api-key.txt');
    expect(noSshKey.lines).toEqual([
      'error: freenas-iscsi logs in over SSH: --ssh-key-file must be a private key (-----BEGIN ... PRIVATE KEY-----)',
    ]);
    const unknown = await cli(root, '--driver', 'ceph', '--placeholder');
    expect(unknown.lines).toEqual([
      'error: cluster k8s-235 has no democratic-csi driver "ceph" (drivers: nfs (org.democratic-csi.nfs), iscsi (org.democratic-csi.iscsi), nfs-spitfire-fast (org.democratic-csi.nfs-spitfire-fast))',
    ]);
    expect((await cli(root, '--driver', 'nfs')).code).toBe(2);
    expect(existsSync(join(root, 'secrets'))).toBe(false);
  });
});
