import { isRecord, type Manifest } from '../../framework/model.js';
import type { ObjectReference, ReferenceFinder } from '../../framework/references.js';
import { podSpecOf } from '../../framework/rules/pod-security.js';

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/**
 * What a workload's pods need in their namespace: the Secrets and ConfigMaps they mount or read,
 * their ServiceAccount and image pull Secrets, and their PersistentVolumeClaims.
 */
export const workloadReferences: ReferenceFinder = (manifest: Manifest) => {
  const found = podSpecOf(manifest);
  if (!found) return [];
  const { spec } = found;
  const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
  const out: ObjectReference[] = [];
  const add = (kind: 'Secret' | 'ConfigMap' | 'ServiceAccount' | 'PersistentVolumeClaim', name: unknown, field: string) => {
    if (typeof name === 'string' && name !== '') out.push({ group: '', kind, namespace, name, field });
  };
  const at = found.path;
  if (typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== 'default') {
    add('ServiceAccount', spec.serviceAccountName, `${at}.serviceAccountName`);
  }
  for (const pull of records(spec.imagePullSecrets)) add('Secret', pull.name, `${at}.imagePullSecrets`);
  records(spec.volumes).forEach((volume, index) => {
    const field = `${at}.volumes[${index}]`;
    if (isRecord(volume.secret) && volume.secret.optional !== true) add('Secret', volume.secret.secretName, field);
    if (isRecord(volume.configMap) && volume.configMap.optional !== true) add('ConfigMap', volume.configMap.name, field);
    if (isRecord(volume.persistentVolumeClaim)) add('PersistentVolumeClaim', volume.persistentVolumeClaim.claimName, field);
  });
  for (const list of ['initContainers', 'containers'] as const) {
    records(spec[list]).forEach((container, index) => {
      const field = `${at}.${list}[${index}]`;
      for (const from of records(container.envFrom)) {
        if (isRecord(from.secretRef) && from.secretRef.optional !== true) add('Secret', from.secretRef.name, `${field}.envFrom`);
        if (isRecord(from.configMapRef) && from.configMapRef.optional !== true)
          add('ConfigMap', from.configMapRef.name, `${field}.envFrom`);
      }
      for (const env of records(container.env)) {
        const source = isRecord(env.valueFrom) ? env.valueFrom : {};
        if (isRecord(source.secretKeyRef) && source.secretKeyRef.optional !== true) add('Secret', source.secretKeyRef.name, `${field}.env`);
        if (isRecord(source.configMapKeyRef) && source.configMapKeyRef.optional !== true)
          add('ConfigMap', source.configMapKeyRef.name, `${field}.env`);
      }
    });
  }
  return out;
};
