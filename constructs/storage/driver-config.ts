import { createHash } from 'node:crypto';
import { stringify } from 'yaml';

/**
 * The democratic-csi drivers for TrueNAS this library configures: the ssh-based `freenas-*`
 * drivers (HTTP API plus SSH) and their API-only `freenas-api-*` variants (TrueNAS SCALE only).
 */
export type NfsDriverKind = 'freenas-nfs' | 'freenas-api-nfs';
export type IscsiDriverKind = 'freenas-iscsi' | 'freenas-api-iscsi';
export type TrueNasDriverKind = NfsDriverKind | IscsiDriverKind;

export const TRUENAS_DRIVER_KINDS = [
  'freenas-nfs',
  'freenas-iscsi',
  'freenas-api-nfs',
  'freenas-api-iscsi',
] as const satisfies readonly TrueNasDriverKind[];

export function isIscsiDriver(kind: TrueNasDriverKind): kind is IscsiDriverKind {
  return kind === 'freenas-iscsi' || kind === 'freenas-api-iscsi';
}

/** Whether the driver logs in over SSH (and so needs an SSH private key) besides using the HTTP API. */
export function usesSsh(kind: TrueNasDriverKind): boolean {
  return !kind.startsWith('freenas-api-');
}

/** Key of the config file in the driver's Secret (the chart mounts it under this name). */
export const DRIVER_CONFIG_KEY = 'driver-config-file.yaml';
/** sha256 of the non-secret driver config, stamped on the Secret by the CLI and on the CSIDriver by the construct. */
export const DRIVER_CONFIG_DIGEST_ANNOTATION = 'storage.homelab-cdk8s.io/driver-config-sha256';
/** `<namespace>/<name>` of the Secret holding a CSIDriver's driver config. */
export const DRIVER_CONFIG_SECRET_ANNOTATION = 'storage.homelab-cdk8s.io/driver-config-secret';

/**
 * Length of the volume names Kubernetes asks for: the external-provisioner's `pvc-<uid>`
 * (its default `--volume-name-prefix` plus a 36-character UUID).
 */
export const CSI_VOLUME_NAME_LENGTH = 'pvc-'.length + 36;
/** The zvol device name limit on TrueNAS CORE 12 and older (FreeBSD device names); SCALE and 13+ allow 255. */
export const DEFAULT_MAX_ZVOL_NAME_LENGTH = 63;
/** TrueNAS SCALE's limit on iSCSI target and extent names (`<namePrefix><volume><nameSuffix>`). */
export const MAX_ISCSI_NAME_LENGTH = 64;

export interface TrueNasConnection {
  /** Host name or address of the TrueNAS API, and of SSH unless `ssh.host` says otherwise. */
  readonly host: string;
  /** @default 'https' */
  readonly protocol?: 'https' | 'http';
  /** @default 443 with https, 80 with http */
  readonly port?: number;
  /** Accept an API certificate the driver cannot verify (self-signed). @default false */
  readonly allowInsecure?: boolean;
  /** The SSH login of the ssh-based drivers; the API-only drivers ignore it. */
  readonly ssh?: {
    /** @default the API host */
    readonly host?: string;
    /** @default 22 */
    readonly port?: number;
    /** A user other than root needs passwordless sudo (the driver then runs zfs through sudo). @default 'root' */
    readonly username?: string;
  };
}

export interface ZfsDatasets {
  /** Parent dataset of the volumes (`pool/path`); the driver creates one child per volume. */
  readonly volumes: string;
  /** Parent dataset of detached snapshots; must neither be nor contain nor lie inside `volumes`. */
  readonly snapshots: string;
  /** Extra ZFS properties set on every volume (values may use the driver's Handlebars templates). @default none */
  readonly properties?: Readonly<Record<string, string>>;
}

export interface NfsShareSettings {
  /** Host name or address the nodes mount the shares from (the NAS on the storage network). */
  readonly shareHost: string;
  /** Hosts allowed to mount; empty allows every host the networks allow. @default [] */
  readonly allowedHosts?: readonly string[];
  /** Networks (CIDRs) allowed to mount; empty allows every network. @default [] */
  readonly allowedNetworks?: readonly string[];
  /** @default 'root' */
  readonly maprootUser?: string;
  /** @default 'root' (TrueNAS CORE names group 0 `wheel`) */
  readonly maprootGroup?: string;
  /** Map every client user to this user instead. @default '' (no mapping) */
  readonly mapallUser?: string;
  /** @default '' (no mapping) */
  readonly mapallGroup?: string;
  /** Mode of a new volume's root directory. @default '0777' */
  readonly permissionsMode?: string;
  /** @default 0 */
  readonly permissionsUser?: number;
  /** @default 0 */
  readonly permissionsGroup?: number;
  /** Limit each dataset to its requested size with a quota. @default true */
  readonly enableQuotas?: boolean;
  /** Reserve each dataset's requested size in the pool. @default false */
  readonly enableReservation?: boolean;
}

export const ISCSI_AUTH_TYPES = ['None', 'CHAP', 'CHAP Mutual'] as const;
export type IscsiAuthType = (typeof ISCSI_AUTH_TYPES)[number];
/** zvol block sizes TrueNAS offers. */
export const ZVOL_BLOCKSIZES = ['512', '1K', '2K', '4K', '8K', '16K', '32K', '64K', '128K'] as const;
/** Logical block sizes an iSCSI extent can report. */
export const EXTENT_BLOCKSIZES = [512, 1024, 2048, 4096] as const;

export interface IscsiTargetGroup {
  /** Database id of the portal (`GET /api/v2.0/iscsi/portal`), which may differ from the id the UI shows. */
  readonly portalGroup: number;
  /** Database id of the initiator group (`GET /api/v2.0/iscsi/initiator`). */
  readonly initiatorGroup: number;
  /** CHAP needs the credentials in every StorageClass's node-stage secret. @default 'None' */
  readonly authType?: IscsiAuthType;
  /** Database id of the authorized-access group (`GET /api/v2.0/iscsi/auth`), with CHAP. */
  readonly authGroup?: number;
}

export interface IscsiSettings {
  /** `host:port` of the portal the nodes log in to. */
  readonly portal: string;
  /** More portals, for multipath. @default none */
  readonly extraPortals?: readonly string[];
  /** iscsiadm interface the nodes use. @default the default interface */
  readonly interface?: string;
  /** Prefix of target and extent names, which are global on the NAS: keep prefix plus suffix unique per cluster. @default '' */
  readonly namePrefix?: string;
  /** @default '' */
  readonly nameSuffix?: string;
  readonly targetGroups: readonly IscsiTargetGroup[];
  readonly zvol?: {
    /** zvol block size, 512 to 128K. @default '16K' */
    readonly blocksize?: string;
    /** @default inherited from the parent dataset */
    readonly compression?: string;
    /** @default inherited from the parent dataset */
    readonly dedup?: string;
    /** Reserve each zvol's full size in the pool (thick provisioning). @default false */
    readonly enableReservation?: boolean;
  };
  readonly extent?: {
    /** Logical block size the extent reports. @default 512 */
    readonly blocksize?: (typeof EXTENT_BLOCKSIZES)[number];
    /** @default true */
    readonly insecureTpc?: boolean;
    /** @default false */
    readonly xenCompat?: boolean;
    /** @default true */
    readonly disablePhysicalBlocksize?: boolean;
    /** @default 'SSD' */
    readonly rpm?: 'Unknown' | 'SSD' | '5400' | '7200' | '10000' | '15000';
    /** Pool usage (percent) at which TrueNAS warns; 0 disables. @default 0 */
    readonly availThreshold?: number;
  };
  /**
   * Longest zvol device name (`zvol/<dataset>/<volume>`) the NAS accepts: 63 on TrueNAS CORE 12
   * and older, 255 on SCALE and CORE 13+. @default 63 (fits every version)
   */
  readonly maxZvolNameLength?: number;
}

interface DriverConfigBase {
  readonly truenas: TrueNasConnection;
  readonly datasets: ZfsDatasets;
}

export interface NfsDriverConfig extends DriverConfigBase {
  readonly driver: NfsDriverKind;
  readonly nfs: NfsShareSettings;
}

export interface IscsiDriverConfig extends DriverConfigBase {
  readonly driver: IscsiDriverKind;
  readonly iscsi: IscsiSettings;
}

/** Everything in the driver config file except the credentials; synth renders nothing of it in plaintext. */
export type TrueNasDriverConfig = NfsDriverConfig | IscsiDriverConfig;

export function isIscsiConfig(config: TrueNasDriverConfig): config is IscsiDriverConfig {
  return isIscsiDriver(config.driver);
}

/** The secret half of the driver config. */
export interface DriverCredentials {
  /** TrueNAS API key (Credentials > API Keys). */
  readonly apiKey: string;
  /** OpenSSH or PEM private key whose public half is authorized for the SSH user (ssh-based drivers only). */
  readonly sshPrivateKey?: string;
}

const DATASET = /^[A-Za-z0-9][A-Za-z0-9_.:-]*(\/[A-Za-z0-9_.:-]+)+$/;
const HOST = /^([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$|^\[?[0-9A-Fa-f:.]+\]?$/;
const ISCSI_NAME_PART = /^[A-Za-z0-9.:-]*$/;

const portOf = (connection: TrueNasConnection) => connection.port ?? ((connection.protocol ?? 'https') === 'https' ? 443 : 80);

/**
 * The driver config file as democratic-csi reads it (`driver.config` of the chart). Without
 * credentials, the non-secret part: what the construct hashes and synth may look at.
 */
export function driverConfigDocument(config: TrueNasDriverConfig, credentials?: DriverCredentials): Record<string, unknown> {
  const { truenas, datasets } = config;
  const ssh = truenas.ssh ?? {};
  const sshUser = ssh.username ?? 'root';
  const document: Record<string, unknown> = {
    driver: config.driver,
    httpConnection: {
      protocol: truenas.protocol ?? 'https',
      host: truenas.host,
      port: portOf(truenas),
      allowInsecure: truenas.allowInsecure ?? false,
      ...(credentials ? { apiKey: credentials.apiKey } : {}),
    },
  };
  if (usesSsh(config.driver)) {
    document.sshConnection = {
      host: ssh.host ?? truenas.host,
      port: ssh.port ?? 22,
      username: sshUser,
      ...(credentials ? { privateKey: credentials.sshPrivateKey ?? '' } : {}),
    };
  }
  const zfs: Record<string, unknown> = {
    ...(usesSsh(config.driver) && sshUser !== 'root' ? { cli: { sudoEnabled: true } } : {}),
    ...(datasets.properties ? { datasetProperties: { ...datasets.properties } } : {}),
    datasetParentName: datasets.volumes,
    detachedSnapshotsDatasetParentName: datasets.snapshots,
  };
  document.zfs = zfs;
  if (!isIscsiConfig(config)) {
    const nfs = config.nfs;
    Object.assign(zfs, {
      datasetEnableQuotas: nfs.enableQuotas ?? true,
      datasetEnableReservation: nfs.enableReservation ?? false,
      datasetPermissionsMode: nfs.permissionsMode ?? '0777',
      datasetPermissionsUser: nfs.permissionsUser ?? 0,
      datasetPermissionsGroup: nfs.permissionsGroup ?? 0,
    });
    document.nfs = {
      shareHost: nfs.shareHost,
      shareAlldirs: false,
      shareAllowedHosts: [...(nfs.allowedHosts ?? [])],
      shareAllowedNetworks: [...(nfs.allowedNetworks ?? [])],
      shareMaprootUser: nfs.maprootUser ?? 'root',
      shareMaprootGroup: nfs.maprootGroup ?? 'root',
      shareMapallUser: nfs.mapallUser ?? '',
      shareMapallGroup: nfs.mapallGroup ?? '',
    };
  } else {
    const iscsi = config.iscsi;
    const zvol = iscsi.zvol ?? {};
    const extent = iscsi.extent ?? {};
    Object.assign(zfs, {
      ...(zvol.compression !== undefined ? { zvolCompression: zvol.compression } : {}),
      ...(zvol.dedup !== undefined ? { zvolDedup: zvol.dedup } : {}),
      zvolEnableReservation: zvol.enableReservation ?? false,
      zvolBlocksize: zvol.blocksize ?? '16K',
    });
    document.iscsi = {
      targetPortal: iscsi.portal,
      targetPortals: [...(iscsi.extraPortals ?? [])],
      ...(iscsi.interface !== undefined ? { interface: iscsi.interface } : {}),
      namePrefix: iscsi.namePrefix ?? '',
      nameSuffix: iscsi.nameSuffix ?? '',
      targetGroups: iscsi.targetGroups.map((group) => ({
        targetGroupPortalGroup: group.portalGroup,
        targetGroupInitiatorGroup: group.initiatorGroup,
        targetGroupAuthType: group.authType ?? 'None',
        ...(group.authGroup !== undefined ? { targetGroupAuthGroup: group.authGroup } : {}),
      })),
      extentInsecureTpc: extent.insecureTpc ?? true,
      extentXenCompat: extent.xenCompat ?? false,
      extentDisablePhysicalBlocksize: extent.disablePhysicalBlocksize ?? true,
      extentBlocksize: extent.blocksize ?? 512,
      extentRpm: extent.rpm ?? 'SSD',
      extentAvailThreshold: extent.availThreshold ?? 0,
    };
  }
  return document;
}

/** JSON with object keys sorted at every level, so the digest does not depend on property order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, child]) => child !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, child]) => `${JSON.stringify(key)}:${canonicalJson(child)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 (hex) of the non-secret driver config: changes exactly when the encrypted file must be regenerated. */
export function driverConfigDigest(config: TrueNasDriverConfig): string {
  return createHash('sha256')
    .update(canonicalJson(driverConfigDocument(config)))
    .digest('hex');
}

/** Fake credentials that fail closed: TrueNAS rejects the key, and ssh cannot parse the private key. */
export const PLACEHOLDER_CREDENTIALS: Required<DriverCredentials> = {
  apiKey: 'PLACEHOLDER-not-a-TrueNAS-API-key-see-docs-storage-md',
  sshPrivateKey:
    '-----BEGIN OPENSSH PRIVATE KEY-----\nPLACEHOLDER-not-a-private-key-see-docs-storage-md\n-----END OPENSSH PRIVATE KEY-----\n',
};

/** The placeholder credentials a driver of this kind takes (an SSH key only where it logs in over SSH). */
export function placeholderCredentials(driver: TrueNasDriverConfig['driver']): DriverCredentials {
  return usesSsh(driver) ? PLACEHOLDER_CREDENTIALS : { apiKey: PLACEHOLDER_CREDENTIALS.apiKey };
}

export interface DriverConfigSecretOptions {
  readonly name: string;
  readonly namespace: string;
  readonly config: TrueNasDriverConfig;
  readonly credentials: DriverCredentials;
}

/**
 * The plaintext Secret the chart mounts (`driver.existingConfigSecret`), stamped with the digest
 * of the non-secret config. Only ever handed to the SOPS encryption, never written as is.
 */
export function driverConfigSecret(options: DriverConfigSecretOptions): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: options.name,
      namespace: options.namespace,
      annotations: { [DRIVER_CONFIG_DIGEST_ANNOTATION]: driverConfigDigest(options.config) },
    },
    type: 'Opaque',
    stringData: { [DRIVER_CONFIG_KEY]: stringify(driverConfigDocument(options.config, options.credentials), { lineWidth: 0 }) },
  };
}

function portError(what: string, port: number | undefined): string[] {
  if (port === undefined || (Number.isInteger(port) && port >= 1 && port <= 65535)) return [];
  return [`${what} ${port} is not a TCP port (1-65535)`];
}

function hostError(what: string, host: string): string[] {
  return HOST.test(host) ? [] : [`${what} "${host}" is not a host name or IP address`];
}

/** Whether one ZFS dataset is the other or lies inside it. */
export function datasetsOverlap(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/**
 * Why the NAS would refuse this config, or refuse volumes made with it: each problem says what
 * to change. Checks names against the driver's limits (zvol device names, iSCSI names), dataset
 * names and their nesting, hosts, ports and the iSCSI settings.
 */
export function driverConfigProblems(config: TrueNasDriverConfig): string[] {
  const problems: string[] = [];
  const { truenas, datasets } = config;
  if (!(TRUENAS_DRIVER_KINDS as readonly string[]).includes(config.driver)) {
    problems.push(`driver "${config.driver}" is not a TrueNAS driver (${TRUENAS_DRIVER_KINDS.join(', ')})`);
  }
  problems.push(...hostError('truenas.host', truenas.host), ...portError('truenas.port', truenas.port));
  if (truenas.ssh?.host !== undefined) problems.push(...hostError('truenas.ssh.host', truenas.ssh.host));
  problems.push(...portError('truenas.ssh.port', truenas.ssh?.port));

  for (const [field, dataset] of [
    ['datasets.volumes', datasets.volumes],
    ['datasets.snapshots', datasets.snapshots],
  ] as const) {
    if (!DATASET.test(dataset)) {
      problems.push(`${field} "${dataset}" is not a ZFS dataset below a pool (pool/dataset; letters, digits, "_", "-", ".", ":")`);
    }
  }
  if (datasetsOverlap(datasets.volumes, datasets.snapshots)) {
    problems.push(
      `datasets.snapshots "${datasets.snapshots}" overlaps datasets.volumes "${datasets.volumes}": the driver needs two separate parents, neither inside the other`,
    );
  }

  if (!isIscsiConfig(config)) {
    problems.push(...hostError('nfs.shareHost', config.nfs.shareHost));
    return problems;
  }

  const iscsi = config.iscsi;
  const maxZvol = iscsi.maxZvolNameLength ?? DEFAULT_MAX_ZVOL_NAME_LENGTH;
  // The driver refuses a volume whose extent disk name, `zvol/<parent>/<volume>`, is too long.
  const zvolName = `zvol/${datasets.volumes}/`.length + CSI_VOLUME_NAME_LENGTH;
  if (zvolName > maxZvol) {
    const room = maxZvol - 'zvol/'.length - 1 - CSI_VOLUME_NAME_LENGTH;
    problems.push(
      `zvol names would be ${zvolName} characters ("zvol/${datasets.volumes}/pvc-<uuid>"), over the driver's limit of ${maxZvol}: shorten datasets.volumes "${datasets.volumes}" (${datasets.volumes.length} characters) to at most ${room}`,
    );
  }
  const namePrefix = iscsi.namePrefix ?? '';
  const nameSuffix = iscsi.nameSuffix ?? '';
  const iscsiName = namePrefix.length + CSI_VOLUME_NAME_LENGTH + nameSuffix.length;
  if (iscsiName > MAX_ISCSI_NAME_LENGTH) {
    problems.push(
      `iSCSI target names would be ${iscsiName} characters ("${namePrefix}pvc-<uuid>${nameSuffix}"), over TrueNAS's limit of ${MAX_ISCSI_NAME_LENGTH}: shorten iscsi.namePrefix or iscsi.nameSuffix`,
    );
  }
  for (const [field, value] of [
    ['iscsi.namePrefix', namePrefix],
    ['iscsi.nameSuffix', nameSuffix],
  ] as const) {
    if (!ISCSI_NAME_PART.test(value)) problems.push(`${field} "${value}" may only hold letters, digits, ".", "-" and ":" (iSCSI names)`);
  }
  for (const [index, portal] of [iscsi.portal, ...(iscsi.extraPortals ?? [])].entries()) {
    const field = index === 0 ? 'iscsi.portal' : `iscsi.extraPortals[${index - 1}]`;
    const match = /^(.+):(\d+)$/.exec(portal);
    if (!match) {
      problems.push(`${field} "${portal}" must be host:port (iSCSI listens on 3260)`);
      continue;
    }
    problems.push(...hostError(field, match[1] ?? ''), ...portError(field, Number(match[2])));
  }
  if (iscsi.targetGroups.length === 0) {
    problems.push('iscsi.targetGroups is empty: add the portal group and initiator group ids the targets use');
  }
  iscsi.targetGroups.forEach((group, index) => {
    for (const [field, id] of [
      ['portalGroup', group.portalGroup],
      ['initiatorGroup', group.initiatorGroup],
    ] as const) {
      if (!Number.isInteger(id) || id < 1) problems.push(`iscsi.targetGroups[${index}].${field} ${id} is not a TrueNAS id (1 or more)`);
    }
    if ((group.authType ?? 'None') !== 'None' && group.authGroup === undefined) {
      problems.push(`iscsi.targetGroups[${index}] uses ${group.authType} without authGroup: name the authorized-access group`);
    }
  });
  const blocksize = iscsi.zvol?.blocksize;
  if (blocksize !== undefined && !(ZVOL_BLOCKSIZES as readonly string[]).includes(blocksize)) {
    problems.push(`iscsi.zvol.blocksize "${blocksize}" is not a zvol block size (${ZVOL_BLOCKSIZES.join(', ')})`);
  }
  return problems;
}
