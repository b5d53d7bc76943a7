import type { z } from 'zod';
import type { DemocraticCsiDriverSpec } from '../constructs/storage/democratic-csi.js';
import {
  EXTENT_BLOCKSIZES,
  ISCSI_AUTH_TYPES,
  isIscsiDriver,
  TRUENAS_DRIVER_KINDS,
  type TrueNasConnection,
  type TrueNasDriverConfig,
  ZVOL_BLOCKSIZES,
} from '../constructs/storage/driver-config.js';
import { isDnsLabel, isDnsName } from '../framework/rules/network.js';
import { always, flag, integer, integerOf, list, oneOf, record, text } from './fields.js';
import { formatPath } from './issues.js';

const dnsName = (value: string) => (isDnsName(value) ? undefined : 'is not a valid lowercase DNS name');
const dnsLabel = (value: string) => (isDnsLabel(value) ? undefined : 'is not a valid DNS-1123 label');
const hostPort = (value: string) => {
  const match = /^(.+):(\d+)$/.exec(value);
  return match && isDnsName(match[1] ?? '') && Number(match[2]) >= 1 && Number(match[2]) <= 65535 ? undefined : 'is not host:port';
};
const port = () => integer(1, 65535);

const targetGroup = record({
  portalGroup: integer(1, 65535).describe('Database id of the portal (GET /api/v2.0/iscsi/portal).'),
  initiatorGroup: integer(1, 65535).describe('Database id of the initiator group (GET /api/v2.0/iscsi/initiator).'),
  authType: oneOf(ISCSI_AUTH_TYPES),
  authGroup: integer(1, 65535).optional().describe('Database id of the authorized-access group, with CHAP.'),
});

const iscsi = record({
  portal: text(hostPort).describe('host:port the nodes log in to.'),
  namePrefix: text().describe('Prefix of target and extent names (global on the NAS: keep prefix plus suffix unique).'),
  nameSuffix: text(),
  targetGroups: list(targetGroup),
  zvolBlocksize: oneOf(ZVOL_BLOCKSIZES),
  extentBlocksize: integerOf(EXTENT_BLOCKSIZES),
});

const storageClass = record({
  name: text(dnsName),
  fsType: oneOf(['nfs', 'ext3', 'ext4', 'xfs']),
  reclaimPolicy: oneOf(['Retain', 'Delete']),
  volumeBindingMode: oneOf(['Immediate', 'WaitForFirstConsumer']),
  allowVolumeExpansion: flag(),
  default: flag(),
  mountOptions: list(text(), 0),
});

const snapshotClass = record({ name: text(dnsName), deletionPolicy: oneOf(['Retain', 'Delete']) });

const isIscsiKind = (driver: unknown) => typeof driver === 'string' && driver.endsWith('-iscsi');

const driver = record({
  name: text(dnsLabel).describe("Release name of the driver's chart; names its config Secret and SOPS file. A DNS label."),
  driver: oneOf(TRUENAS_DRIVER_KINDS),
  csiDriverName: text(dnsName),
  datasets: record({ volumes: text(), snapshots: text() }).describe(
    'Parent datasets of the volumes and of detached snapshots; no two drivers share or nest them.',
  ),
  iscsi: iscsi.optional().describe('Required for the iSCSI drivers, refused for the others.'),
  storageClasses: list(storageClass, 0),
  snapshotClasses: list(snapshotClass, 0).optional(),
}).superRefine(
  (entry, ctx) => {
    const kind = typeof entry?.driver === 'string' ? entry.driver : '';
    if (!isIscsiKind(kind) && entry?.iscsi !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['iscsi'], message: `only the iSCSI drivers take iSCSI settings (driver is ${kind})` });
    } else if (isIscsiKind(kind) && entry?.iscsi === undefined) {
      ctx.addIssue({ code: 'invalid_type', expected: 'object', input: undefined, path: ['iscsi'], message: 'is required (an object)' });
    }
  },
  { when: always },
);

const truenas = record({
  host: text(dnsName).describe('API (and SSH) host.'),
  storageHost: text(dnsName).describe("The NAS's name on the storage network: NFS shares and the iSCSI portal."),
  api: record({ protocol: oneOf(['https', 'http']), port: port() })
    .optional()
    .describe('@default https on 443'),
  ssh: record({ port: port(), username: text() }).optional().describe('SSH login of the ssh-based drivers. @default root on 22'),
});

/** The TrueNAS box and the democratic-csi drivers that serve the cluster's volumes from it. */
export const storageFacts = record({
  truenas,
  drivers: list(driver, 0).optional().describe('One entry per CSI driver. @default none (a cluster without the storage app)'),
}).superRefine(
  (storage, ctx) => {
    // Names synth would only report once rendered, here with their JSON paths.
    const seen = new Map<string, string>();
    const once = (kind: string, value: unknown, path: (string | number)[]) => {
      if (typeof value !== 'string' || value === '') return;
      const key = `${kind}\u0000${value}`;
      const first = seen.get(key);
      if (first) ctx.addIssue({ code: 'custom', path, message: `${kind} "${value}" is also used at storage.${first}` });
      else seen.set(key, formatPath(path));
    };
    (Array.isArray(storage?.drivers) ? storage.drivers : []).forEach((entry, index) => {
      once('driver name', entry?.name, ['drivers', index, 'name']);
      once('CSI driver name', entry?.csiDriverName, ['drivers', index, 'csiDriverName']);
      (Array.isArray(entry?.storageClasses) ? entry.storageClasses : []).forEach((storageClass, classIndex) => {
        once('StorageClass', storageClass?.name, ['drivers', index, 'storageClasses', classIndex, 'name']);
      });
    });
  },
  { when: always },
);

export type StorageFacts = z.output<typeof storageFacts>;
type DriverFacts = NonNullable<StorageFacts['drivers']>[number];

/**
 * A driver entry as the construct takes it: the NAS connection shared by every driver, NFS
 * shares served from the storage host; what the inventory leaves out (API on https:443, SSH as
 * root on 22) the construct's defaults say.
 */
function driverSpec(truenas: StorageFacts['truenas'], entry: DriverFacts): DemocraticCsiDriverSpec {
  const connection: TrueNasConnection = { host: truenas.host, ...truenas.api, ...(truenas.ssh ? { ssh: truenas.ssh } : {}) };
  const datasets = { volumes: entry.datasets.volumes, snapshots: entry.datasets.snapshots };
  let config: TrueNasDriverConfig;
  if (isIscsiDriver(entry.driver)) {
    const iscsi = entry.iscsi;
    // The schema refuses an iSCSI driver without its iSCSI settings.
    if (!iscsi) throw new Error(`storage driver ${entry.name}: ${entry.driver} without iscsi settings`);
    const { zvolBlocksize, extentBlocksize, ...target } = iscsi;
    config = {
      driver: entry.driver,
      truenas: connection,
      datasets,
      iscsi: { ...target, zvol: { blocksize: zvolBlocksize }, extent: { blocksize: extentBlocksize } },
    };
  } else {
    config = { driver: entry.driver, truenas: connection, datasets, nfs: { shareHost: truenas.storageHost } };
  }
  return {
    releaseName: entry.name,
    csiDriverName: entry.csiDriverName,
    config,
    storageClasses: entry.storageClasses,
    ...(entry.snapshotClasses ? { snapshotClasses: entry.snapshotClasses } : {}),
  };
}

/** The storage section as apps build from it: the NAS as written, each driver in the construct's model. */
export function storageModel(storage: StorageFacts): {
  readonly truenas: StorageFacts['truenas'];
  readonly drivers?: readonly DemocraticCsiDriverSpec[];
} {
  return {
    truenas: storage.truenas,
    ...(storage.drivers ? { drivers: storage.drivers.map((entry) => driverSpec(storage.truenas, entry)) } : {}),
  };
}
