import { describe, expect, it } from 'vitest';
import { repeatedJsonKey } from '../../pipeline/load.js';

describe('repeated keys in an inventory', () => {
  it('finds the first key an object repeats, at its offset, however deep and however escaped', () => {
    expect(repeatedJsonKey('{"a": 1, "b": {"c": [1, {"d": 2, "d": 3}]}}')).toEqual({ key: 'd', offset: 33 });
    expect(repeatedJsonKey('{"a": 1, "\\u0061": 2}')).toEqual({ key: 'a', offset: 9 });
    expect(repeatedJsonKey('{"a": "x\\"y", "b": ["a", "a"], "c": {"a": 1}}')).toBeUndefined();
    expect(repeatedJsonKey('[{"a": 1}, {"a": 2}]')).toBeUndefined();
    expect(repeatedJsonKey('{"a": {}, "a": []}')).toEqual({ key: 'a', offset: 10 });
  });
});
