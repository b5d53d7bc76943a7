import type { ClusterPolicy, PolicyContext, PolicyObject } from './cluster.js';
import { groupOf, type Manifest, objectRef, type Problem } from './model.js';

/** An object another object names (an IngressClass, a ClusterIssuer, a Secret, ...). */
export interface ObjectReference {
  readonly group: string;
  readonly kind: string;
  /** Absent for cluster-scoped kinds. */
  readonly namespace?: string;
  readonly name: string;
  /** Where the referring object names it, e.g. `spec.ingressClassName`. */
  readonly field: string;
}

/**
 * Reads the references of one object. Constructs bring finders for the kinds they know; a
 * finder may return several candidates for one ambiguous name (only existing ones count).
 */
export type ReferenceFinder = (manifest: Manifest) => readonly ObjectReference[];

const key = (group: string, kind: string, namespace: string | undefined, name: string) => `${group}/${kind}/${namespace ?? ''}/${name}`;

/**
 * An app that uses an object another app makes must sync after that app (it depends on it,
 * directly or through others), so the object exists when the app is applied: an Ingress naming
 * another app's IngressClass, ClusterIssuer or Middleware, a pod mounting another app's Secret.
 * Objects nobody in the cluster makes are for other checks.
 */
export function referencePolicy(finders: readonly ReferenceFinder[]): ClusterPolicy {
  return { name: 'references', check: (objects, context) => checkReferences(objects, finders, context) };
}

function checkReferences(objects: readonly PolicyObject[], finders: readonly ReferenceFinder[], context?: PolicyContext): Problem[] {
  if (!context) return [];
  const makers = new Map<string, PolicyObject>();
  for (const object of objects) {
    const ref = objectRef(object.manifest);
    if (ref.kind === undefined || ref.name === undefined) continue;
    const id = key(groupOf(ref.apiVersion ?? ''), ref.kind, ref.namespace, ref.name);
    if (!makers.has(id)) makers.set(id, object);
  }
  const problems: Problem[] = [];
  const reported = new Set<string>();
  for (const object of objects) {
    for (const finder of finders) {
      for (const reference of finder(object.manifest)) {
        const maker = makers.get(key(reference.group, reference.kind, reference.namespace, reference.name));
        if (!maker || maker.app === object.app || context.syncsAfter(object.app, maker.app)) continue;
        const once = `${object.app}/${maker.app}/${reference.kind}/${reference.namespace ?? ''}/${reference.name}`;
        if (reported.has(once)) continue;
        reported.add(once);
        const named = reference.namespace !== undefined ? `${reference.namespace}/${reference.name}` : reference.name;
        problems.push({
          origin: object.origin,
          object: objectRef(object.manifest),
          rule: 'app.dependencies',
          message: `app "${object.app}" uses ${reference.kind} "${named}" (${reference.field}), which app "${maker.app}" makes; add "${maker.app}" to the dependsOn of "${object.app}" so that it syncs after it`,
        });
      }
    }
  }
  return problems;
}
