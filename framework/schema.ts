import type { Manifest } from './model.js';
import type { FieldType } from './structure.js';

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
  /**
   * Where the kind's fields may stand, for strict validation (generated from its CRD, see
   * pipeline/strict/generate.ts). Without it, fields the schema does not define pass unnoticed.
   */
  readonly structure?: FieldType;
}

interface AjvLikeError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** A branch's message as an alternative: `must be number` → `a number`, a quantity format → what one looks like. */
function alternative(error: AjvLikeError): string {
  if (error.keyword === 'format' && error.params?.format === 'quantity') return 'a quantity string (for example 128Mi or 100m)';
  if (error.keyword === 'type' && typeof error.params?.type === 'string') return `a ${error.params.type}`;
  return (error.message ?? 'valid').replace(/^must (be )?/, '');
}

/**
 * One error for each oneOf/anyOf that failed, naming its alternatives, in place of one error per
 * branch plus "must match exactly one schema in oneOf" (int-or-string and quantity fields).
 */
function foldAlternatives(errors: readonly AjvLikeError[]): AjvLikeError[] {
  const isUnion = (e: AjvLikeError) => e.keyword === 'oneOf' || e.keyword === 'anyOf';
  const unions = errors.filter(isUnion);
  if (unions.length === 0) return [...errors];
  // Ajv lists a union's failing branches before the union, at the same instance path (their
  // schema paths are relative to the referenced schema, so they cannot be matched by prefix).
  const branchesOf = new Map<AjvLikeError, AjvLikeError[]>();
  const claimed = new Set<AjvLikeError>();
  errors.forEach((e, index) => {
    if (!isUnion(e)) return;
    const branches: AjvLikeError[] = [];
    for (let before = index - 1; before >= 0; before -= 1) {
      const candidate = errors[before] as AjvLikeError;
      if (candidate.instancePath !== e.instancePath || isUnion(candidate) || claimed.has(candidate)) break;
      branches.unshift(candidate);
    }
    for (const branch of branches) claimed.add(branch);
    branchesOf.set(e, branches);
  });
  return errors.flatMap((e) => {
    if (claimed.has(e)) return [];
    const branches = branchesOf.get(e);
    if (!branches || branches.length === 0) return [e];
    return [{ ...e, message: `must be ${[...new Set(branches.map(alternative))].join(' or ')}`, params: {} }];
  });
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
  for (const e of foldAlternatives(errors)) {
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
