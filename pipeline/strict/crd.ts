/**
 * Field structures from a CustomResourceDefinition's structural schemas, read as the API server
 * prunes and strictly validates custom resources: the fields of `properties`, a map where
 * `additionalProperties` gives one schema, anything kept under
 * `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-int-or-string` a leaf, and
 * `x-kubernetes-embedded-resource` an object whose apiVersion, kind and metadata are implied.
 * `allOf`/`anyOf`/`oneOf`/`not` add no fields (a structural schema may not specify fields there
 * that its own properties do not).
 */
import { definedKind, isRecord, type Manifest } from '../../framework/model.js';
import type { FieldType, ObjectType } from '../../framework/structure.js';

/** Deeper than this, a schema is taken as free-form: no real CRD nests so far, and a hostile one cannot overflow the stack. */
const MAX_SCHEMA_DEPTH = 64;

export function schemaStructure(schema: unknown, depth = 0): FieldType {
  if (!isRecord(schema) || depth > MAX_SCHEMA_DEPTH) return 1;
  if (schema['x-kubernetes-int-or-string'] === true) return 0;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  const type = schema.type;
  if (type === 'array') return { a: schemaStructure(schema.items, depth + 1) };
  const properties = isRecord(schema.properties) ? schema.properties : undefined;
  const additional = schema.additionalProperties;
  if (type === 'object' || properties || additional !== undefined || embedded || (type === undefined && preserve)) {
    const fields: Record<string, FieldType> = {};
    for (const [name, child] of Object.entries(properties ?? {})) fields[name] = schemaStructure(child, depth + 1);
    const rest = additional === true ? 1 : isRecord(additional) ? schemaStructure(additional, depth + 1) : undefined;
    if (!properties && !embedded) {
      if (rest !== undefined) return preserve ? 1 : { m: rest };
      if (preserve) return 1;
    }
    const object: ObjectType = {
      f: fields,
      ...(rest !== undefined ? { m: rest } : {}),
      ...(preserve ? { x: 1 as const } : {}),
      ...(embedded ? { e: 1 as const } : {}),
    };
    return object;
  }
  return preserve ? 1 : 0;
}

/** Each served version's structure, keyed `group/version/Kind`, of a CustomResourceDefinition (none for any other object). */
export function crdStructures(manifest: Manifest): Record<string, FieldType> {
  const out: Record<string, FieldType> = {};
  const defined = definedKind(manifest);
  if (!defined || !isRecord(manifest.spec)) return out;
  const { group, kind } = defined;
  for (const version of Array.isArray(manifest.spec.versions) ? manifest.spec.versions : []) {
    if (!isRecord(version) || typeof version.name !== 'string' || version.served === false) continue;
    const schema = isRecord(version.schema) ? version.schema.openAPIV3Schema : undefined;
    // A version without a schema keeps every field (apiextensions.k8s.io/v1 requires one; be lenient).
    out[`${group}/${version.name}/${kind}`] = schema === undefined ? 1 : schemaStructure(schema);
  }
  return out;
}
