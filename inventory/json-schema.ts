import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ClusterInventorySchema } from './schema.js';

/**
 * The JSON Schema of `inventory/<cluster>.json`, generated from the zod schemas so that editors
 * complete and check the file (it names it in `$schema`). It describes the JSON as written (zod's
 * input side) in draft-07, which the common editors read; the checks between fields stay with
 * synth. Regenerate with `npm run inventory-schema`; a test fails while the committed file is stale.
 */

/** Where the JSON Schema lives, relative to the project root (not in inventory/ itself: synth reads every inventory/*.json as a cluster). */
export const INVENTORY_JSON_SCHEMA_FILE = 'inventory/schema/cluster.schema.json';

export function inventoryJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(ClusterInventorySchema, { io: 'input', target: 'draft-7' });
  return {
    $schema,
    title: 'Cluster inventory',
    description:
      'Facts about one cluster (inventory/<cluster>.json), read by synth and by the NixOS modules. Generated from inventory/schema.ts.',
    ...rest,
  };
}

export const inventoryJsonSchemaText = (): string => `${JSON.stringify(inventoryJsonSchema(), null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  writeFileSync(join(root, INVENTORY_JSON_SCHEMA_FILE), inventoryJsonSchemaText());
  console.log(`wrote ${INVENTORY_JSON_SCHEMA_FILE}`);
}
