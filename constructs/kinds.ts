import { runValidateFunc, type ValidateFunc } from '@kubernetes-models/validate';
import { type RegisteredKind, type SchemaCheck, schemaViolations } from '../framework/schema.js';
import type { Structures } from '../framework/structure.js';
import { validate as validateBgpAdvertisement } from '../imports/cilium.io/CiliumIoV2CiliumBGPAdvertisement.js';
import { validate as validateBgpClusterConfig } from '../imports/cilium.io/CiliumIoV2CiliumBGPClusterConfig.js';
import { validate as validateBgpPeerConfig } from '../imports/cilium.io/CiliumIoV2CiliumBGPPeerConfig.js';
import { validate as validateLoadBalancerIpPool } from '../imports/cilium.io/CiliumIoV2CiliumLoadBalancerIPPool.js';
import ciliumStructureFile from '../imports/cilium.io/structure.json' with { type: 'json' };
import { validate as validateVolumeSnapshot } from '../imports/snapshot.storage.k8s.io/SnapshotStorageK8sIoV1VolumeSnapshot.js';
import { validate as validateVolumeSnapshotClass } from '../imports/snapshot.storage.k8s.io/SnapshotStorageK8sIoV1VolumeSnapshotClass.js';
import snapshotStructureFile from '../imports/snapshot.storage.k8s.io/structure.json' with { type: 'json' };

/** A schema check from a validator generated into imports/ (the same compiled-Ajv form the kubernetes-models packages ship). */
function generatedCheck(validate: (data: unknown) => boolean): SchemaCheck {
  return (manifest) => {
    try {
      runValidateFunc(validate as ValidateFunc<unknown>, manifest);
      return [];
    } catch (error) {
      return schemaViolations(error);
    }
  };
}

const snapshotStructures = snapshotStructureFile as unknown as Structures;
const ciliumStructures = ciliumStructureFile as unknown as Structures;

/** A cluster-scoped cilium.io/v2 kind, checked against its CRD in ../shared/crds/cilium (the operator registers these CRDs itself). */
function ciliumKind(kind: string, validate: (data: unknown) => boolean): RegisteredKind {
  return {
    apiVersion: 'cilium.io/v2',
    kind,
    scope: 'Cluster',
    check: generatedCheck(validate),
    structure: ciliumStructures.kinds[`cilium.io/v2/${kind}`],
  };
}

/**
 * Kinds the library emits that no kubernetes-models package covers. Each comes with a schema
 * check generated from its upstream CRD (see imports/), or without one for a stated reason.
 */
export const registeredKinds: readonly RegisteredKind[] = [
  // external-snapshotter (client/config/crd), generated from ../shared/crds/external-snapshotter.
  {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshotClass',
    scope: 'Cluster',
    check: generatedCheck(validateVolumeSnapshotClass),
    structure: snapshotStructures.kinds['snapshot.storage.k8s.io/v1/VolumeSnapshotClass'],
  },
  {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    scope: 'Namespaced',
    check: generatedCheck(validateVolumeSnapshot),
    structure: snapshotStructures.kinds['snapshot.storage.k8s.io/v1/VolumeSnapshot'],
  },
  // Cilium's BGP control plane and LB-IPAM (cilium.io/v2 since 1.18 and 1.19), generated from ../shared/crds/cilium.
  ciliumKind('CiliumBGPClusterConfig', validateBgpClusterConfig),
  ciliumKind('CiliumBGPPeerConfig', validateBgpPeerConfig),
  ciliumKind('CiliumBGPAdvertisement', validateBgpAdvertisement),
  ciliumKind('CiliumLoadBalancerIPPool', validateLoadBalancerIpPool),
];
