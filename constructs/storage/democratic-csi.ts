import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct, type IConstruct } from 'constructs';
import { registerPolicies } from '../../framework/cluster.js';
import { HelmChart } from '../core/helm-chart.js';
import { deepMerge } from '../core/merge.js';
import { floatingImageError } from '../core/pinning.js';
import { type ContainerResources, containerResources, containerResourcesError } from '../core/resources.js';
import { SopsSecret } from '../secrets/sops-secret.js';
import {
  DRIVER_CONFIG_DIGEST_ANNOTATION,
  DRIVER_CONFIG_KEY,
  DRIVER_CONFIG_SECRET_ANNOTATION,
  datasetsOverlap,
  driverConfigDigest,
  driverConfigProblems,
  driverConfigSecret,
  isIscsiConfig,
  isIscsiDriver,
  placeholderCredentials,
  type TrueNasDriverConfig,
} from './driver-config.js';
import { storagePolicy } from './policies.js';

/** The democratic-csi chart release this library is tested with. */
export const DEMOCRATIC_CSI_CHART_VERSION = '0.15.1';
export const DEMOCRATIC_CSI_CHART_REPO = 'https://democratic-csi.github.io/charts/';
/** The driver image the chart runs; the chart's own default is the floating `latest`. */
export const DEMOCRATIC_CSI_IMAGE = 'ghcr.io/democratic-csi/democratic-csi';
export const DEMOCRATIC_CSI_IMAGE_TAG = 'v1.9.4';

/** The chart's containers by the values key that sets their `resources`. */
export type DemocraticCsiContainer =
  | 'controller.driver'
  | 'controller.externalAttacher'
  | 'controller.externalProvisioner'
  | 'controller.externalResizer'
  | 'controller.externalSnapshotter'
  | 'node.driver'
  | 'node.driverRegistrar'
  | 'node.cleanup'
  | 'csiProxy';

/**
 * Requests and limits of the chart's containers (it sets none). The drivers are Node.js
 * processes that shell out to the NAS API, iscsiadm and mount; the sidecars are small Go
 * controllers; csi-proxy (in the controller and in every node pod) relays gRPC.
 */
export const DEMOCRATIC_CSI_RESOURCES: Readonly<Record<DemocraticCsiContainer, ContainerResources>> = {
  'controller.driver': containerResources('25m', '128Mi', '512Mi'),
  'controller.externalAttacher': containerResources('10m', '32Mi', '128Mi'),
  'controller.externalProvisioner': containerResources('10m', '32Mi', '128Mi'),
  'controller.externalResizer': containerResources('10m', '32Mi', '128Mi'),
  'controller.externalSnapshotter': containerResources('10m', '32Mi', '128Mi'),
  'node.driver': containerResources('25m', '128Mi', '512Mi'),
  'node.driverRegistrar': containerResources('10m', '16Mi', '64Mi'),
  'node.cleanup': containerResources('10m', '16Mi', '64Mi'),
  csiProxy: containerResources('10m', '16Mi', '64Mi'),
};

/** The default-class annotations Kubernetes and the snapshot controller read. */
export const DEFAULT_STORAGE_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
export const DEFAULT_SNAPSHOT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';

const NFS_FS_TYPES = ['nfs'];
const BLOCK_FS_TYPES = ['ext4', 'ext3', 'xfs'];
/** Mount options only NFS understands; a filesystem on an iSCSI block device refuses them. */
const NFS_MOUNT_OPTION =
  /^(nfsvers|vers|proto|port|mountport|mountproto|rsize|wsize|timeo|retrans|nolock|lock|local_lock|hard|soft|softerr|intr|nointr|actimeo|acregmin|acregmax|acdirmin|acdirmax|lookupcache|namlen|sec|fsc|nofsc|nconnect|clientaddr|minorversion|tcp|udp|rdma|retry|bg|fg|ac|noac|cto|nocto|resvport|noresvport|mountvers|mounthost)(=|$)/;
/** CSI driver names: at most 63 characters, lowercase here as the CSIDriver object's name. */
const CSI_DRIVER_NAME = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

/** The operations for which the CSI sidecars can hand a Secret to the driver (`csi.storage.k8s.io/<kind>-secret-*`). */
export type CsiSecretKind = 'provisioner' | 'controller-publish' | 'node-stage' | 'node-publish' | 'controller-expand';

export interface StorageClassOptions {
  readonly name: string;
  /** Filesystem of the volumes. @default 'nfs' for NFS drivers, 'ext4' for iSCSI drivers */
  readonly fsType?: string;
  /** What happens to the dataset when its claim is deleted. @default 'Retain' */
  readonly reclaimPolicy?: 'Retain' | 'Delete';
  /** @default 'Immediate' */
  readonly volumeBindingMode?: 'Immediate' | 'WaitForFirstConsumer';
  /** @default true */
  readonly allowVolumeExpansion?: boolean;
  /** @default none */
  readonly mountOptions?: readonly string[];
  /** Make this the cluster's default StorageClass (the annotation is only set when true). @default false */
  readonly default?: boolean;
  /** More driver parameters, e.g. `detachedVolumesFromSnapshots`. @default none */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Secrets the sidecars pass to the driver; iSCSI CHAP credentials go in `node-stage`. @default none */
  readonly secrets?: Readonly<Partial<Record<CsiSecretKind, SopsSecret>>>;
}

export interface VolumeSnapshotClassOptions {
  readonly name: string;
  /** Whether deleting a VolumeSnapshot also deletes the ZFS snapshot. */
  readonly deletionPolicy: 'Retain' | 'Delete';
  /** Make this the default snapshot class of the driver. @default false */
  readonly default?: boolean;
  /** Driver parameters, e.g. `detachedSnapshots: "true"` (a full copy instead of a ZFS snapshot). @default none */
  readonly parameters?: Readonly<Record<string, string>>;
}

export interface DemocraticCsiDriverProps {
  /** Namespace of the controller and node pods; it must allow privileged pods. */
  readonly namespace: string;
  /** Helm release name: prefixes the chart's objects and names the config Secret. @default the construct id */
  readonly releaseName?: string;
  /** The CSI driver name: the CSIDriver object and the provisioner of the classes. Unique in the cluster. */
  readonly csiDriverName: string;
  /** The driver config without credentials; the SOPS file holds it whole, with them. */
  readonly config: TrueNasDriverConfig;
  /**
   * The SOPS file of the driver config as a Secret (written by `cli/driver-config.ts`).
   * @default the app's file for Secret `<release>-driver-config` (`AppChart.sopsFile`)
   */
  readonly configFile?: string;
  /**
   * When a target group uses CHAP: the SOPS file of the credentials the node plugin logs in with
   * (keys `node-db.node.session.auth.*`), which becomes every class's node-stage secret.
   * @default the app's file for Secret `<release>-chap` (`AppChart.sopsFile`)
   */
  readonly chapFile?: string;
  /** @default none */
  readonly storageClasses?: readonly StorageClassOptions[];
  /** @default none */
  readonly snapshotClasses?: readonly VolumeSnapshotClassOptions[];
  /**
   * Where iscsiadm is on the nodes, for nodes that do not keep it on the usual paths (NixOS:
   * `/run/current-system/sw/bin/iscsiadm`). Sets ISCSIADM_HOST_PATH on the node plugin of an
   * iSCSI driver. @default unset (the plugin's own lookup)
   */
  readonly iscsiadmHostPath?: string;
  /**
   * The host file the node plugin mounts as its /etc/localtime, so its logs use the host's time
   * zone; `false` mounts nothing (logs in UTC). The default is `false` because NixOS creates
   * /etc/localtime only when `time.timeZone` is set, and a hostPath to a missing file fails the
   * node pods. @default false
   */
  readonly localtimeHostPath?: string | false;
  /** How kubelet applies a pod's fsGroup (CSIDriver fsGroupPolicy). @default 'File' for NFS (as upstream), unset for iSCSI */
  readonly fsGroupPolicy?: 'None' | 'File' | 'ReadWriteOnceWithFSType';
  /** Exact chart version. @default DEMOCRATIC_CSI_CHART_VERSION */
  readonly chartVersion?: string;
  /** Driver image tag. @default DEMOCRATIC_CSI_IMAGE_TAG */
  readonly imageTag?: string;
  /** Extra chart values, deep-merged over the ones this construct sets (lists are replaced). @default {} */
  readonly extraValues?: Record<string, unknown>;
  /** Requests and limits per container, over DEMOCRATIC_CSI_RESOURCES. @default DEMOCRATIC_CSI_RESOURCES */
  readonly resources?: Partial<Record<DemocraticCsiContainer, ContainerResources>>;
}

/** A driver as a cluster's facts describe it: what it serves and from where, not where it runs or keeps its secrets. */
export type DemocraticCsiDriverSpec = Pick<DemocraticCsiDriverProps, 'csiDriverName' | 'config' | 'storageClasses' | 'snapshotClasses'> & {
  readonly releaseName: string;
};

/** The keys of the CHAP credentials Secret: the iscsiadm node settings the node plugin logs in with. */
export const CHAP_SECRET_KEYS = ['authmethod', 'username', 'password'].map((key) => `node-db.node.session.auth.${key}`);

const DRIVER_MARK = Symbol.for('homelab-cdk8s.storage.democratic-csi-driver');

/**
 * One democratic-csi driver for TrueNAS: the upstream chart pinned, running the controller and the
 * node plugin against a driver config read from a SOPS-encrypted Secret; the CSIDriver, its
 * StorageClasses and VolumeSnapshotClasses rendered here (so synth and the cluster policies see
 * them). The typed config is authoritative: the Secret must carry its digest (see
 * cli-driver-config.ts), which the CSIDriver states for the storage policy to compare.
 */
function usesChap(config: TrueNasDriverConfig): boolean {
  return isIscsiConfig(config) && config.iscsi.targetGroups.some((group) => (group.authType ?? 'None') !== 'None');
}

export class DemocraticCsiDriver extends Construct {
  static isDriver(construct: IConstruct): construct is DemocraticCsiDriver {
    return (construct as unknown as Record<symbol, unknown>)[DRIVER_MARK] === true;
  }

  readonly namespace: string;
  readonly releaseName: string;
  readonly csiDriverName: string;
  readonly config: TrueNasDriverConfig;
  /** sha256 of the non-secret driver config. */
  readonly configDigest: string;
  /** The Secret holding the driver config. */
  readonly configSecret: SopsSecret;
  /** The Secret with the CHAP credentials, when a target group uses CHAP. */
  readonly chapSecret?: SopsSecret;
  readonly chart: HelmChart;
  readonly csiDriver: k8s.KubeCsiDriver;
  readonly storageClasses: readonly k8s.KubeStorageClass[];
  readonly snapshotClasses: readonly ApiObject[];

  constructor(scope: Construct, id: string, props: DemocraticCsiDriverProps) {
    super(scope, id);
    // Classes, claims and driver configs are checked across the cluster wherever a driver runs.
    registerPolicies(this, storagePolicy);
    Object.defineProperty(this, DRIVER_MARK, { value: true });
    this.namespace = props.namespace;
    this.releaseName = props.releaseName ?? id;
    this.csiDriverName = props.csiDriverName;
    this.config = props.config;
    this.configDigest = driverConfigDigest(props.config);
    const iscsi = isIscsiDriver(props.config.driver);
    const imageTag = props.imageTag ?? DEMOCRATIC_CSI_IMAGE_TAG;
    const digestAnnotation = { [DRIVER_CONFIG_DIGEST_ANNOTATION]: this.configDigest };

    this.configSecret = new SopsSecret(this, 'driver-config', {
      file: props.configFile,
      name: `${this.releaseName}-driver-config`,
      namespace: props.namespace,
      keys: [DRIVER_CONFIG_KEY],
      // What npm run driver-config -- --placeholder writes: the typed config, credentials that fail closed.
      example: () =>
        driverConfigSecret({
          name: `${this.releaseName}-driver-config`,
          namespace: props.namespace,
          config: props.config,
          credentials: placeholderCredentials(props.config.driver),
        }),
    });
    if (usesChap(props.config)) {
      this.chapSecret = new SopsSecret(this, 'chap', {
        file: props.chapFile,
        name: `${this.releaseName}-chap`,
        namespace: props.namespace,
        keys: CHAP_SECRET_KEYS,
      });
    }

    const image = { registry: DEMOCRATIC_CSI_IMAGE, tag: imageTag };
    const nodeEnv = iscsi && props.iscsiadmHostPath ? [{ name: 'ISCSIADM_HOST_PATH', value: props.iscsiadmHostPath }] : [];
    const values: Record<string, unknown> = {
      // The CSIDriver and the classes are objects of this construct, visible to synth.
      csiDriver: { name: props.csiDriverName, enabled: false },
      // The chart reads `driver.config.driver` to decide whether to mount the iSCSI host paths.
      driver: { existingConfigSecret: this.configSecret.secretName, config: { driver: props.config.driver } },
      storageClasses: [],
      volumeSnapshotClasses: [],
      // With an existing Secret the chart adds no checksum, so the digest rolls the pods on a config change.
      controller: { podAnnotations: digestAnnotation, driver: { image } },
      node: {
        podAnnotations: digestAnnotation,
        driver: { image, extraEnv: nodeEnv, localtimeHostPath: props.localtimeHostPath ?? false },
      },
    };
    // Each container's resources at its values key (`controller.driver.resources`, `csiProxy.resources`).
    for (const [key, value] of Object.entries({ ...DEMOCRATIC_CSI_RESOURCES, ...props.resources })) {
      const path = `${key}.resources`.split('.');
      let at = values;
      for (const part of path.slice(0, -1)) {
        at[part] = typeof at[part] === 'object' && at[part] !== null ? at[part] : {};
        at = at[part] as Record<string, unknown>;
      }
      at.resources = value;
    }
    this.chart = new HelmChart(this, 'chart', {
      repo: DEMOCRATIC_CSI_CHART_REPO,
      chart: 'democratic-csi',
      version: props.chartVersion ?? DEMOCRATIC_CSI_CHART_VERSION,
      releaseName: this.releaseName,
      namespace: props.namespace,
      values: deepMerge(values, props.extraValues ?? {}),
    });

    const labels = { 'app.kubernetes.io/name': 'democratic-csi', 'app.kubernetes.io/instance': this.releaseName };
    const fsGroupPolicy = props.fsGroupPolicy ?? (iscsi ? undefined : 'File');
    this.csiDriver = new k8s.KubeCsiDriver(this, 'csi-driver', {
      metadata: {
        name: props.csiDriverName,
        labels,
        annotations: {
          ...digestAnnotation,
          [DRIVER_CONFIG_SECRET_ANNOTATION]: `${props.namespace}/${this.configSecret.secretName}`,
        },
      },
      spec: { attachRequired: true, podInfoOnMount: true, ...(fsGroupPolicy ? { fsGroupPolicy } : {}) },
    });

    this.storageClasses = (props.storageClasses ?? []).map((options) => {
      const parameters: Record<string, string> = { fsType: options.fsType ?? (iscsi ? 'ext4' : 'nfs'), ...options.parameters };
      const secrets = { ...(this.chapSecret ? { 'node-stage': this.chapSecret } : {}), ...options.secrets };
      for (const [kind, secret] of Object.entries(secrets)) {
        if (!secret) continue;
        parameters[`csi.storage.k8s.io/${kind}-secret-name`] = secret.secretName;
        parameters[`csi.storage.k8s.io/${kind}-secret-namespace`] = secret.namespace;
      }
      return new k8s.KubeStorageClass(this, `storage-class-${options.name}`, {
        metadata: {
          name: options.name,
          labels,
          ...(options.default ? { annotations: { [DEFAULT_STORAGE_CLASS_ANNOTATION]: 'true' } } : {}),
        },
        provisioner: props.csiDriverName,
        parameters,
        reclaimPolicy: options.reclaimPolicy ?? 'Retain',
        volumeBindingMode: options.volumeBindingMode ?? 'Immediate',
        allowVolumeExpansion: options.allowVolumeExpansion ?? true,
        ...(options.mountOptions && options.mountOptions.length > 0 ? { mountOptions: [...options.mountOptions] } : {}),
      });
    });

    this.snapshotClasses = (props.snapshotClasses ?? []).map(
      (options) =>
        new ApiObject(this, `snapshot-class-${options.name}`, {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshotClass',
          metadata: {
            name: options.name,
            labels,
            ...(options.default ? { annotations: { [DEFAULT_SNAPSHOT_CLASS_ANNOTATION]: 'true' } } : {}),
          },
          driver: props.csiDriverName,
          deletionPolicy: options.deletionPolicy,
          ...(options.parameters ? { parameters: { ...options.parameters } } : {}),
        }),
    );

    this.node.addValidation({ validate: () => this.problems(props, imageTag) });
  }

  private problems(props: DemocraticCsiDriverProps, imageTag: string): string[] {
    const kind = props.config.driver;
    const iscsi = isIscsiDriver(kind);
    const problems = driverConfigProblems(props.config).map((problem) => `driver config: ${problem}`);
    for (const [key, value] of Object.entries({ ...DEMOCRATIC_CSI_RESOURCES, ...props.resources })) {
      const error = !(key in DEMOCRATIC_CSI_RESOURCES)
        ? `is no container of the chart; known: ${Object.keys(DEMOCRATIC_CSI_RESOURCES).join(', ')}`
        : value
          ? containerResourcesError(value)
          : undefined;
      if (error) problems.push(`resources["${key}"]: ${error}`);
    }
    if (!CSI_DRIVER_NAME.test(props.csiDriverName)) {
      problems.push(
        `csiDriverName "${props.csiDriverName}" is not a CSI driver name (at most 63 lowercase letters, digits, "-" and ".", e.g. org.democratic-csi.nfs)`,
      );
    }
    const imageError = floatingImageError(`${DEMOCRATIC_CSI_IMAGE}:${imageTag}`);
    if (imageError) problems.push(`${imageError}; pin a release tag such as ${DEMOCRATIC_CSI_IMAGE_TAG}`);

    const allowed = iscsi ? BLOCK_FS_TYPES : NFS_FS_TYPES;
    const seen = new Set<string>();
    for (const options of props.storageClasses ?? []) {
      const where = `StorageClass "${options.name}"`;
      if (seen.has(options.name)) problems.push(`${where} is listed twice`);
      seen.add(options.name);
      const fsType = options.fsType ?? (iscsi ? 'ext4' : 'nfs');
      if (!allowed.includes(fsType)) {
        problems.push(
          iscsi
            ? `${where}: fsType "${fsType}" does not work with ${kind}, which serves block devices; use ${BLOCK_FS_TYPES.join(', ')}`
            : `${where}: fsType "${fsType}" does not work with ${kind}, which serves NFS shares; use "nfs"`,
        );
      }
      const reserved = Object.keys(options.parameters ?? {}).filter((key) => key === 'fsType' || key.startsWith('csi.storage.k8s.io/'));
      if (reserved.length > 0) {
        problems.push(`${where}: set ${reserved.join(', ')} through fsType and secrets, not parameters`);
      }
      const nfsOnly = iscsi ? (options.mountOptions ?? []).filter((option) => NFS_MOUNT_OPTION.test(option)) : [];
      if (nfsOnly.length > 0) {
        problems.push(
          `${where}: mount options ${nfsOnly.map((option) => `"${option}"`).join(', ')} are NFS options, but ${kind} mounts ${fsType} block devices, where mount fails on them; drop them or use ${fsType} options`,
        );
      }
    }
    const seenSnapshots = new Set<string>();
    for (const options of props.snapshotClasses ?? []) {
      if (seenSnapshots.has(options.name)) problems.push(`VolumeSnapshotClass "${options.name}" is listed twice`);
      seenSnapshots.add(options.name);
    }
    problems.push(...this.conflictsWithEarlierDrivers());
    return problems;
  }

  /** Drivers on the same NAS must not share datasets, nor (iSCSI) target name prefix and suffix. */
  private conflictsWithEarlierDrivers(): string[] {
    const problems: string[] = [];
    const own = this.config;
    for (const other of this.node.root.node.findAll()) {
      if (other === this) break;
      if (!DemocraticCsiDriver.isDriver(other) || other.config.truenas.host !== own.truenas.host) continue;
      const theirs = [other.config.datasets.volumes, other.config.datasets.snapshots];
      for (const dataset of [own.datasets.volumes, own.datasets.snapshots]) {
        const clash = theirs.find((their) => datasetsOverlap(dataset, their));
        if (clash) {
          problems.push(
            `dataset "${dataset}" overlaps "${clash}" of driver ${other.node.path} on the same NAS: each driver needs datasets of its own`,
          );
        }
      }
      if ('iscsi' in own && 'iscsi' in other.config) {
        const mine = `${own.iscsi.namePrefix ?? ''}*${own.iscsi.nameSuffix ?? ''}`;
        const their = `${other.config.iscsi.namePrefix ?? ''}*${other.config.iscsi.nameSuffix ?? ''}`;
        if (mine === their) {
          problems.push(
            `iSCSI names "${mine}" are also those of driver ${other.node.path} on the same NAS (target names are global there): change namePrefix or nameSuffix`,
          );
        }
      }
    }
    return problems;
  }
}
