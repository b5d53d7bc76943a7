import { runValidateFunc, type ValidateFunc } from '@kubernetes-models/validate';
import { validate as validateVolumeSnapshot } from '../imports/snapshot.storage.k8s.io/SnapshotStorageK8sIoV1VolumeSnapshot.js';
import { validate as validateVolumeSnapshotClass } from '../imports/snapshot.storage.k8s.io/SnapshotStorageK8sIoV1VolumeSnapshotClass.js';
import type { RegisteredKind, SchemaCheck, SchemaViolation } from '../pipeline/schemas.js';

interface ValidatorError {
  readonly instancePath?: string;
  readonly message?: string;
  readonly params?: Record<string, unknown>;
}

/** A schema check from a validator generated into imports/ (the same compiled-Ajv form the kubernetes-models packages ship). */
function generatedCheck(validate: (data: unknown) => boolean): SchemaCheck {
  return (manifest) => {
    try {
      runValidateFunc(validate as ValidateFunc<unknown>, manifest);
      return [];
    } catch (error) {
      const errors = (error as { errors?: ValidatorError[] }).errors;
      if (!Array.isArray(errors) || errors.length === 0) {
        return [{ path: '', message: error instanceof Error ? error.message : String(error) }];
      }
      const violations: SchemaViolation[] = [];
      for (const e of errors) {
        const path = (e.instancePath ?? '').split('/').filter(Boolean).join('.');
        const allowed = Array.isArray(e.params?.allowedValues) ? ` (${e.params.allowedValues.join(', ')})` : '';
        const violation = { path, message: `${e.message ?? 'is invalid'}${allowed}` };
        if (!violations.some((v) => v.path === violation.path && v.message === violation.message)) violations.push(violation);
      }
      return violations;
    }
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
  },
  {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    scope: 'Namespaced',
    check: generatedCheck(validateVolumeSnapshot),
  },
];
