import { describe, expect, it } from 'vitest';
import { schemaViolations } from '../../framework/schema.js';

describe('schema violations', () => {
  it('fold a failed oneOf and its branches into one line naming the alternatives', () => {
    const path = '/spec/containers/0/resources/requests/memory';
    const errors = [
      { instancePath: '/spec/replicas', keyword: 'type', params: { type: 'integer' }, message: 'must be integer' },
      { instancePath: path, keyword: 'type', params: { type: 'number' }, message: 'must be number' },
      { instancePath: path, keyword: 'format', params: { format: 'quantity' }, message: 'must match format "quantity"' },
      { instancePath: path, keyword: 'oneOf', params: { passingSchemas: null }, message: 'must match exactly one schema in "oneOf"' },
    ];
    expect(schemaViolations({ errors })).toEqual([
      { path: 'spec.replicas', message: 'must be integer' },
      { path: 'spec.containers.0.resources.requests.memory', message: 'must be a number or a quantity string (for example 128Mi or 100m)' },
    ]);
  });
});
