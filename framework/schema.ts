import type { Manifest } from './model.js';

/** Whether objects of a kind live in a namespace. */
export type Scope = 'Namespaced' | 'Cluster';

/** One schema violation, with a dotted path into the object (`spec.replicas`). */
export interface SchemaViolation {
  readonly path: string;
  readonly message: string;
}

export type SchemaCheck = (manifest: Manifest) => readonly SchemaViolation[];

/**
 * A kind registered explicitly: a CRD model generated into `imports/`, or a kind accepted
 * without a schema (`check` omitted) for a stated reason.
 */
export interface RegisteredKind {
  readonly apiVersion: string;
  readonly kind: string;
  readonly scope: Scope;
  readonly check?: SchemaCheck;
  readonly reason?: string;
  readonly buildConfig?: boolean;
}

interface AjvLikeError {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * The violations a schema validator's error lists (compiled Ajv, as the kubernetes-models
 * packages and the validators generated into imports/ throw), one per path and message.
 */
export function schemaViolations(error: unknown): SchemaViolation[] {
  const errors = (error as { errors?: AjvLikeError[] }).errors;
  if (!Array.isArray(errors) || errors.length === 0) {
    return [{ path: '', message: error instanceof Error ? error.message : String(error) }];
  }
  const seen = new Set<string>();
  const out: SchemaViolation[] = [];
  for (const e of errors) {
    const path = (e.instancePath ?? '').split('/').filter(Boolean).join('.');
    let message = e.message ?? 'is invalid';
    if (e.params && typeof e.params.additionalProperty === 'string') {
      message += ` (${e.params.additionalProperty})`;
    }
    if (e.params && Array.isArray(e.params.allowedValues)) {
      message += ` (${e.params.allowedValues.join(', ')})`;
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return out;
}
