// The JSON Schema editors check inventory/<cluster>.json with: generated from the zod schemas,
// committed, and named by the shipped inventory's `$schema`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { InventoryError } from '../../framework/cluster.js';
import { INVENTORY_JSON_SCHEMA_FILE, inventoryJsonSchemaText } from '../../inventory/json-schema.js';
import { parseInventory } from '../../inventory/schema.js';
import { projectRoot } from '../helpers/io.js';

const read = (path: string) => readFileSync(join(projectRoot, path), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: tests edit the raw JSON freely
const shipped = (): any => JSON.parse(read('inventory/k8s-235.json'));
const validate = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(read(INVENTORY_JSON_SCHEMA_FILE)));
const errorsOf = (data: unknown) => (validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));

describe('the inventory JSON Schema', () => {
  it('is the one the zod schemas generate', () => {
    // Stale when a field of inventory/schema.ts changed: run `npm run inventory-schema` and commit the file.
    expect(read(INVENTORY_JSON_SCHEMA_FILE), `${INVENTORY_JSON_SCHEMA_FILE} is stale: run npm run inventory-schema`).toBe(
      inventoryJsonSchemaText(),
    );
  });

  it('is what the shipped inventory names, first', () => {
    const data = shipped();
    expect(Object.keys(data)[0]).toBe('$schema');
    expect(join('inventory', data.$schema)).toBe(INVENTORY_JSON_SCHEMA_FILE);
    // Synth takes the key, and leaves it out of what apps get.
    expect(parseInventory(data, 'k8s-235')).not.toHaveProperty('$schema');
  });

  it('accepts the shipped inventories', () => {
    expect(errorsOf(shipped())).toEqual([]);
    expect(errorsOf(JSON.parse(read('test/fixtures/tiny-cluster/inventory/tiny.json')))).toEqual([]);
  });

  it('refuses a mistyped key, a missing field and a value of the wrong kind, as synth does', () => {
    const data = shipped();
    data.network.nameserver = data.network.nameservers;
    delete data.network.nameservers;
    data.hosts[0].roles = ['control-plane', 'worker', 'etcd', 'master'];
    data.storage.drivers[1].iscsi.extentBlocksize = 3000;
    data.kubernetes.apiServer.port = 64.5;
    expect(errorsOf(data)).toEqual([
      '/kubernetes/apiServer/port must be integer',
      '/hosts/0/roles/3 must be equal to one of the allowed values',
      "/network must have required property 'nameservers'",
      '/network must NOT have additional properties',
      '/storage/drivers/1/iscsi/extentBlocksize must be equal to one of the allowed values',
    ]);
    let synthPaths: string[] = [];
    try {
      parseInventory(data, 'k8s-235');
    } catch (error) {
      synthPaths = (error as InventoryError).issues.map((issue) => issue.path);
    }
    expect(synthPaths).toEqual([
      'kubernetes.apiServer.port',
      'hosts[0].roles[3]',
      'network.nameserver',
      'network.nameservers',
      'storage.drivers[1].iscsi.extentBlocksize',
    ]);
  });
});
