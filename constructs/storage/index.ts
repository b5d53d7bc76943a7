import type { ClusterPolicy } from '../../framework/cluster.js';
import { createStoragePolicy, type StoragePolicyOptions } from './policies.js';

export { DemocraticCsiDriver } from './democratic-csi.js';
export { CsiNamespace } from './namespace.js';
export { SnapshotController } from './snapshot-controller.js';

/** The cluster policies a cluster using these storage constructs should run. */
export function policies(options: StoragePolicyOptions = {}): readonly ClusterPolicy[] {
  return [createStoragePolicy(options)];
}
