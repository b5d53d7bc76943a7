import type { ClusterPolicy, PolicyContext, PolicyObject } from '../../framework/cluster.js';
import { annotationsOf, groupOf, isKind, isRecord, type Manifest, objectRef, type Problem, valueAt } from '../../framework/model.js';
import { DEFAULT_SNAPSHOT_CLASS_ANNOTATION, DEFAULT_STORAGE_CLASS_ANNOTATION } from './democratic-csi.js';
import { DRIVER_CONFIG_DIGEST_ANNOTATION, DRIVER_CONFIG_SECRET_ANNOTATION } from './driver-config.js';

/** The command that rewrites a driver's SOPS file from the typed config. */
export const REGENERATE_COMMAND = 'npm run driver-config --';

/** Before `storageclass.kubernetes.io/is-default-class`, Kubernetes read this one; it still does. */
const BETA_DEFAULT_STORAGE_CLASS_ANNOTATION = 'storageclass.beta.kubernetes.io/is-default-class';
/** The annotation that named a claim's class before spec.storageClassName. */
const BETA_STORAGE_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

/** Workload kinds (group/kind) whose pod template may declare ephemeral volume claims, with the path to it. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  '/Pod': ['spec'],
  'apps/Deployment': ['spec', 'template', 'spec'],
  'apps/StatefulSet': ['spec', 'template', 'spec'],
  'apps/DaemonSet': ['spec', 'template', 'spec'],
  'apps/ReplicaSet': ['spec', 'template', 'spec'],
  'batch/Job': ['spec', 'template', 'spec'],
  'batch/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

export interface StoragePolicyOptions {
  /**
   * StorageClasses the cluster has although no object of the composition renders them (installed
   * by a Helm chart or outside GitOps), so claims may name them. @default none
   */
  readonly externalStorageClasses?: readonly string[];
  /** VolumeSnapshotClasses the cluster has although no object of the composition renders them. @default none */
  readonly externalSnapshotClasses?: readonly string[];
}

const is = (object: PolicyObject, group: string, kind: string) => isKind(object.manifest, group, kind);
const where = (object: PolicyObject) => object.origin.constructPath ?? object.origin.file ?? object.app;
const at = valueAt;

/**
 * The StorageClass names an object's claims ask for, with where in the object: PVCs, StatefulSet
 * templates, ephemeral volumes. `className` is undefined for a claim of the default class.
 */
function claimedClasses(manifest: Manifest): { readonly className?: string; readonly field: string }[] {
  const found: { className?: string; field: string }[] = [];
  const fromClaimSpec = (spec: unknown, metadata: unknown, field: string) => {
    const name = at(spec, ['storageClassName']);
    // "" asks for no class (a pre-provisioned volume); absent means the default class.
    if (typeof name === 'string') {
      if (name !== '') found.push({ className: name, field: `${field}.storageClassName` });
      return;
    }
    const legacy = isRecord(metadata) && isRecord(metadata.annotations) ? metadata.annotations[BETA_STORAGE_CLASS_ANNOTATION] : undefined;
    if (typeof legacy === 'string') {
      if (legacy !== '') found.push({ className: legacy, field: `annotation ${BETA_STORAGE_CLASS_ANNOTATION}` });
      return;
    }
    found.push({ field });
  };
  const group = groupOf(String(manifest.apiVersion));
  const kind = String(manifest.kind);
  if (group === '' && kind === 'PersistentVolumeClaim') fromClaimSpec(manifest.spec, manifest.metadata, 'spec');
  if (group === 'apps' && kind === 'StatefulSet') {
    const templates = at(manifest, ['spec', 'volumeClaimTemplates']);
    (Array.isArray(templates) ? templates : []).forEach((template, index) => {
      fromClaimSpec(at(template, ['spec']), at(template, ['metadata']), `spec.volumeClaimTemplates[${index}].spec`);
    });
  }
  const podSpecPath = POD_SPEC_PATHS[`${group}/${kind}`];
  if (podSpecPath) {
    const volumes = at(manifest, [...podSpecPath, 'volumes']);
    (Array.isArray(volumes) ? volumes : []).forEach((volume, index) => {
      const template = at(volume, ['ephemeral', 'volumeClaimTemplate']);
      if (template !== undefined) {
        fromClaimSpec(
          at(template, ['spec']),
          at(template, ['metadata']),
          `${podSpecPath.join('.')}.volumes[${index}].ephemeral.volumeClaimTemplate.spec`,
        );
      }
    });
  }
  return found;
}

/**
 * Cluster policy for storage: CSI driver names are unique; at most one default StorageClass and
 * at most one default VolumeSnapshotClass per driver; every claim (PersistentVolumeClaim,
 * StatefulSet volumeClaimTemplates, ephemeral volumes) names a StorageClass that exists; every
 * VolumeSnapshot that names a VolumeSnapshotClass names one that exists; an app using a class
 * another app creates depends on that app (with the pipeline's PolicyContext); and every
 * democratic-csi driver's SOPS file was generated from its current typed config.
 */
export function createStoragePolicy(options: StoragePolicyOptions = {}): ClusterPolicy {
  return { name: 'storage', check: (objects, context) => checkStorage(objects, options, context) };
}

export const storagePolicy: ClusterPolicy = createStoragePolicy();

function checkStorage(objects: readonly PolicyObject[], options: StoragePolicyOptions, context?: PolicyContext): Problem[] {
  const problems: Problem[] = [];
  const report = (object: PolicyObject, rule: string, message: string) =>
    problems.push({ origin: object.origin, object: objectRef(object.manifest), rule: `policy.storage.${rule}`, message });

  const drivers = objects.filter((object) => is(object, 'storage.k8s.io', 'CSIDriver'));
  const driverOwners = new Map<string, PolicyObject>();
  for (const driver of drivers) {
    const name = objectRef(driver.manifest).name ?? '';
    const first = driverOwners.get(name);
    if (first) {
      report(
        driver,
        'csi-driver',
        `CSI driver name "${name}" is already registered by ${where(first)}: two drivers would claim each other's volumes; give each driver its own csiDriverName (and provisioner)`,
      );
    } else {
      driverOwners.set(name, driver);
    }
  }

  const storageClasses = objects.filter((object) => is(object, 'storage.k8s.io', 'StorageClass'));
  const isDefault = (manifest: Manifest, annotation: string) => String(annotationsOf(manifest)[annotation]) === 'true';
  const defaults = storageClasses.filter(
    (object) =>
      isDefault(object.manifest, DEFAULT_STORAGE_CLASS_ANNOTATION) || isDefault(object.manifest, BETA_DEFAULT_STORAGE_CLASS_ANNOTATION),
  );
  for (const extra of defaults.slice(1)) {
    report(
      extra,
      'default-class',
      `is a second default StorageClass (the first is ${objectRef(defaults[0]?.manifest ?? {}).name} at ${where(defaults[0] as PolicyObject)}); claims without a class would get either: keep the default annotation on one class only`,
    );
  }

  const defaultSnapshotClasses = new Map<string, PolicyObject>();
  for (const object of objects.filter((o) => is(o, 'snapshot.storage.k8s.io', 'VolumeSnapshotClass'))) {
    if (!isDefault(object.manifest, DEFAULT_SNAPSHOT_CLASS_ANNOTATION)) continue;
    const driver = String(object.manifest.driver);
    const first = defaultSnapshotClasses.get(driver);
    if (first) {
      report(
        object,
        'default-class',
        `is a second default VolumeSnapshotClass for driver ${driver} (the first is ${objectRef(first.manifest).name}); the snapshot controller then refuses snapshots without a class: keep one default per driver`,
      );
    } else {
      defaultSnapshotClasses.set(driver, object);
    }
  }

  /** A class another app creates must be there first: that app is among the user's dependencies. */
  const checkOrder = (user: PolicyObject, kind: string, name: string, owner: PolicyObject | undefined) => {
    if (!context || !owner || owner.app === user.app || context.syncsAfter(user.app, owner.app)) return;
    report(
      user,
      'order',
      `app "${user.app}" uses ${kind} "${name}", which app "${owner.app}" creates; add "${owner.app}" to the dependsOn of "${user.app}" so that the class exists before it is used`,
    );
  };
  const classOwners = new Map(storageClasses.map((object) => [objectRef(object.manifest).name, object]));
  const classNames = new Set([
    ...storageClasses.map((object) => objectRef(object.manifest).name),
    ...(options.externalStorageClasses ?? []),
  ]);
  const known = [...classNames].filter((name): name is string => name !== undefined).sort();
  const defaultClass = defaults.length === 1 ? defaults[0] : undefined;
  for (const object of objects) {
    for (const { className, field } of claimedClasses(object.manifest)) {
      if (className === undefined) {
        // A claim without a class gets the default one, if the cluster has one.
        if (defaultClass) checkOrder(object, 'StorageClass', objectRef(defaultClass.manifest).name ?? '', defaultClass);
        continue;
      }
      if (classNames.has(className)) {
        checkOrder(object, 'StorageClass', className, classOwners.get(className));
        continue;
      }
      report(
        object,
        'claim',
        `${field} names StorageClass "${className}", which does not exist in the cluster (${known.length > 0 ? `classes: ${known.join(', ')}` : 'it has no StorageClass'}); name one of them, or declare a class installed outside this composition in the storage policy's externalStorageClasses`,
      );
    }
  }

  const snapshotClasses = objects.filter((o) => is(o, 'snapshot.storage.k8s.io', 'VolumeSnapshotClass'));
  const snapshotClassOwners = new Map(snapshotClasses.map((object) => [objectRef(object.manifest).name, object]));
  const snapshotClassNames = new Set([
    ...snapshotClasses.map((o) => objectRef(o.manifest).name),
    ...(options.externalSnapshotClasses ?? []),
  ]);
  const knownSnapshotClasses = [...snapshotClassNames].filter((name): name is string => name !== undefined).sort();
  for (const snapshot of objects.filter((o) => is(o, 'snapshot.storage.k8s.io', 'VolumeSnapshot'))) {
    const className = at(snapshot.manifest, ['spec', 'volumeSnapshotClassName']);
    if (typeof className !== 'string') {
      // Without a class the snapshot gets its driver's default; with one default in the cluster, that one.
      const [only, ...others] = defaultSnapshotClasses.values();
      if (only && others.length === 0) checkOrder(snapshot, 'VolumeSnapshotClass', objectRef(only.manifest).name ?? '', only);
      continue;
    }
    if (snapshotClassNames.has(className)) {
      checkOrder(snapshot, 'VolumeSnapshotClass', className, snapshotClassOwners.get(className));
      continue;
    }
    report(
      snapshot,
      'snapshot',
      `spec.volumeSnapshotClassName names VolumeSnapshotClass "${className}", which does not exist in the cluster (${knownSnapshotClasses.length > 0 ? `classes: ${knownSnapshotClasses.join(', ')}` : 'it has no VolumeSnapshotClass'}); the snapshot would never be taken: name one of them, or declare a class installed outside this composition in externalSnapshotClasses`,
    );
  }

  const secrets = new Map<string, PolicyObject>(
    objects
      .filter((object) => is(object, '', 'Secret'))
      .map((object) => {
        const ref = objectRef(object.manifest);
        return [`${ref.namespace}/${ref.name}`, object] as const;
      }),
  );
  for (const driver of drivers) {
    const annotations = annotationsOf(driver.manifest);
    const expected = annotations[DRIVER_CONFIG_DIGEST_ANNOTATION];
    const secretRef = annotations[DRIVER_CONFIG_SECRET_ANNOTATION];
    if (typeof expected !== 'string' || typeof secretRef !== 'string') continue;
    // A missing or broken SOPS file is reported by synth's own check of the file.
    const secret = secrets.get(secretRef);
    if (!secret) continue;
    const stamp = annotationsOf(secret.manifest)[DRIVER_CONFIG_DIGEST_ANNOTATION];
    if (stamp === expected) continue;
    const file = secret.origin.file ?? `the SOPS file of Secret ${secretRef}`;
    const cluster = (driver.origin.constructPath ?? '').split('/')[0] || '<cluster>';
    const regenerate = `regenerate it with "${REGENERATE_COMMAND} --cluster ${cluster} --driver ${objectRef(driver.manifest).name} --keep-credentials --force"`;
    report(
      secret,
      'driver-config',
      typeof stamp === 'string'
        ? `${file} holds a driver config made from other settings than the typed config of ${where(driver)} now has (sha256 ${stamp.slice(0, 12)}..., expected ${expected.slice(0, 12)}...): ${regenerate}`
        : `${file} carries no ${DRIVER_CONFIG_DIGEST_ANNOTATION} annotation, so nothing shows it matches the typed config of ${where(driver)}: ${regenerate}`,
    );
  }
  return problems;
}
