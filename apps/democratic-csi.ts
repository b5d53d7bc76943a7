import { SopsSecret } from '../constructs/secrets/sops-secret.js';
import { DemocraticCsiDriver } from '../constructs/storage/democratic-csi.js';
import type { TrueNasDriverConfig } from '../constructs/storage/driver-config.js';
import { CsiNamespace } from '../constructs/storage/namespace.js';
import { SnapshotController } from '../constructs/storage/snapshot-controller.js';
import type { AppDefinition } from '../framework/cluster.js';
import type { ClusterInventory, StorageDriverInventory } from '../inventory/schema.js';

const NAME = 'democratic-csi';
const NAMESPACE = 'democratic-csi';

/** The hosts are NixOS (nixos/): iscsiadm lives in the system profile, not in /sbin or /usr/sbin. */
const NIXOS_ISCSIADM = '/run/current-system/sw/bin/iscsiadm';

/** The typed driver config of an inventory entry: the NAS, the datasets, the share or target settings. */
function driverConfig(storage: ClusterInventory['storage'], entry: StorageDriverInventory): TrueNasDriverConfig {
  const { truenas } = storage;
  const connection = {
    host: truenas.host,
    protocol: truenas.api?.protocol ?? 'https',
    port: truenas.api?.port ?? 443,
    ssh: { port: truenas.ssh?.port ?? 22, username: truenas.ssh?.username ?? 'root' },
  };
  const datasets = { volumes: entry.datasets.volumes, snapshots: entry.datasets.snapshots };
  if (entry.driver === 'freenas-iscsi' || entry.driver === 'freenas-api-iscsi') {
    const iscsi = entry.iscsi;
    return {
      driver: entry.driver,
      truenas: connection,
      datasets,
      iscsi: {
        portal: iscsi?.portal ?? `${truenas.storageHost}:3260`,
        namePrefix: iscsi?.namePrefix,
        nameSuffix: iscsi?.nameSuffix,
        targetGroups: iscsi?.targetGroups ?? [],
        zvol: { blocksize: iscsi?.zvolBlocksize },
        extent: { blocksize: iscsi?.extentBlocksize },
      },
    };
  }
  return { driver: entry.driver, truenas: connection, datasets, nfs: { shareHost: truenas.storageHost } };
}

/**
 * Storage from the TrueNAS box: one democratic-csi driver per inventory entry (its StorageClasses
 * and VolumeSnapshotClasses included), and CSI snapshots (external-snapshotter CRDs and
 * snapshot-controller). Each driver's config, credentials included, is one SOPS file written by
 * `cli/driver-config.ts` (docs/storage.md).
 */
export const democraticCsiApp: AppDefinition<ClusterInventory> = {
  name: NAME,
  namespace: NAMESPACE,
  build(chart, inventory) {
    const namespace = new CsiNamespace(chart, 'namespace', { name: NAMESPACE });
    new SnapshotController(chart, 'snapshot-controller');
    const drivers = inventory.storage.drivers ?? [];
    if (drivers.length === 0) {
      chart.node.addValidation({
        validate: () => [`inventory/${inventory.name}.json lists no storage.drivers: the ${NAME} app would install no driver`],
      });
    }
    for (const entry of drivers) {
      // CHAP credentials reach the node plugin through each class's node-stage secret.
      const chap = entry.iscsi?.targetGroups.some((group) => group.authType !== 'None')
        ? new SopsSecret(chart, `${entry.name}-chap`, {
            file: `secrets/${inventory.name}/${NAME}/${entry.name}-chap.sops.yaml`,
            name: `${entry.name}-chap`,
            namespace: namespace.name,
            keys: ['authmethod', 'username', 'password'].map((key) => `node-db.node.session.auth.${key}`),
          })
        : undefined;
      new DemocraticCsiDriver(chart, entry.name, {
        namespace: namespace.name,
        csiDriverName: entry.csiDriverName,
        config: driverConfig(inventory.storage, entry),
        configFile: `secrets/${inventory.name}/${NAME}/${entry.name}-driver-config.sops.yaml`,
        iscsiadmHostPath: NIXOS_ISCSIADM,
        storageClasses: entry.storageClasses.map((storageClass) => ({
          name: storageClass.name,
          fsType: storageClass.fsType,
          reclaimPolicy: storageClass.reclaimPolicy,
          volumeBindingMode: storageClass.volumeBindingMode,
          allowVolumeExpansion: storageClass.allowVolumeExpansion,
          default: storageClass.default,
          mountOptions: storageClass.mountOptions,
          ...(chap ? { secrets: { 'node-stage': chap } } : {}),
        })),
        snapshotClasses: entry.snapshotClasses ?? [],
      });
    }
  },
};
