import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addressRange, inRange } from '../../../framework/addresses.js';
import { parseInventory } from '../../../inventory/schema.js';
import { projectRoot } from '../../helpers/io.js';

const inventory = parseInventory(JSON.parse(readFileSync(join(projectRoot, 'inventory/k8s-235.json'), 'utf8')), 'k8s-235');

/** The table docs/network.md lists, from the inventory: each fixed address with the pool it lies in. */
function addressTable(): string[] {
  const pools = inventory.network.loadBalancer?.pools ?? [];
  return Object.entries(inventory.network.loadBalancer?.services ?? {}).map(([service, { addresses }]) => {
    const poolsOf = addresses.map(
      (address) =>
        pools.find((pool) => pool.blocks.some((block) => inRange(addressRange(block) ?? { family: 'ipv4', first: 1n, last: 0n }, address)))
          ?.name ?? '(none)',
    );
    return `| ${service} | ${addresses.join(', ')} | ${[...new Set(poolsOf)].join(', ')} |`;
  });
}

describe('docs/network.md', () => {
  it("lists the default cluster's LoadBalancer addresses as the inventory assigns them", () => {
    const text = readFileSync(join(projectRoot, 'docs/network.md'), 'utf8');
    const section =
      /<!-- load-balancer-addresses:[^\n]*-->\n\| Service \| Addresses \| Pool \|\n\|---\|---\|---\|\n([\s\S]*?)<!-- load-balancer-addresses: end -->/.exec(
        text,
      );
    expect(section?.[1]?.trimEnd().split('\n')).toEqual(addressTable());
    expect(addressTable().length).toBeGreaterThan(0);
  });
});
