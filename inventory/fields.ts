import { z } from 'zod';

/**
 * The kinds of field an inventory holds, as zod schemas that say what is wrong in the inventory's
 * own words ("is required (a string)", `"10.0.0" is not an IPv4 address`), one message per field.
 * Each field has one check after its type (constraints zod would check one by one are written as
 * one, and given to the JSON Schema with `meta`); none aborts the parse, so the checks between
 * fields still run on the rest of the inventory.
 */

/** Runs a check whatever the fields it reads say (each check skips the values it cannot use). */
export const always = (): boolean => true;

type Problem = (value: string) => string | undefined;

/** How a problem with a text value reads: the value first, unless it looks like a private key (never echoed back). */
export const aboutText = (value: string, problem: string): string =>
  /PRIVATE KEY|SECRET-KEY/i.test(value) ? problem : `"${value}" ${problem}`;

const present = (input: unknown) => input !== undefined;

/** A non-empty string, and what `problem` says about it. */
export function text(problem?: Problem) {
  return z
    .string({ error: (issue) => (present(issue.input) ? 'must be a non-empty string' : 'is required (a string)') })
    .superRefine((value, ctx) => {
      const found = value === '' ? 'must be a non-empty string' : problem?.(value);
      if (found) ctx.addIssue({ code: 'custom', message: value === '' ? found : aboutText(value, found) });
    })
    .meta({ minLength: 1 });
}

/** A non-empty string matching `pattern` (which the JSON Schema carries too). */
export function matching(pattern: RegExp, problem: string) {
  return text((value) => (pattern.test(value) ? undefined : problem)).meta({ pattern: pattern.source });
}

/** One of `values`, named in the message as `what` (default: "one of <values>"). */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, what = `one of ${values.join(', ')}`) {
  return z.enum(values, {
    error: (issue) => {
      if (!present(issue.input)) return 'is required (a string)';
      if (typeof issue.input !== 'string' || issue.input === '') return 'must be a non-empty string';
      return `"${issue.input}" is not ${what}`;
    },
  });
}

/** An integer from `min` to `max`. */
export function integer(min: number, max: number) {
  return z
    .number({
      error: (issue) =>
        present(issue.input) ? `must be an integer from ${min} to ${max}` : `is required (an integer from ${min} to ${max})`,
    })
    .superRefine((value, ctx) => {
      if (!Number.isInteger(value) || value < min || value > max)
        ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}` });
    })
    .meta({ type: 'integer', minimum: min, maximum: max });
}

/** One of the integers `values`. */
export function integerOf<const T extends readonly [number, ...number[]]>(values: T) {
  const min = Math.min(...values);
  const max = Math.max(...values);
  return z.literal(values, {
    error: (issue) => {
      const input = issue.input;
      if (!present(input)) return `is required (an integer from ${min} to ${max})`;
      if (typeof input !== 'number' || !Number.isInteger(input) || input < min || input > max)
        return `must be an integer from ${min} to ${max}`;
      return `must be ${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
    },
  });
}

export function flag() {
  return z.boolean({ error: (issue) => (present(issue.input) ? 'must be true or false' : 'is required (true or false)') });
}

/** A list of at least `minItems` items. */
export function list<T extends z.ZodType>(item: T, minItems = 1) {
  return z
    .array(item, { error: (issue) => (present(issue.input) ? 'must be a list' : 'is required (a list)') })
    .superRefine((items, ctx) => {
      if (items.length < minItems)
        ctx.addIssue({ code: 'custom', message: `must have at least ${minItems} item${minItems === 1 ? '' : 's'}` });
    })
    .meta(minItems > 0 ? { minItems } : {});
}

/**
 * An object of exactly these fields: a key it does not know is refused, naming the ones it does
 * (keys starting with "$", such as `$schema`, are for editors and not listed).
 */
export function record<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape)
    .filter((key) => !key.startsWith('$'))
    .join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `is not a known field (known: ${known})`;
      return present(issue.input) ? 'must be an object' : 'is required (an object)';
    },
  });
}
