import { describe, expect, it } from 'vitest';
import { DRIVER_CONFIG_DIGEST_ANNOTATION, DRIVER_CONFIG_SECRET_ANNOTATION } from '../../constructs/storage/driver-config.js';
import { createStoragePolicy, storagePolicy } from '../../constructs/storage/policies.js';
import type { PolicyObject } from '../../framework/cluster.js';
import { formatProblem, type Manifest } from '../../framework/model.js';

const DIGEST = 'a'.repeat(64);
const object = (manifest: Manifest, constructPath: string, file?: string): PolicyObject => ({
  manifest,
  origin: { constructPath, ...(file ? { file } : {}) },
  app: constructPath.split('/')[1] ?? 'storage',
});

const csiDriver = (name: string, path: string, digest = DIGEST) =>
  object(
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: {
        name,
        annotations: { [DRIVER_CONFIG_DIGEST_ANNOTATION]: digest, [DRIVER_CONFIG_SECRET_ANNOTATION]: 'storage/nfs-driver-config' },
      },
      spec: {},
    },
    path,
  );

const storageClass = (name: string, isDefault = false) =>
  object(
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name, ...(isDefault ? { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } : {}) },
      provisioner: 'org.example.nfs',
    },
    `lab/storage/nfs/storage-class-${name}`,
  );

const configSecret = (stamp: string | undefined) =>
  object(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'nfs-driver-config',
        namespace: 'storage',
        ...(stamp ? { annotations: { [DRIVER_CONFIG_DIGEST_ANNOTATION]: stamp } } : {}),
      },
      stringData: { 'driver-config-file.yaml': 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]' },
    },
    'lab/storage/nfs/driver-config',
    'secrets/lab/storage/nfs-driver-config.sops.yaml',
  );

const claim = (name: string, storageClassName?: string) =>
  object(
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: 'web' },
      spec: { ...(storageClassName !== undefined ? { storageClassName } : {}), resources: { requests: { storage: '1Gi' } } },
    },
    `lab/web/${name}`,
  );

const base = [csiDriver('org.example.nfs', 'lab/storage/nfs/csi-driver'), storageClass('nfs'), configSecret(DIGEST)];
const messages = (objects: PolicyObject[], policy = storagePolicy) => policy.check(objects).map(formatProblem);

describe('the storage policy', () => {
  it('accepts claims of existing classes, claims of no class and claims of the default class', () => {
    expect(messages([...base, claim('data', 'nfs'), claim('static', ''), claim('default-class')])).toEqual([]);
  });

  it('fails when two drivers register the same CSI driver name', () => {
    expect(messages([...base, csiDriver('org.example.nfs', 'lab/other/nfs/csi-driver')])).toEqual([
      `lab/other/nfs/csi-driver: CSIDriver org.example.nfs: CSI driver name "org.example.nfs" is already registered by lab/storage/nfs/csi-driver: two drivers would claim each other's volumes; give each driver its own csiDriverName (and provisioner) [policy.storage.csi-driver]`,
    ]);
  });

  it('fails on a second default StorageClass', () => {
    expect(messages([...base, storageClass('fast', true), storageClass('slow', true)])).toEqual([
      'lab/storage/nfs/storage-class-slow: StorageClass slow: is a second default StorageClass (the first is fast at lab/storage/nfs/storage-class-fast); claims without a class would get either: keep the default annotation on one class only [policy.storage.default-class]',
    ]);
  });

  it('fails on a second default VolumeSnapshotClass of one driver', () => {
    const snapshotClass = (name: string, driver: string) =>
      object(
        {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshotClass',
          metadata: { name, annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' } },
          driver,
          deletionPolicy: 'Delete',
        },
        `lab/storage/${name}`,
      );
    expect(messages([...base, snapshotClass('a', 'org.example.nfs'), snapshotClass('b', 'org.example.iscsi')])).toEqual([]);
    expect(messages([...base, snapshotClass('a', 'org.example.nfs'), snapshotClass('c', 'org.example.nfs')])).toEqual([
      'lab/storage/c: VolumeSnapshotClass c: is a second default VolumeSnapshotClass for driver org.example.nfs (the first is a); the snapshot controller then refuses snapshots without a class: keep one default per driver [policy.storage.default-class]',
    ]);
  });

  it('fails on a VolumeSnapshot naming a VolumeSnapshotClass that does not exist', () => {
    const snapshotClass = object(
      {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotClass',
        metadata: { name: 'nfs' },
        driver: 'org.example.nfs',
        deletionPolicy: 'Delete',
      },
      'lab/storage/nfs/snapshot-class-nfs',
    );
    const snapshot = (name: string, volumeSnapshotClassName?: string) =>
      object(
        {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name, namespace: 'web' },
          spec: { ...(volumeSnapshotClassName ? { volumeSnapshotClassName } : {}), source: { persistentVolumeClaimName: 'data' } },
        },
        `lab/web/${name}`,
      );
    expect(messages([...base, snapshotClass, snapshot('named', 'nfs'), snapshot('default')])).toEqual([]);
    expect(messages([...base, snapshotClass, snapshot('typo', 'nfs-snap')])).toEqual([
      'lab/web/typo: VolumeSnapshot web/typo: spec.volumeSnapshotClassName names VolumeSnapshotClass "nfs-snap", which does not exist in the cluster (classes: nfs); the snapshot would never be taken: name one of them, or declare a class installed outside this composition in externalSnapshotClasses [policy.storage.snapshot]',
    ]);
    expect(messages([...base, snapshot('typo', 'zfs')], createStoragePolicy({ externalSnapshotClasses: ['zfs'] }))).toEqual([]);
  });

  it('fails when an app uses a class of an app it does not depend on', () => {
    const dependsOn: Record<string, string[]> = { web: [], db: ['storage'] };
    const context = { syncsAfter: (app: string, other: string) => dependsOn[app]?.includes(other) ?? false };
    const dbClaim = { ...claim('db-data', 'nfs'), app: 'db' };
    expect(storagePolicy.check([...base, claim('data', 'nfs'), dbClaim], context).map(formatProblem)).toEqual([
      'lab/web/data: PersistentVolumeClaim web/data: app "web" uses StorageClass "nfs", which app "storage" creates; add "storage" to the dependsOn of "web" so that the class exists before it is used [policy.storage.order]',
    ]);

    // A claim without a class uses the default class: the same rule, once the cluster has one.
    const withDefault = [csiDriver('org.example.nfs', 'lab/storage/nfs/csi-driver'), storageClass('fast', true), configSecret(DIGEST)];
    expect(storagePolicy.check([...withDefault, claim('cache')], context).map(formatProblem)).toEqual([
      'lab/web/cache: PersistentVolumeClaim web/cache: app "web" uses StorageClass "fast", which app "storage" creates; add "storage" to the dependsOn of "web" so that the class exists before it is used [policy.storage.order]',
    ]);
    expect(storagePolicy.check([...base, claim('cache')], context)).toEqual([]);

    // Snapshots: of a named class, and of the default class.
    const snapshotClass = object(
      {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotClass',
        metadata: { name: 'nfs', annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' } },
        driver: 'org.example.nfs',
        deletionPolicy: 'Delete',
      },
      'lab/storage/nfs/snapshot-class-nfs',
    );
    const snapshot = (name: string, app: string, volumeSnapshotClassName?: string) => ({
      ...object(
        {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name, namespace: app },
          spec: { ...(volumeSnapshotClassName ? { volumeSnapshotClassName } : {}), source: { persistentVolumeClaimName: 'data' } },
        },
        `lab/${app}/${name}`,
      ),
      app,
    });
    expect(
      storagePolicy
        .check(
          [...base, snapshotClass, snapshot('named', 'web', 'nfs'), snapshot('default', 'web'), snapshot('ordered', 'db', 'nfs')],
          context,
        )
        .map((problem) => `${problem.origin.constructPath} [${problem.rule}]: ${problem.message.split(';')[0]}`),
    ).toEqual([
      'lab/web/named [policy.storage.order]: app "web" uses VolumeSnapshotClass "nfs", which app "storage" creates',
      'lab/web/default [policy.storage.order]: app "web" uses VolumeSnapshotClass "nfs", which app "storage" creates',
    ]);
  });

  it('fails on a PersistentVolumeClaim naming a StorageClass that does not exist', () => {
    expect(messages([...base, claim('data', 'nfs-typo')])).toEqual([
      `lab/web/data: PersistentVolumeClaim web/data: spec.storageClassName names StorageClass "nfs-typo", which does not exist in the cluster (classes: nfs); name one of them, or declare a class installed outside this composition in the storage policy's externalStorageClasses [policy.storage.claim]`,
    ]);
    expect(messages([...base, claim('data', 'local-path')], createStoragePolicy({ externalStorageClasses: ['local-path'] }))).toEqual([]);
  });

  it('fails on claim templates of StatefulSets and ephemeral volumes naming a missing class', () => {
    const podSpec = {
      containers: [],
      volumes: [{ name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: { storageClassName: 'scratch' } } } }],
    };
    const statefulSet = object(
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: 'web' },
        spec: {
          template: { spec: podSpec },
          volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { storageClassName: 'freenas-iscsi-csi' } }],
        },
      },
      'lab/web/db',
    );
    const legacy = object(
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'old', namespace: 'web', annotations: { 'volume.beta.kubernetes.io/storage-class': 'gone' } },
        spec: {},
      },
      'lab/web/old',
    );
    expect(messages([...base, statefulSet, legacy]).map((m) => m.split(' names ')[0])).toEqual([
      'lab/web/db: StatefulSet web/db: spec.volumeClaimTemplates[0].spec.storageClassName',
      'lab/web/db: StatefulSet web/db: spec.template.spec.volumes[0].ephemeral.volumeClaimTemplate.spec.storageClassName',
      'lab/web/old: PersistentVolumeClaim web/old: annotation volume.beta.kubernetes.io/storage-class',
    ]);
  });

  it('fails when a driver config file was made from other settings than the typed config, naming the file and the fix', () => {
    expect(messages([...base.slice(0, 2), configSecret('b'.repeat(64))])).toEqual([
      'lab/storage/nfs/driver-config (secrets/lab/storage/nfs-driver-config.sops.yaml): Secret storage/nfs-driver-config: secrets/lab/storage/nfs-driver-config.sops.yaml holds a driver config made from other settings than the typed config of lab/storage/nfs/csi-driver now has (sha256 bbbbbbbbbbbb..., expected aaaaaaaaaaaa...): regenerate it with "npm run driver-config -- --cluster lab --driver org.example.nfs --keep-credentials --force" [policy.storage.driver-config]',
    ]);
    expect(messages([...base.slice(0, 2), configSecret(undefined)])).toEqual([
      'lab/storage/nfs/driver-config (secrets/lab/storage/nfs-driver-config.sops.yaml): Secret storage/nfs-driver-config: secrets/lab/storage/nfs-driver-config.sops.yaml carries no storage.homelab-cdk8s.io/driver-config-sha256 annotation, so nothing shows it matches the typed config of lab/storage/nfs/csi-driver: regenerate it with "npm run driver-config -- --cluster lab --driver org.example.nfs --keep-credentials --force" [policy.storage.driver-config]',
    ]);
  });
});
