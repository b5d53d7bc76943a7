import type { z } from 'zod';

/**
 * Walks the inventory's zod schemas by their definitions: the few shapes the inventory uses
 * (objects, lists, records, optional fields, a transform at the top, leaves).
 */

type Schema = z.core.$ZodType;
type Key = PropertyKey;

/** The schema inside wrappers that do not change the shape of the JSON (optional, default, a transform's input). */
function unwrap(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    const def = current._zod.def;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'prefault' || def.type === 'nullable') {
      current = (def as z.core.$ZodOptionalDef).innerType;
    } else if (def.type === 'pipe') {
      current = (def as z.core.$ZodPipeDef).in;
    } else {
      return current;
    }
  }
}

/** The schema of the value at `path` below `schema`, or undefined. */
export function schemaAt(schema: Schema, path: readonly Key[]): Schema | undefined {
  let current: Schema | undefined = unwrap(schema);
  for (const key of path) {
    if (!current) return undefined;
    const def: z.core.$ZodTypeDef = current._zod.def;
    if (def.type === 'object' && typeof key === 'string') current = (def as z.core.$ZodObjectDef).shape[key];
    else if (def.type === 'array' && typeof key === 'number') current = (def as z.core.$ZodArrayDef).element;
    else if (def.type === 'record' && typeof key === 'string') current = (def as z.core.$ZodRecordDef).valueType;
    else return undefined;
    current = current ? unwrap(current) : undefined;
  }
  return current;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `value` in the shape of `schema`, with every missing or wrongly typed value replaced by an empty
 * one of its type ("", 0, false, an empty list or object). The checks between fields read this
 * and skip the empty values.
 */
export function filled(schema: Schema, value: unknown): unknown {
  const def = schema._zod.def;
  switch (def.type) {
    case 'optional':
      return value === undefined ? undefined : filled((def as z.core.$ZodOptionalDef).innerType, value);
    case 'default':
    case 'prefault':
    case 'nullable':
      return filled((def as z.core.$ZodOptionalDef).innerType, value);
    case 'pipe':
      return filled((def as z.core.$ZodPipeDef).in, value);
    case 'object': {
      const given = isObject(value) ? value : {};
      const out: Record<string, unknown> = {};
      for (const [key, field] of Object.entries((def as z.core.$ZodObjectDef).shape)) {
        const child = filled(field, given[key]);
        if (child !== undefined) out[key] = child;
      }
      return out;
    }
    case 'array':
      return Array.isArray(value) ? value.map((item) => filled((def as z.core.$ZodArrayDef).element, item)) : [];
    case 'record':
      return isObject(value) ? value : {};
    case 'string':
    case 'enum':
      return typeof value === 'string' ? value : '';
    case 'number':
    case 'literal':
      return typeof value === 'number' ? value : 0;
    case 'boolean':
      return typeof value === 'boolean' ? value : false;
    default:
      return value;
  }
}
