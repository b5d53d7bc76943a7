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
import type { AppChart } from '../../framework/app-chart.js';
import { SchemaRegistry } from '../../pipeline/schemas.js';
import { validateObjects } from '../../pipeline/validate.js';
import { renderScope } from '../helpers/render.js';

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

/** A driver `id` over an NFS default; its SOPS files are the app's own (AppChart.sopsFile). */
const driver = (chart: AppChart, id: string, props: Partial<DemocraticCsiDriverProps> = {}) =>
  new DemocraticCsiDriver(chart, id, { namespace: 'storage', csiDriverName: `org.example.${id}`, config: NFS, ...props });

/** Renders drivers (id -> props) as app `storage` of cluster `lab`. */
const build = (drivers: Record<string, Partial<DemocraticCsiDriverProps>>) =>
  renderScope((chart) => Object.entries(drivers).map(([id, props]) => driver(chart, id, props)), { app: 'storage' });

const one = (props: Partial<DemocraticCsiDriverProps> = {}) => build({ nfs: props });
const errorsOf = (props: Partial<DemocraticCsiDriverProps>) => one(props).messages;

describe('DemocraticCsiDriver', () => {
  it('pins the upstream chart and renders its values from the typed config', () => {
    const { app, built: drivers } = one();
    const chart = app.helmCharts[0];
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
      one({ config, iscsiadmHostPath }).app.helmCharts[0]?.valuesInline as {
        node: { driver: { extraEnv: unknown[] } };
        driver: { config: { driver: string } };
      };
    expect(values(ISCSI).node.driver.extraEnv).toEqual([{ name: 'ISCSIADM_HOST_PATH', value: iscsiadmHostPath }]);
    expect(values(ISCSI).driver.config.driver).toBe('freenas-iscsi');
    expect(values(NFS).node.driver.extraEnv).toEqual([]);
  });

  it('reads the whole driver config from one SOPS file holding driver-config-file.yaml', () => {
    expect(one().app.encryptedFiles.map(({ entry }) => entry)).toEqual([
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
    const [entry] = one().app.encryptedFiles.map(({ entry }) => entry);
    const example = entry?.example?.() as { metadata: { annotations: Record<string, string> }; stringData: Record<string, string> };
    expect(Object.keys(example.stringData)).toEqual(['driver-config-file.yaml']);
    expect(example.stringData['driver-config-file.yaml']).toContain('PLACEHOLDER-not-a-TrueNAS-API-key');
    expect(Object.values(example.metadata.annotations)).toHaveLength(1);
  });

  it('renders the CSIDriver and the classes, default annotation only when asked', () => {
    const {
      find,
      built: drivers,
      problems,
    } = one({
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
    expect(problems).toEqual([]);
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
    const chap = renderScope(
      (chart) =>
        driver(chart, 'iscsi', {
          config: {
            ...ISCSI,
            iscsi: { ...ISCSI.iscsi, targetGroups: [{ portalGroup: 1, initiatorGroup: 1, authType: 'CHAP', authGroup: 1 }] },
          },
          storageClasses: [
            {
              name: 'iscsi',
              fsType: 'xfs',
              secrets: { 'node-stage': new SopsSecret(chart, 'chap', { name: 'chap', namespace: 'storage' }) },
            },
          ],
        }),
      { app: 'storage' },
    );
    expect(chap.problems).toEqual([]);
    expect(chap.app.encryptedFiles.map(({ entry }) => entry.source)).toContain('secrets/lab/storage/chap.sops.yaml');
    expect(chap.find('StorageClass', 'iscsi')?.parameters).toEqual({
      fsType: 'xfs',
      'csi.storage.k8s.io/node-stage-secret-name': 'chap',
      'csi.storage.k8s.io/node-stage-secret-namespace': 'storage',
    });
  });

  it('renders only schema-valid objects', async () => {
    const { app, problems } = renderScope(
      (chart) => {
        new CsiNamespace(chart, 'namespace', { name: 'storage' });
        driver(chart, 'iscsi', {
          config: ISCSI,
          storageClasses: [{ name: 'iscsi', fsType: 'xfs', default: true }],
          snapshotClasses: [{ name: 'iscsi', deletionPolicy: 'Delete' }],
        });
      },
      { app: 'storage' },
    );
    expect(problems).toEqual([]);
    expect(app.objects.map((o) => o.manifest.kind).sort()).toEqual(['CSIDriver', 'Namespace', 'StorageClass', 'VolumeSnapshotClass']);
    const result = await validateObjects(app.objects, { registry: new SchemaRegistry(registeredKinds) });
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
    const { problems } = build({
      nfs: {},
      fast: { config: { ...NFS, datasets: { volumes: 'tank/k8s/nfs/volumes/fast', snapshots: 'fast/snaps' } } },
    });
    // Only the second driver is refused, naming the first.
    expect(problems).toEqual([
      'lab/storage/fast: dataset "tank/k8s/nfs/volumes/fast" overlaps "tank/k8s/nfs/volumes" of driver lab/storage/nfs on the same NAS: each driver needs datasets of its own',
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
    // Both files default to the app's own (AppChart.sopsFile): no path is given.
    const { built, find, problems } = build({ iscsi: { config, storageClasses: [{ name: 'iscsi', fsType: 'ext4' }] } });
    const [iscsi] = built;
    expect(problems).toEqual([]);
    expect(iscsi?.configSecret.file).toBe('secrets/lab/storage/iscsi-driver-config.sops.yaml');
    expect([iscsi?.chapSecret?.file, iscsi?.chapSecret?.secretName, iscsi?.chapSecret?.keys]).toEqual([
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
    expect(build({ iscsi: { config: ISCSI } }).built[0]?.chapSecret).toBeUndefined();
  });
});

describe('SnapshotController', () => {
  const render = (props: ConstructorParameters<typeof SnapshotController>[2] = {}) => {
    const {
      built: controller,
      app,
      messages,
    } = renderScope((chart) => new SnapshotController(chart, 'snapshots', props), {
      app: 'snapshots',
    });
    return { controller, app, errors: messages };
  };

  it('installs the snapshot CRDs and controller of one upstream release, running that release', () => {
    const { app, errors } = render();
    const base = `https://raw.githubusercontent.com/kubernetes-csi/external-snapshotter/${EXTERNAL_SNAPSHOTTER_VERSION}`;
    expect(app.resources).toEqual([
      `${base}/client/config/crd/snapshot.storage.k8s.io_volumesnapshotclasses.yaml`,
      `${base}/client/config/crd/snapshot.storage.k8s.io_volumesnapshotcontents.yaml`,
      `${base}/client/config/crd/snapshot.storage.k8s.io_volumesnapshots.yaml`,
      `${base}/deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml`,
      `${base}/deploy/kubernetes/snapshot-controller/setup-snapshot-controller.yaml`,
    ]);
    expect(app.crds.flatMap(({ crds }) => crds.kinds)).toEqual([...SNAPSHOT_CRDS[0].kinds]);
    expect(JSON.stringify(app.patches)).toContain(`registry.k8s.io/sig-storage/snapshot-controller:${EXTERNAL_SNAPSHOTTER_VERSION}`);
    expect(errors).toEqual([]);
  });

  it('refuses a floating release', () => {
    expect(render({ version: 'master' }).errors).toContain(
      'external-snapshotter version "master" is not an exact release (expected e.g. 1.2.3 or v1.2.3; no ranges, "latest", branches or HEAD)',
    );
  });
});
