import { App, Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registeredKinds } from '../../constructs/kinds.js';
import { SopsSecret } from '../../constructs/secrets/sops-secret.js';
import {
  DEMOCRATIC_CSI_CHART_REPO,
  DEMOCRATIC_CSI_CHART_VERSION,
  DEMOCRATIC_CSI_IMAGE_TAG,
  DEMOCRATIC_CSI_RESOURCES,
  DemocraticCsiDriver,
  type DemocraticCsiDriverProps,
} from '../../constructs/storage/democratic-csi.js';
import {
  DRIVER_CONFIG_DIGEST_ANNOTATION,
  type DriverCredentials,
  driverConfigDigest,
  driverConfigDocument,
  driverConfigSecret,
  type IscsiDriverConfig,
  type NfsDriverConfig,
} from '../../constructs/storage/driver-config.js';
import { CsiNamespace } from '../../constructs/storage/namespace.js';
import { EXTERNAL_SNAPSHOTTER_VERSION, SNAPSHOT_CRDS, SnapshotController } from '../../constructs/storage/snapshot-controller.js';
import { KUSTOMIZE_CONTRIBUTION, type KustomizeEntries } from '../../framework/contributions.js';
import { SchemaRegistry } from '../../pipeline/schemas.js';
import { validateObjects } from '../../pipeline/validate.js';

const NFS: NfsDriverConfig = {
  driver: 'freenas-nfs',
  truenas: { host: 'nas.example.org' },
  datasets: { volumes: 'tank/k8s/nfs/volumes', snapshots: 'tank/k8s/nfs/snapshots' },
  nfs: { shareHost: 'nas.storage.example.org' },
};

const ISCSI: IscsiDriverConfig = {
  driver: 'freenas-iscsi',
  truenas: { host: 'nas.example.org' },
  datasets: { volumes: 'tank/iscsi', snapshots: 'tank/k8s/iscsi-snapshots' },
  iscsi: {
    portal: 'nas.storage.example.org:3260',
    namePrefix: 'csi-',
    nameSuffix: '-lab',
    targetGroups: [{ portalGroup: 1, initiatorGroup: 1 }],
    zvol: { blocksize: '16K' },
    extent: { blocksize: 4096 },
  },
};

const CREDENTIALS: DriverCredentials = {
  apiKey: '1-example-api-key',
  sshPrivateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nexample\n-----END OPENSSH PRIVATE KEY-----\n',
};

type Manifest = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; [key: string]: unknown };

/** Builds drivers (id -> props over an NFS default) in one chart, as one app of a cluster would. */
function build(drivers: Record<string, Partial<DemocraticCsiDriverProps>>) {
  const chart = new Chart(new App(), 'lab', { disableResourceNameHashes: true });
  const built = Object.entries(drivers).map(
    ([id, props]) =>
      new DemocraticCsiDriver(chart, id, {
        namespace: 'storage',
        csiDriverName: `org.example.${id}`,
        config: NFS,
        configFile: `secrets/lab/storage/${id}-driver-config.sops.yaml`,
        ...props,
      }),
  );
  const contributions = chart.node
    .findAll()
    .map((c) => (c as unknown as Record<symbol, (() => KustomizeEntries) | undefined>)[KUSTOMIZE_CONTRIBUTION]?.())
    .filter((entries): entries is KustomizeEntries => entries !== undefined);
  // Serializing validates the whole chart, so only tests of valid drivers look at the objects.
  const find = (kind: string, name: string) => (chart.toJson() as Manifest[]).find((o) => o.kind === kind && o.metadata.name === name);
  return { chart, drivers: built, contributions, find };
}

const one = (props: Partial<DemocraticCsiDriverProps> = {}) => build({ nfs: props });
const errorsOf = (props: Partial<DemocraticCsiDriverProps>) => one(props).drivers[0]?.node.validate() ?? [];

describe('DemocraticCsiDriver', () => {
  it('pins the upstream chart and renders its values from the typed config', () => {
    const { contributions, drivers } = one();
    const chart = contributions.flatMap((c) => c.helmCharts ?? [])[0];
    expect(chart).toMatchObject({
      name: 'democratic-csi',
      repo: DEMOCRATIC_CSI_CHART_REPO,
      version: DEMOCRATIC_CSI_CHART_VERSION,
      releaseName: 'nfs',
      namespace: 'storage',
    });
    const digest = drivers[0]?.configDigest;
    const sized = DEMOCRATIC_CSI_RESOURCES;
    expect(chart?.valuesInline).toEqual({
      csiDriver: { name: 'org.example.nfs', enabled: false },
      driver: { existingConfigSecret: 'nfs-driver-config', config: { driver: 'freenas-nfs' } },
      storageClasses: [],
      volumeSnapshotClasses: [],
      controller: {
        podAnnotations: { [DRIVER_CONFIG_DIGEST_ANNOTATION]: digest },
        driver: {
          image: { registry: 'ghcr.io/democratic-csi/democratic-csi', tag: DEMOCRATIC_CSI_IMAGE_TAG },
          resources: sized['controller.driver'],
        },
        externalAttacher: { resources: sized['controller.externalAttacher'] },
        externalProvisioner: { resources: sized['controller.externalProvisioner'] },
        externalResizer: { resources: sized['controller.externalResizer'] },
        externalSnapshotter: { resources: sized['controller.externalSnapshotter'] },
      },
      node: {
        podAnnotations: { [DRIVER_CONFIG_DIGEST_ANNOTATION]: digest },
        driver: {
          image: { registry: 'ghcr.io/democratic-csi/democratic-csi', tag: DEMOCRATIC_CSI_IMAGE_TAG },
          extraEnv: [],
          // NixOS has no /etc/localtime unless time.timeZone is set: nothing is mounted by default.
          localtimeHostPath: false,
          resources: sized['node.driver'],
        },
        driverRegistrar: { resources: sized['node.driverRegistrar'] },
        cleanup: { resources: sized['node.cleanup'] },
      },
      // The upstream chart sets no requests or limits: every container gets both.
      csiProxy: { resources: sized.csiProxy },
    });
    expect(JSON.stringify(chart?.valuesInline)).not.toContain('nas.example.org');
  });

  it('gives the node plugin of an iSCSI driver the host path of iscsiadm', () => {
    const iscsiadmHostPath = '/run/current-system/sw/bin/iscsiadm';
    const values = (config: typeof NFS | typeof ISCSI) =>
      one({ config, iscsiadmHostPath }).contributions.flatMap((c) => c.helmCharts ?? [])[0]?.valuesInline as {
        node: { driver: { extraEnv: unknown[] } };
        driver: { config: { driver: string } };
      };
    expect(values(ISCSI).node.driver.extraEnv).toEqual([{ name: 'ISCSIADM_HOST_PATH', value: iscsiadmHostPath }]);
    expect(values(ISCSI).driver.config.driver).toBe('freenas-iscsi');
    expect(values(NFS).node.driver.extraEnv).toEqual([]);
  });

  it('reads the whole driver config from one SOPS file holding driver-config-file.yaml', () => {
    expect(one().contributions.flatMap((c) => c.encryptedFiles ?? [])).toEqual([
      {
        source: 'secrets/lab/storage/nfs-driver-config.sops.yaml',
        kind: 'Secret',
        name: 'nfs-driver-config',
        namespace: 'storage',
        behavior: 'create',
        keys: ['driver-config-file.yaml'],
        example: expect.any(Function),
      },
    ]);
    // Its example for npm run new: the typed config with placeholder credentials, digest stamped.
    const [entry] = one().contributions.flatMap((c) => c.encryptedFiles ?? []);
    const example = entry?.example?.() as { metadata: { annotations: Record<string, string> }; stringData: Record<string, string> };
    expect(Object.keys(example.stringData)).toEqual(['driver-config-file.yaml']);
    expect(example.stringData['driver-config-file.yaml']).toContain('PLACEHOLDER-not-a-TrueNAS-API-key');
    expect(Object.values(example.metadata.annotations)).toHaveLength(1);
  });

  it('renders the CSIDriver and the classes, default annotation only when asked', () => {
    const nodeStage = (chart: Chart) =>
      new SopsSecret(chart, 'chap', { file: 'secrets/lab/storage/chap.sops.yaml', name: 'chap', namespace: 'storage' });
    const { find, drivers, chart } = one({
      storageClasses: [
        { name: 'nfs', mountOptions: ['noatime', 'nfsvers=3'] },
        {
          name: 'nfs-default',
          default: true,
          reclaimPolicy: 'Delete',
          volumeBindingMode: 'WaitForFirstConsumer',
          allowVolumeExpansion: false,
        },
      ],
      snapshotClasses: [
        { name: 'nfs', deletionPolicy: 'Retain' },
        { name: 'nfs-default', deletionPolicy: 'Delete', default: true, parameters: { detachedSnapshots: 'true' } },
      ],
    });
    expect(find('CSIDriver', 'org.example.nfs')).toEqual({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: {
        name: 'org.example.nfs',
        labels: { 'app.kubernetes.io/name': 'democratic-csi', 'app.kubernetes.io/instance': 'nfs' },
        annotations: {
          [DRIVER_CONFIG_DIGEST_ANNOTATION]: drivers[0]?.configDigest,
          'storage.homelab-cdk8s.io/driver-config-secret': 'storage/nfs-driver-config',
        },
      },
      spec: { attachRequired: true, podInfoOnMount: true, fsGroupPolicy: 'File' },
    });
    expect(find('StorageClass', 'nfs')).toMatchObject({
      provisioner: 'org.example.nfs',
      parameters: { fsType: 'nfs' },
      reclaimPolicy: 'Retain',
      volumeBindingMode: 'Immediate',
      allowVolumeExpansion: true,
      mountOptions: ['noatime', 'nfsvers=3'],
    });
    expect(find('StorageClass', 'nfs')?.metadata.annotations).toBeUndefined();
    expect(find('StorageClass', 'nfs-default')).toMatchObject({
      metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: false,
    });
    expect(find('VolumeSnapshotClass', 'nfs')).toMatchObject({ driver: 'org.example.nfs', deletionPolicy: 'Retain' });
    expect(find('VolumeSnapshotClass', 'nfs')?.metadata.annotations).toBeUndefined();
    expect(find('VolumeSnapshotClass', 'nfs-default')).toMatchObject({
      metadata: { annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' } },
      parameters: { detachedSnapshots: 'true' },
    });

    // CHAP credentials reach the node plugin as the CSI node-stage secret parameters.
    const chap = build({
      iscsi: {
        config: {
          ...ISCSI,
          iscsi: { ...ISCSI.iscsi, targetGroups: [{ portalGroup: 1, initiatorGroup: 1, authType: 'CHAP', authGroup: 1 }] },
        },
        chapFile: 'secrets/lab/storage/iscsi-chap.sops.yaml',
        storageClasses: [{ name: 'iscsi', fsType: 'xfs', secrets: { 'node-stage': nodeStage(chart) } }],
      },
    });
    expect(chap.drivers[0]?.node.validate()).toEqual([]);
    expect(chap.find('StorageClass', 'iscsi')?.parameters).toEqual({
      fsType: 'xfs',
      'csi.storage.k8s.io/node-stage-secret-name': 'chap',
      'csi.storage.k8s.io/node-stage-secret-namespace': 'storage',
    });
  });

  it('renders only schema-valid objects', async () => {
    const chart = new Chart(new App(), 'lab', { disableResourceNameHashes: true });
    new CsiNamespace(chart, 'namespace', { name: 'storage' });
    new DemocraticCsiDriver(chart, 'iscsi', {
      namespace: 'storage',
      csiDriverName: 'org.example.iscsi',
      config: ISCSI,
      configFile: 'secrets/lab/storage/iscsi-driver-config.sops.yaml',
      storageClasses: [{ name: 'iscsi', fsType: 'xfs', default: true }],
      snapshotClasses: [{ name: 'iscsi', deletionPolicy: 'Delete' }],
    });
    const objects = (chart.toJson() as Record<string, unknown>[]).map((manifest) => ({ manifest, origin: { constructPath: 'lab' } }));
    expect(objects.map((o) => o.manifest.kind).sort()).toEqual(['CSIDriver', 'Namespace', 'StorageClass', 'VolumeSnapshotClass']);
    const result = await validateObjects(objects, { registry: new SchemaRegistry(registeredKinds) });
    expect(result.problems).toEqual([]);
  });
});

describe('the driver config', () => {
  it('is the democratic-csi config file, with the credentials only when given', () => {
    const withCredentials = driverConfigDocument(ISCSI, CREDENTIALS);
    expect(withCredentials).toMatchObject({
      driver: 'freenas-iscsi',
      httpConnection: { protocol: 'https', host: 'nas.example.org', port: 443, apiKey: CREDENTIALS.apiKey },
      sshConnection: { host: 'nas.example.org', port: 22, username: 'root', privateKey: CREDENTIALS.sshPrivateKey },
      zfs: { datasetParentName: 'tank/iscsi', detachedSnapshotsDatasetParentName: 'tank/k8s/iscsi-snapshots', zvolBlocksize: '16K' },
      iscsi: {
        targetPortal: 'nas.storage.example.org:3260',
        namePrefix: 'csi-',
        nameSuffix: '-lab',
        targetGroups: [{ targetGroupPortalGroup: 1, targetGroupInitiatorGroup: 1, targetGroupAuthType: 'None' }],
        extentBlocksize: 4096,
      },
    });
    const text = JSON.stringify(driverConfigDocument(ISCSI));
    expect(text).not.toContain('apiKey');
    expect(text).not.toContain('privateKey');
    const api = driverConfigDocument({ ...NFS, driver: 'freenas-api-nfs' }, { apiKey: 'k' });
    expect(api.sshConnection).toBeUndefined();
    expect(driverConfigDocument({ ...NFS, truenas: { host: 'nas', ssh: { username: 'csi' } } }).zfs).toMatchObject({
      cli: { sudoEnabled: true },
    });
  });

  it('has a digest that follows the typed config, not the credentials', () => {
    const secret = (credentials: DriverCredentials) =>
      driverConfigSecret({ name: 'nfs-driver-config', namespace: 'storage', config: NFS, credentials });
    const first = secret(CREDENTIALS);
    const second = secret({ apiKey: 'another-key', sshPrivateKey: CREDENTIALS.sshPrivateKey });
    const annotations = (s: Record<string, unknown>) => (s.metadata as { annotations: Record<string, string> }).annotations;
    expect(annotations(first)).toEqual(annotations(second));
    expect(annotations(first)[DRIVER_CONFIG_DIGEST_ANNOTATION]).toBe(driverConfigDigest(NFS));
    expect(driverConfigDigest({ ...NFS, datasets: { ...NFS.datasets, volumes: 'tank/other' } })).not.toBe(driverConfigDigest(NFS));
    // Key order in the typed config does not matter.
    expect(driverConfigDigest({ nfs: NFS.nfs, datasets: NFS.datasets, truenas: NFS.truenas, driver: 'freenas-nfs' })).toBe(
      driverConfigDigest(NFS),
    );
    const file = parse((first.stringData as Record<string, string>)['driver-config-file.yaml'] ?? '');
    expect(file.httpConnection.apiKey).toBe(CREDENTIALS.apiKey);
  });
});

describe('DemocraticCsiDriver validation', () => {
  it('fails when iSCSI zvol names would exceed 63 characters, saying how long the parent may be', () => {
    const config: IscsiDriverConfig = { ...ISCSI, datasets: { ...ISCSI.datasets, volumes: 'spitfire/k8s-235/volumes' } };
    expect(errorsOf({ config, storageClasses: [{ name: 'iscsi', fsType: 'xfs' }] })).toEqual([
      'driver config: zvol names would be 70 characters ("zvol/spitfire/k8s-235/volumes/pvc-<uuid>"), over the driver\'s limit of 63: shorten datasets.volumes "spitfire/k8s-235/volumes" (24 characters) to at most 17',
    ]);
    // A 17-character parent fits exactly; SCALE's larger limit can be declared.
    expect(errorsOf({ config: { ...ISCSI, datasets: { ...ISCSI.datasets, volumes: 'spitfire/iscsi235' } } })).toEqual([]);
    expect(errorsOf({ config: { ...config, iscsi: { ...config.iscsi, maxZvolNameLength: 255 } } })).toEqual([]);
  });

  it('fails when iSCSI target names would exceed TrueNAS limit', () => {
    const config: IscsiDriverConfig = { ...ISCSI, iscsi: { ...ISCSI.iscsi, nameSuffix: '-a-very-long-cluster-suffix' } };
    expect(errorsOf({ config })).toEqual([
      'driver config: iSCSI target names would be 71 characters ("csi-pvc-<uuid>-a-very-long-cluster-suffix"), over TrueNAS\'s limit of 64: shorten iscsi.namePrefix or iscsi.nameSuffix',
    ]);
  });

  it('fails on an fsType the driver cannot serve', () => {
    expect(errorsOf({ storageClasses: [{ name: 'nfs', fsType: 'xfs' }] })).toEqual([
      'StorageClass "nfs": fsType "xfs" does not work with freenas-nfs, which serves NFS shares; use "nfs"',
    ]);
    expect(errorsOf({ config: ISCSI, storageClasses: [{ name: 'iscsi', fsType: 'nfs' }] })).toEqual([
      'StorageClass "iscsi": fsType "nfs" does not work with freenas-iscsi, which serves block devices; use ext4, ext3, xfs',
    ]);
  });

  it('fails on NFS mount options in an iSCSI class, and keeps them on NFS classes', () => {
    expect(
      errorsOf({ config: ISCSI, storageClasses: [{ name: 'iscsi', fsType: 'xfs', mountOptions: ['noatime', 'nfsvers=4.2', 'nolock'] }] }),
    ).toEqual([
      'StorageClass "iscsi": mount options "nfsvers=4.2", "nolock" are NFS options, but freenas-iscsi mounts xfs block devices, where mount fails on them; drop them or use xfs options',
    ]);
    expect(errorsOf({ storageClasses: [{ name: 'nfs', mountOptions: ['nfsvers=4.2', 'nolock', 'noatime'] }] })).toEqual([]);
  });

  it('fails when the snapshot dataset overlaps the volume dataset, or another driver uses the same datasets', () => {
    expect(errorsOf({ config: { ...NFS, datasets: { volumes: 'tank/k8s', snapshots: 'tank/k8s/snapshots' } } })).toEqual([
      'driver config: datasets.snapshots "tank/k8s/snapshots" overlaps datasets.volumes "tank/k8s": the driver needs two separate parents, neither inside the other',
    ]);
    const { drivers } = build({
      nfs: {},
      fast: { config: { ...NFS, datasets: { volumes: 'tank/k8s/nfs/volumes/fast', snapshots: 'fast/snaps' } } },
    });
    expect(drivers[0]?.node.validate()).toEqual([]);
    expect(drivers[1]?.node.validate()).toEqual([
      'dataset "tank/k8s/nfs/volumes/fast" overlaps "tank/k8s/nfs/volumes" of driver lab/nfs on the same NAS: each driver needs datasets of its own',
    ]);
  });

  it('fails on a CSI driver name Kubernetes or CSI refuse, and on a floating image tag', () => {
    expect(errorsOf({ csiDriverName: 'Org.Example/NFS' })).toEqual([
      'csiDriverName "Org.Example/NFS" is not a CSI driver name (at most 63 lowercase letters, digits, "-" and ".", e.g. org.democratic-csi.nfs)',
    ]);
    expect(errorsOf({ imageTag: 'latest' })).toEqual([
      'image "ghcr.io/democratic-csi/democratic-csi:latest" uses the floating tag "latest"; pin a release tag such as v1.9.4',
    ]);
  });

  it('names its SOPS files in the secrets folder: the config, and the CHAP credentials every class then logs in with', () => {
    const config: IscsiDriverConfig = {
      ...ISCSI,
      iscsi: { ...ISCSI.iscsi, targetGroups: [{ portalGroup: 1, initiatorGroup: 1, authType: 'CHAP', authGroup: 2 }] },
    };
    const { drivers, find } = build({
      iscsi: { config, chapFile: 'secrets/lab/storage/iscsi-chap.sops.yaml', storageClasses: [{ name: 'iscsi', fsType: 'ext4' }] },
    });
    const [driver] = drivers;
    expect(driver?.node.validate()).toEqual([]);
    expect(driver?.configSecret.file).toBe('secrets/lab/storage/iscsi-driver-config.sops.yaml');
    expect([driver?.chapSecret?.file, driver?.chapSecret?.secretName, driver?.chapSecret?.keys]).toEqual([
      'secrets/lab/storage/iscsi-chap.sops.yaml',
      'iscsi-chap',
      ['node-db.node.session.auth.authmethod', 'node-db.node.session.auth.username', 'node-db.node.session.auth.password'],
    ]);
    expect(find('StorageClass', 'iscsi')?.parameters).toEqual({
      fsType: 'ext4',
      'csi.storage.k8s.io/node-stage-secret-name': 'iscsi-chap',
      'csi.storage.k8s.io/node-stage-secret-namespace': 'storage',
    });
    // Without CHAP there is no credentials file to ask for.
    expect(build({ iscsi: { config: ISCSI } }).drivers[0]?.chapSecret).toBeUndefined();
  });
});

describe('SnapshotController', () => {
  function render(props: ConstructorParameters<typeof SnapshotController>[2] = {}) {
    const chart = new Chart(new App(), 'lab', { disableResourceNameHashes: true });
    const controller = new SnapshotController(chart, 'snapshots', props);
    const entries = chart.node
      .findAll()
      .map((c) => (c as unknown as Record<symbol, (() => KustomizeEntries) | undefined>)[KUSTOMIZE_CONTRIBUTION]?.())
      .filter((e): e is KustomizeEntries => e !== undefined);
    return { controller, entries, errors: chart.node.findAll().flatMap((c) => c.node.validate()) };
  }

  it('installs the snapshot CRDs and controller of one upstream release, running that release', () => {
    const { entries, errors } = render();
    const base = `https://raw.githubusercontent.com/kubernetes-csi/external-snapshotter/${EXTERNAL_SNAPSHOTTER_VERSION}`;
    expect(entries.flatMap((e) => e.resources ?? [])).toEqual([
      `${base}/client/config/crd/snapshot.storage.k8s.io_volumesnapshotclasses.yaml`,
      `${base}/client/config/crd/snapshot.storage.k8s.io_volumesnapshotcontents.yaml`,
      `${base}/client/config/crd/snapshot.storage.k8s.io_volumesnapshots.yaml`,
      `${base}/deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml`,
      `${base}/deploy/kubernetes/snapshot-controller/setup-snapshot-controller.yaml`,
    ]);
    expect(entries.flatMap((e) => e.crds ?? []).flatMap((c) => c.kinds)).toEqual([...SNAPSHOT_CRDS[0].kinds]);
    expect(JSON.stringify(entries.flatMap((e) => e.patches ?? []))).toContain(
      `registry.k8s.io/sig-storage/snapshot-controller:${EXTERNAL_SNAPSHOTTER_VERSION}`,
    );
    expect(errors).toEqual([]);
  });

  it('refuses a floating release', () => {
    expect(render({ version: 'master' }).errors).toContain(
      'external-snapshotter version "master" is not an exact release (expected e.g. 1.2.3 or v1.2.3; no ranges, "latest", branches or HEAD)',
    );
  });
});
