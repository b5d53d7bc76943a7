import type { k8s } from 'cdk8s-plus-28';
import { DemocraticCsiDriver } from '../constructs/storage/democratic-csi.js';
import { CsiNamespace } from '../constructs/storage/namespace.js';
import { SnapshotController } from '../constructs/storage/snapshot-controller.js';
import type { AppDefinition } from '../framework/cluster.js';
import type { ClusterInventory } from '../inventory/schema.js';

const NAME = 'democratic-csi';
const NAMESPACE = 'democratic-csi';

/** What the storage app provides to the apps that depend on it. */
export interface StorageProvides {
  /** The StorageClasses of every driver, by name; `get` throws for a name no driver has. */
  readonly storageClasses: { get(name: string): k8s.KubeStorageClass };
}

/** The hosts are NixOS (nixos/): iscsiadm lives in the system profile, not in /sbin or /usr/sbin. */
const NIXOS_ISCSIADM = '/run/current-system/sw/bin/iscsiadm';

/**
 * Storage from the TrueNAS box: one democratic-csi driver per inventory entry (its StorageClasses
 * and VolumeSnapshotClasses included), and CSI snapshots (external-snapshotter CRDs and
 * snapshot-controller). Each driver's config, credentials included, is one SOPS file written by
 * `cli/driver-config.ts` (docs/storage.md).
 */
export const democraticCsiApp: AppDefinition<ClusterInventory, StorageProvides> = {
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
    const classes = new Map<string, k8s.KubeStorageClass>();
    for (const driver of drivers) {
      const installed = new DemocraticCsiDriver(chart, driver.releaseName, {
        ...driver,
        namespace: namespace.name,
        iscsiadmHostPath: NIXOS_ISCSIADM,
      });
      for (const storageClass of installed.storageClasses) classes.set(storageClass.name, storageClass);
    }
    return {
      storageClasses: {
        get(name) {
          const found = classes.get(name);
          if (!found)
            throw new Error(
              `no storage driver of ${NAME} has StorageClass "${name}" (classes: ${[...classes.keys()].join(', ') || 'none'})`,
            );
          return found;
        },
      },
    };
  },
};
